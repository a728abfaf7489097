/**
 * The Host header must not move the route: Deno builds `req.url` from the
 * Host as sent, so a Host holding `/`, `?` or `#` would change the path the
 * App routes and the middleware guarding it. Every transport, and
 * `app.fetch` as `deno serve` and Deploy call it, answers 400 instead.
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { rawExchange } from "../_helpers.ts";

function guardedApp(): App {
  const app = new App();
  app.use(
    "/admin",
    (ctx, next) =>
      ctx.header("authorization") === "secret"
        ? next()
        : ctx.text("no", { status: 401 }),
  );
  app.get("/admin/*", (ctx) => ctx.text("admin area"));
  app.get("/admin", (ctx) => ctx.text("admin area"));
  app.get("/public", (ctx) => ctx.text("public"));
  return app;
}

const SHAPES = [
  "x/admin/x?",
  "x#/admin",
  "x/admin",
  "x?/admin",
  "a@b",
  "x y",
  "",
];

for (const transport of ["deno", "h1"] as const) {
  Deno.test(`host [${transport}]: a Host that would move the route is 400`, async () => {
    const server = serve(guardedApp(), {
      transport,
      hostname: "127.0.0.1",
      port: 0,
      shutdown: { signals: [] },
    });
    try {
      for (const host of SHAPES) {
        const text = await rawExchange(
          server.addr.port,
          `GET /public HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        );
        assert.match(text, /^HTTP\/1\.1 400 /, `Host: ${JSON.stringify(host)}`);
        assert.ok(!text.includes("admin area"), host);
      }
      const ok = await rawExchange(
        server.addr.port,
        "GET /public HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n",
      );
      assert.match(ok, /^HTTP\/1\.1 200 /);
      assert.ok(ok.endsWith("public"));
    } finally {
      await server.shutdown();
    }
  });
}

Deno.test("host: app.fetch (deno serve, Deploy) refuses the same Host shapes", async () => {
  const app = guardedApp();
  for (const host of ["x/admin/x?", "x#/admin", "a@b"]) {
    const res = await app.fetch(
      new Request("http://localhost/public", { headers: { host } }),
      { remoteAddr: { hostname: "127.0.0.1", port: 1 } },
    );
    assert.equal(res.status, 400, host);
    assert.match(await res.text(), /Invalid Host header/);
  }
  assert.equal(app.metrics.text().match(/reason="bad_host"} (\d+)/)?.[1], "3");
});
