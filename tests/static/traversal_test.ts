/**
 * Path traversal shapes (Hono CVE-2026-29045 `%2F`, CVE-2026-54286 `%5C`
 * and friends) against `serveStatic`, in process and as raw bytes on both
 * transports: every one is a 400 or 404 and no byte from outside the root
 * is ever sent.
 */

import assert from "node:assert/strict";
import { serve } from "../../src/server/serve.ts";
import { isDeviceName } from "../../src/internal/filename.ts";
import { checkRelative } from "../../src/static/resolve.ts";
import {
  hasCompleteResponse,
  parseResponse,
  rawExchange,
} from "../_helpers.ts";
import { SECRET, staticApp } from "./_helpers.ts";

const LONG_SEGMENT = "a".repeat(300);
const LONG_PATH = Array.from({ length: 50 }, () => "b".repeat(100)).join("/");

/** Request targets that must never reach outside the root. */
const SHAPES = [
  "/assets/../secret.txt",
  "/assets/../../../../etc/passwd",
  "/assets/..%2fsecret.txt",
  "/assets/..%2f..%2fetc/passwd",
  "/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
  "/assets/%2e%2e/secret.txt",
  "/assets/%2E%2E/%2E%2E/etc/passwd",
  "/assets/%2e%2e%2fsecret.txt",
  "/assets/.%2e/secret.txt",
  "/assets/%252e%252e/secret.txt",
  "/assets/%252e%252e%252fsecret.txt",
  "/assets/..%5csecret.txt",
  "/assets/%5c..%5csecret.txt",
  "/assets/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
  "/assets/..\\secret.txt",
  "/assets/%c0%ae%c0%ae/secret.txt",
  "/assets/hello.txt%2f..%2f..%2fsecret.txt",
  "/assets/..;/secret.txt",
  "/assets/./../secret.txt",
  "//assets/../secret.txt",
  "/assets//etc/passwd",
  "/assets//../secret.txt",
  "/assets/hello.txt%00.html",
  "/assets/%00../secret.txt",
  "/assets/link_out.txt",
  "/assets/link_up/secret.txt",
  "/assets/link_etc/passwd",
  "/assets/link_etc/",
  `/assets/${LONG_SEGMENT}`,
  `/assets/${LONG_PATH}`,
  "/assets/CON",
  "/assets/nul.txt",
  "/assets/Com1.js",
  "/assets/lpt9.log",
  "/assets/aux%20.txt",
  "/assets/C:/Windows/win.ini",
  "/assets/c%3a%5cwindows%5cwin.ini",
  "/assets/hello.txt:stream",
  "/assets/hello.txt.",
  "/assets/hello.txt%20",
  "/assets/.env",
  "/assets/.hidden/secret.txt",
];

function assertRefused(target: string, status: number, body: string): void {
  assert.ok(status === 400 || status === 404, `${target}: status ${status}`);
  assert.ok(!body.includes(SECRET), `${target}: leaked the secret`);
  assert.ok(!body.includes("root:"), `${target}: leaked /etc/passwd`);
  assert.ok(!body.includes("DOTENV"), `${target}: leaked a dotfile`);
  assert.ok(!body.includes("hidden"), `${target}: leaked a dotfile`);
}

Deno.test("traversal shapes in process (app.request) are 400 or 404", async () => {
  const app = staticApp();
  for (const follow of [false, true]) {
    const a = follow ? staticApp({ followSymlinks: true }) : app;
    for (const target of SHAPES) {
      const res = await a.request(target);
      assertRefused(target, res.status, await res.text());
    }
  }
});

for (const transport of ["deno", "h1"] as const) {
  Deno.test(`traversal shapes as raw bytes on the ${transport} transport are 400 or 404`, async () => {
    const server = serve(staticApp({ followSymlinks: true }), {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    try {
      const port = server.addr.port;
      const targets = [
        ...SHAPES,
        "http://127.0.0.1/assets/../secret.txt",
        "http://127.0.0.1/assets/..%2fsecret.txt",
      ];
      for (const target of targets) {
        const raw = await rawExchange(
          port,
          `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
          { until: hasCompleteResponse },
        );
        const res = parseResponse(raw);
        assertRefused(target, res.status, raw);
      }
      // A raw NUL byte and a raw backslash in the request line.
      const bytes = new TextEncoder().encode(
        "GET /assets/hello.txt\0/../../secret.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      );
      const raw = await rawExchange(port, bytes, {
        until: hasCompleteResponse,
      });
      assert.ok(!raw.includes(SECRET));
      assert.match(raw, /^HTTP\/1\.1 (400|404)/);
      // The same server still serves what is inside the root.
      const ok = parseResponse(
        await rawExchange(
          port,
          "GET /assets/hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
          { until: hasCompleteResponse },
        ),
      );
      assert.equal(ok.status, 200);
      assert.equal(ok.body, "hello world\n");
    } finally {
      await server.shutdown();
    }
  });
}

Deno.test("checkRelative refuses what the normaliser refuses, for wildcard values from anywhere", () => {
  for (
    const rel of [
      "..",
      "../x",
      "a/../b",
      "a/./b",
      ".",
      "a//b",
      "/etc/passwd",
      "a\\b",
      "a\0b",
    ]
  ) {
    const check = checkRelative(rel);
    assert.equal(check.kind, "refused", rel);
    assert.equal(check.kind === "refused" && check.status, 400, rel);
  }
  for (
    const rel of [
      "C:",
      "c:/windows",
      "a:b",
      "x/CON",
      "con.tar.gz",
      "CONIN$",
      "conout$.txt",
      "COM\u00b9",
      "lpt0",
      "a.",
      "a ",
      "tab\there",
      "del\x7f",
      LONG_SEGMENT,
      LONG_PATH,
      "\u00e9".repeat(128), // 256 bytes in UTF-8
    ]
  ) {
    const check = checkRelative(rel);
    assert.equal(check.kind === "refused" && check.status, 404, rel);
  }
  for (
    const rel of [
      "",
      "a",
      "a/b/",
      "console.txt",
      "com10",
      "lpt.txt",
      "\u00e9".repeat(127),
      ".well-known/x",
    ]
  ) {
    assert.equal(checkRelative(rel).kind, "ok", rel);
  }
  assert.deepEqual(checkRelative(".well-known/x"), {
    kind: "ok",
    dotfile: true,
  });
  assert.ok(isDeviceName("Nul .txt"));
  assert.ok(!isDeviceName("nully"));
});
