/**
 * Limits agree across transports: `headerBytes` counts field names plus
 * values (not the colon, whitespace or line endings) on `Deno.serve` and on
 * the h1 engine alike, so a head at the limit passes on both and one byte
 * over is 431 on both.
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { rawExchange } from "../_helpers.ts";

const LIMIT = 1000;

/** A GET whose names plus values are exactly `bytes` (Host "x" counted). */
function head(bytes: number): string {
  const value = "v".repeat(bytes - "host".length - "x".length - "x-pad".length);
  return `GET / HTTP/1.1\r\nhost: x\r\nx-pad:   ${value}  \r\nconnection: close\r\n\r\n`;
}

for (const transport of ["deno", "h1"] as const) {
  Deno.test(`limits [${transport}]: headerBytes counts names plus values, exact at the edge`, async () => {
    const app = new App({ limits: { headerBytes: LIMIT } });
    app.get("/", (ctx) => ctx.text("ok"));
    const server = serve(app, {
      transport,
      hostname: "127.0.0.1",
      port: 0,
      shutdown: { signals: [] },
    });
    try {
      // "connection: close" adds 10 + 5 bytes; keep the total at the limit.
      const at = await rawExchange(server.addr.port, head(LIMIT - 15));
      assert.match(at, /^HTTP\/1\.1 200 /, at.slice(0, 80));
      const over = await rawExchange(server.addr.port, head(LIMIT - 14));
      assert.match(over, /^HTTP\/1\.1 431 /, over.slice(0, 80));
      assert.match(over, /headerBytes limit of 1000 bytes/);
    } finally {
      await server.shutdown();
    }
  });
}

Deno.test("redirects: the target is judged as the header carries it; non-Latin-1 is 400", async () => {
  const app = new App();
  app.get("/r", (ctx) => ctx.redirect(ctx.query.get("to") ?? "/"));
  const to = async (target: string) =>
    (await app.request(`/r?to=${encodeURIComponent(target)}`)).status;
  assert.equal(await to(" //evil.com"), 400);
  assert.equal(await to("  /\\evil.com"), 400);
  assert.equal(await to("\\\\evil.com"), 400);
  assert.equal(await to("/caf\u00e9"), 302); // Latin-1 is a valid byte string
  assert.equal(await to("/\u{1F600}"), 400);
  assert.equal(await to("/a\r\nset-cookie: x=1"), 400);
  assert.equal(await to("/ok"), 302);
  assert.equal(await to("https://a.example/x"), 302);
});
