import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { find, one, parseExposition } from "../fixtures/prometheus.ts";

const HOST = "127.0.0.1";

Deno.test("server: port 0 binds a free port, reported by addr and onListen", async () => {
  const app = new App().get("/", (ctx) => ctx.text("hello"));
  const heard: Deno.NetAddr[] = [];
  const server = serve(app, {
    hostname: HOST,
    port: 0,
    shutdown: { signals: [] },
    onListen: (addr) => heard.push(addr),
  });
  assert.equal(server.addr.hostname, HOST);
  assert.ok(server.addr.port > 0);
  assert.deepEqual(heard, [server.addr]);
  assert.equal(server.draining, false);
  const res = await fetch(`http://${HOST}:${server.addr.port}/`);
  assert.equal(await res.text(), "hello");
  await server.shutdown();
});

Deno.test("server: health() answers 200 while serving", async () => {
  const app = new App();
  const server = serve(app, {
    hostname: HOST,
    port: 0,
    shutdown: { signals: [] },
  });
  app.get("/healthz", server.health());
  const res = await fetch(`http://${HOST}:${server.addr.port}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.deepEqual(await res.json(), { status: "ok" });
  server.shutdown();
  const draining = server.health()();
  assert.equal(draining.status, 503);
  assert.deepEqual((await draining.json()).detail, "Server is shutting down");
  await server.finished;
});

Deno.test("server: an unknown transport or a bad port is refused", () => {
  const app = new App();
  assert.throws(
    // @ts-expect-error: not a transport
    () => serve(app, { hostname: HOST, port: 0, transport: "h3" }),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message === 'Option transport must be "deno" or "h1", got "h3"',
  );
  for (const port of [70000, -1, 1.5]) {
    assert.throws(() => serve(app, { hostname: HOST, port }), TypeError);
  }
});

Deno.test("server: DENO_TRUST_PROXY_HEADERS makes serve() refuse to start unless allowed", async () => {
  const app = new App();
  Deno.env.set("DENO_TRUST_PROXY_HEADERS", "1");
  try {
    assert.throws(
      () => serve(app, { hostname: HOST, port: 0, shutdown: { signals: [] } }),
      (e: unknown) =>
        e instanceof Error &&
        e.message.includes("DENO_TRUST_PROXY_HEADERS") &&
        e.message.includes("forge") &&
        e.message.includes("allowDenoTrustProxyHeaders: true"),
    );
    const server = serve(app, {
      hostname: HOST,
      port: 0,
      shutdown: { signals: [] },
      allowDenoTrustProxyHeaders: true,
    });
    await server.shutdown();
  } finally {
    Deno.env.delete("DENO_TRUST_PROXY_HEADERS");
  }
});

Deno.test("server: metrics count a known sequence of requests exactly, by route pattern", async () => {
  const app = new App();
  app.get("/users/:id", (ctx) => ctx.json({ id: ctx.params.id }));
  app.post(
    "/users",
    async (ctx) => ctx.json(await ctx.body.json(), { status: 201 }),
  );
  app.get("/metrics", app.metrics.handler());
  const server = serve(app, {
    hostname: HOST,
    port: 0,
    shutdown: { signals: [] },
  });
  const base = `http://${HOST}:${server.addr.port}`;
  const sequence: [string, string, number][] = [
    ["GET", "/users/1", 200],
    ["GET", "/users/2", 200],
    ["GET", "/users/3?x=1", 200],
    ["POST", "/users", 201],
    ["POST", "/users/1", 405],
    ["GET", "/nope", 404],
    ["GET", "/" + "a".repeat(9000), 414],
  ];
  for (const [method, path, status] of sequence) {
    const res = await fetch(base + path, {
      method,
      body: method === "POST" ? "{}" : undefined,
      headers: method === "POST" ? { "content-type": "application/json" } : {},
    });
    await res.body?.cancel();
    assert.equal(res.status, status, `${method} ${path}`);
  }
  const res = await fetch(`${base}/metrics`);
  assert.equal(
    res.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  const text = await res.text();
  await server.shutdown();

  const { samples } = parseExposition(text);
  const count = "http_server_request_duration_seconds_count";
  const series = (method: string, route: string, status: string) => ({
    http_request_method: method,
    http_route: route,
    http_response_status_code: status,
  });
  assert.equal(one(samples, count, series("GET", "/users/:id", "200")), 3);
  assert.equal(one(samples, count, series("POST", "/users", "201")), 1);
  assert.equal(one(samples, count, series("POST", "", "405")), 1);
  assert.equal(one(samples, count, series("GET", "", "404")), 1);
  // Six routed requests; the 414 was rejected before routing; /metrics is
  // still in flight while it renders.
  assert.equal(find(samples, count).reduce((n, s) => n + s.value, 0), 6);
  assert.equal(one(samples, "http_server_active_requests"), 1);
  assert.equal(
    one(samples, "palisade_rejections_total", { reason: "url_too_long" }),
    1,
  );
  // Raw paths never become labels.
  assert.ok(!text.includes("/users/1"));
  assert.ok(!text.includes("/nope"));
});
