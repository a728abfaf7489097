/**
 * `serveStatic` over real sockets on both transports: the framing of HEAD,
 * 206, 304 and 416 answers as raw bytes.
 */

import assert from "node:assert/strict";
import { serve } from "../../src/server/serve.ts";
import { parseResponse, rawExchange } from "../_helpers.ts";
import { staticApp } from "./_helpers.ts";

function request(
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): string {
  let head =
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  return head + "\r\n";
}

for (const transport of ["deno", "h1"] as const) {
  Deno.test(`HEAD, ranges and validators on the wire (${transport})`, async () => {
    const server = serve(staticApp({ precompressed: true }), {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    try {
      const port = server.addr.port;
      const get = async (
        path: string,
        headers?: Record<string, string>,
        method?: string,
      ) => {
        const raw = await rawExchange(port, request(path, headers, method));
        return { raw, res: parseResponse(raw) };
      };
      const full = await get("/assets/hello.txt");
      assert.equal(full.res.status, 200);
      assert.equal(full.res.headers["content-length"], "12");
      assert.equal(full.res.body, "hello world\n");

      const head = await get("/assets/hello.txt", {}, "HEAD");
      assert.equal(head.res.status, 200);
      assert.equal(head.res.headers["content-length"], "12");
      assert.equal(head.res.headers["etag"], full.res.headers["etag"]);
      assert.ok(head.raw.endsWith("\r\n\r\n"), "no body after a HEAD answer");

      const part = await get("/assets/app.js", { range: "bytes=-5" });
      assert.equal(part.res.status, 206);
      assert.equal(part.res.headers["content-range"], "bytes 995-999/1000");
      assert.equal(part.res.headers["content-length"], "5");
      assert.equal(part.res.body.length, 5);
      assert.ok(part.raw.endsWith(part.res.body), "nothing after the range");

      const cached = await get("/assets/hello.txt", {
        "if-none-match": full.res.headers["etag"],
      });
      assert.equal(cached.res.status, 304);
      assert.ok(cached.raw.endsWith("\r\n\r\n"), "no body after a 304");

      const none = await get("/assets/app.js", { range: "bytes=5000-" });
      assert.equal(none.res.status, 416);
      assert.equal(none.res.headers["content-range"], "bytes */1000");

      const gz = await get("/assets/app.js", {
        "accept-encoding": "gzip;q=1, br;q=0.1",
      });
      assert.equal(gz.res.headers["content-encoding"], "gzip");
      assert.equal(gz.res.headers["vary"], "accept-encoding");
      assert.equal(
        gz.res.headers["content-length"],
        String(
          Deno.statSync(
            new URL("../fixtures/static/root/app.js.gz", import.meta.url),
          ).size,
        ),
      );
    } finally {
      await server.shutdown();
    }
  });
}
