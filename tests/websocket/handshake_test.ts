/**
 * The opening handshake on both transports: what a bad or cross-site
 * handshake gets (exact status, problem+json, the headers RFC 6455 asks
 * for), the accept key, and `app.request()` without a server.
 */

import assert from "node:assert/strict";
import { App, HttpError } from "../../mod.ts";
import { upgradeWebSocket } from "../../src/websocket/mod.ts";
import type { UpgradeWebSocketOptions } from "../../src/websocket/mod.ts";
import { RawWs, SAMPLE_KEY } from "../transport/h1/websocket/_raw_ws.ts";
import { start, TRANSPORTS } from "./_helpers.ts";

function app(options?: UpgradeWebSocketOptions): App {
  const a = new App();
  a.get("/ws", upgradeWebSocket(() => ({}), options));
  a.all("/any", upgradeWebSocket(() => ({})));
  a.get(
    "/auth",
    upgradeWebSocket((ctx) => {
      if (ctx.header("authorization") !== "Bearer ok") {
        throw new HttpError(401, "Sign in first");
      }
      return {};
    }),
  );
  return a;
}

async function handshake(
  port: number,
  headers: Record<string, string | null>,
  path = "/ws",
): Promise<{ status: number; headers: Headers; body: string }> {
  const { ws, res } = await RawWs.open(port, path, headers);
  ws.close();
  return res;
}

for (const transport of TRANSPORTS) {
  Deno.test(`websocket handshake [${transport}]: a valid handshake gets 101 with the RFC 6455 accept key`, async () => {
    const s = start(app(), transport);
    try {
      const res = await handshake(s.port, {});
      assert.equal(res.status, 101);
      assert.equal(
        res.headers.get("sec-websocket-accept"),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
      );
      assert.equal(res.headers.get("upgrade")?.toLowerCase(), "websocket");
      assert.equal(res.headers.get("connection")?.toLowerCase(), "upgrade");
      assert.equal(res.headers.get("sec-websocket-protocol"), null);
      assert.equal(res.headers.get("sec-websocket-extensions"), null);
      // Tokens are matched case-insensitively, in lists.
      const lists = await handshake(s.port, {
        upgrade: "WebSocket",
        connection: "keep-alive, UPGRADE",
      });
      assert.equal(lists.status, 101);
    } finally {
      await s.stop();
    }
  });

  Deno.test(`websocket handshake [${transport}]: a plain request gets 426 with Upgrade: websocket`, async () => {
    const s = start(app(), transport);
    try {
      const res = await fetch(`http://127.0.0.1:${s.port}/ws`);
      assert.equal(res.status, 426);
      assert.equal(res.headers.get("upgrade"), "websocket");
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal((await res.json()).status, 426);
      const noWs = await handshake(s.port, { upgrade: "h2c" });
      assert.equal(noWs.status, 426);
    } finally {
      await s.stop();
    }
  });

  Deno.test(`websocket handshake [${transport}]: bad Connection, key and version`, async () => {
    const s = start(app(), transport);
    try {
      const noConnection = await handshake(s.port, {
        connection: "keep-alive",
      });
      assert.equal(noConnection.status, 400);
      assert.match(JSON.parse(noConnection.body).detail, /Connection/);

      for (
        const key of [
          null,
          "",
          "c2hvcnQ=",
          SAMPLE_KEY.slice(0, 22) + "=",
          "dGhlIHNhbXBsZSBub25jZR==",
        ]
      ) {
        const res = await handshake(s.port, { "sec-websocket-key": key });
        assert.equal(res.status, 400, `key ${key}`);
        assert.match(JSON.parse(res.body).detail, /16 bytes/);
      }

      for (const version of [null, "8", "14", "13, 8"]) {
        const res = await handshake(s.port, {
          "sec-websocket-version": version,
        });
        assert.equal(res.status, 426, `version ${version}`);
        assert.equal(res.headers.get("sec-websocket-version"), "13");
      }
    } finally {
      await s.stop();
    }
  });

  Deno.test(`websocket handshake [${transport}]: Origin policy (cross-site WebSocket hijacking)`, async () => {
    const s = start(app(), transport);
    const listed = start(
      app({ allowedOrigins: ["https://app.example", "http://LOCALHOST:3000"] }),
      transport,
    );
    const any = start(app({ allowedOrigins: "*" }), transport);
    try {
      const evil = await handshake(s.port, { origin: "https://evil.example" });
      assert.equal(evil.status, 403);
      assert.equal(
        evil.headers.get("content-type"),
        "application/problem+json",
      );
      assert.equal(JSON.parse(evil.body).status, 403);
      // Same host, other port: another origin.
      assert.equal(
        (await handshake(s.port, { origin: "http://127.0.0.1:1" })).status,
        403,
      );
      assert.equal((await handshake(s.port, { origin: "null" })).status, 403);
      // Same-origin, with either scheme (TLS may end at a proxy); no Origin at all.
      assert.equal(
        (await handshake(s.port, { origin: `http://127.0.0.1:${s.port}` }))
          .status,
        101,
      );
      assert.equal(
        (await handshake(s.port, { origin: `https://127.0.0.1:${s.port}` }))
          .status,
        101,
      );
      assert.equal((await handshake(s.port, {})).status, 101);

      assert.equal(
        (await handshake(listed.port, { origin: "https://app.example" }))
          .status,
        101,
      );
      assert.equal(
        (await handshake(listed.port, { origin: "http://localhost:3000" }))
          .status,
        101,
      );
      assert.equal(
        (await handshake(listed.port, { origin: "http://app.example" })).status,
        403,
      );
      assert.equal(
        (await handshake(listed.port, {
          origin: `http://127.0.0.1:${listed.port}`,
        })).status,
        101,
      );

      assert.equal(
        (await handshake(any.port, { origin: "https://evil.example" })).status,
        101,
      );
    } finally {
      await Promise.all([s.stop(), listed.stop(), any.stop()]);
    }
  });

  Deno.test(`websocket handshake [${transport}]: createEvents can refuse with an HttpError`, async () => {
    const s = start(app(), transport);
    try {
      assert.equal((await handshake(s.port, {}, "/auth")).status, 401);
      assert.equal(
        (await handshake(s.port, { authorization: "Bearer ok" }, "/auth"))
          .status,
        101,
      );
    } finally {
      await s.stop();
    }
  });
}

