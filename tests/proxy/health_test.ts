import assert from "node:assert/strict";
import { proxy } from "../../src/proxy/mod.ts";
import { find, one, parseExposition } from "../fixtures/prometheus.ts";
import { front, get, until, upstream } from "./_servers.ts";

/** An upstream answering its name on every path, `ok` on /health. */
function service(name: string, port = 0) {
  return upstream(
    (req) =>
      new Response(new URL(req.url).pathname === "/health" ? "ok" : name),
    port,
  );
}

function probes(u: { seen: Request[] }): number {
  return u.seen.filter((r) => new URL(r.url).pathname === "/health").length;
}

Deno.test("proxy: a killed upstream is ejected, requests retry elsewhere, and health checks readmit it", async () => {
  const a = service("a");
  let b = service("b");
  const bPort = b.port;
  const api = proxy({
    upstreams: [a.url, b.url],
    healthCheck: {
      path: "/health",
      intervalMs: 30,
      timeoutMs: 30,
      unhealthyAfter: 2,
      healthyAfter: 2,
    },
    // A long ejection: only a health check can bring b back in time.
    outlier: { consecutiveFailures: 1, baseEjectionMs: 600_000 },
  });
  const f = front((app) => {
    app.all("/api/*", api);
    app.get("/metrics", app.metrics.handler());
  });
  const healthy = async (u: string): Promise<number> => {
    const text = await (await fetch(`${f.base}/metrics`)).text();
    return one(
      parseExposition(text).samples,
      "palisade_proxy_upstream_healthy",
      { upstream: u },
    );
  };
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push((await get(`${f.base}/api/x`)).text);
  assert.deepEqual(names.sort(), ["a", "a", "a", "b", "b", "b"]);

  await b.stop();
  // No client sees the dead upstream: GETs that hit it are retried on a.
  for (let i = 0; i < 20; i++) {
    const r = await get(`${f.base}/api/x`);
    assert.equal(r.status, 200);
    assert.equal(r.text, "a");
  }
  // Out of rotation: ejected by the failed exchanges, or marked unhealthy
  // by the probes, whichever saw it first.
  assert.equal(await healthy(b.url), 0);
  assert.equal(await healthy(a.url), 1);

  // Let enough probe rounds fail for the health check to mark b unhealthy
  // (a is probed in the same rounds).
  const seen = probes(a);
  await until("three probe rounds", () => probes(a) >= seen + 3);

  b = service("b", bPort);
  await until("b readmitted", async () => (await healthy(b.url)) === 1);
  const after: string[] = [];
  for (let i = 0; i < 4; i++) after.push((await get(`${f.base}/api/x`)).text);
  assert.deepEqual(after.sort(), ["a", "a", "b", "b"]);

  await f.stop();
  await api.close();
  await a.stop();
  await b.stop();
});

Deno.test("proxy: passive ejection takes a failing upstream out of rotation after its first failures", async () => {
  const a = service("a");
  const b = service("b");
  const api = proxy({
    upstreams: [a.url, b.url],
    outlier: { consecutiveFailures: 2, baseEjectionMs: 600_000 },
  });
  const f = front((app) => {
    app.all("/api/*", api);
    app.get("/metrics", app.metrics.handler());
  });
  await b.stop();
  for (let i = 0; i < 20; i++) {
    const r = await get(`${f.base}/api/x`);
    assert.equal(r.status, 200);
    assert.equal(r.text, "a");
  }
  const samples =
    parseExposition(await (await fetch(`${f.base}/metrics`)).text())
      .samples;
  const failed = find(samples, "palisade_proxy_upstream_failures_total", {
    upstream: b.url,
  }).reduce((n, s) => n + s.value, 0);
  assert.equal(failed, 2, "b was tried until its second failure, then ejected");
  assert.equal(
    one(samples, "palisade_proxy_upstream_healthy", { upstream: b.url }),
    0,
  );
  await f.stop();
  await api.close();
  await a.stop();
});

Deno.test("proxy: 503 when every upstream fails its health checks, and back when one passes", async () => {
  let up = true;
  const a = upstream((req) =>
    new URL(req.url).pathname === "/health"
      ? new Response(null, { status: up ? 204 : 500 })
      : new Response("a")
  );
  const api = proxy({
    upstreams: [a.url],
    healthCheck: {
      path: "/health",
      intervalMs: 20,
      timeoutMs: 20,
      unhealthyAfter: 1,
      healthyAfter: 1,
      expectStatus: [200, 204],
    },
  });
  const f = front((app) => app.all("/api/*", api));
  assert.equal((await get(`${f.base}/api/`)).text, "a");
  up = false;
  await until("503", async () => (await get(`${f.base}/api/`)).status === 503);
  const res = await fetch(`${f.base}/api/`);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const problem = await res.json();
  assert.equal(problem.status, 503);
  assert.match(problem.detail, /health check/);
  assert.ok(!JSON.stringify(problem).includes("127.0.0.1"));
  up = true;
  await until(
    "recovery",
    async () => (await get(`${f.base}/api/`)).status === 200,
  );
  await f.stop();
  await api.close();
  await a.stop();
});

Deno.test("proxy: the last upstream in rotation is never ejected (panic mode)", async () => {
  // Both answer 502 (gateway failures count toward ejection).
  const a = upstream(() => new Response("bad a", { status: 502 }));
  const b = upstream(() => new Response("bad b", { status: 502 }));
  const api = proxy({
    upstreams: [a.url, b.url],
    outlier: { consecutiveFailures: 1, baseEjectionMs: 600_000 },
  });
  const f = front((app) => app.all("/api/*", api));
  // a or b is ejected after its first 502; the other then stays, whatever
  // it answers, and upstream responses are relayed, never replaced.
  for (let i = 0; i < 6; i++) {
    const r = await get(`${f.base}/api/`);
    assert.equal(r.status, 502);
    assert.match(r.text, /^bad [ab]$/);
  }
  assert.equal(a.seen.length + b.seen.length, 6);
  assert.ok(a.seen.length === 1 || b.seen.length === 1);
  await f.stop();
  await api.close();
  await a.stop();
  await b.stop();
});

Deno.test("proxy: close() stops the health checks and later requests get 503", async () => {
  const a = service("a");
  const api = proxy({
    upstreams: [a.url],
    healthCheck: { path: "/health", intervalMs: 10, timeoutMs: 10 },
  });
  const f = front((app) => app.all("/api/*", api));
  await until("a probe", () => probes(a) > 0);
  await api.close();
  await api.close(); // twice is fine
  const r = await get(`${f.base}/api/`);
  assert.equal(r.status, 503);
  // A probe aborted by close() may still reach the upstream: count after it.
  await new Promise((r) => setTimeout(r, 50));
  const count = probes(a);
  await new Promise((r) => setTimeout(r, 100)); // ten intervals
  assert.equal(probes(a), count, "no probe after close()");
  await f.stop();
  await a.stop();
});