Deno.test("websocket handshake: app.request() without a server gets 501", async () => {
  const res = await app().request("/ws", {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": SAMPLE_KEY,
      "sec-websocket-version": "13",
    },
  });
  assert.equal(res.status, 501);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal((await res.json()).detail, "WebSocket upgrade needs serve()");
  const plain = await app().request("/ws");
  assert.equal(plain.status, 426);
  await plain.body?.cancel();
});

Deno.test("websocket handshake: only GET upgrades (a route for every method answers 405)", async () => {
  const res = await app().request("/any", {
    method: "POST",
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": SAMPLE_KEY,
      "sec-websocket-version": "13",
    },
  });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET");
  await res.body?.cancel();
});

Deno.test("websocket options: invalid values throw a TypeError naming the option", () => {
  const bad: [UpgradeWebSocketOptions, RegExp][] = [
    [
      { maxMessageBytes: 0 },
      /Option maxMessageBytes must be a positive integer, got 0/,
    ],
    [{ maxFrameBytes: 1.5 }, /Option maxFrameBytes/],
    [{ maxBufferedBytes: -1 }, /Option maxBufferedBytes/],
    [{ idleTimeoutMs: -1 }, /Option idleTimeoutMs/],
    [{ protocols: ["a b"] }, /Option protocols/],
    [{ allowedOrigins: ["https://a.example/path"] }, /Option allowedOrigins/],
    [{ allowedOrigins: ["a.example"] }, /Option allowedOrigins/],
    [{ onClosed: 1 as unknown as () => void }, /Option onClosed/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => upgradeWebSocket(() => ({}), options), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /\.$/);
      return true;
    });
  }
});
