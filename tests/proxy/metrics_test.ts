import assert from "node:assert/strict";
import { Metrics } from "../../src/observe/metrics.ts";
import { proxy } from "../../src/proxy/mod.ts";
import { one, parseExposition } from "../fixtures/prometheus.ts";
import { closedPort, front, upstream } from "./_servers.ts";

Deno.test("proxy: per-upstream metrics in the App's registry", async () => {
  const ok = upstream((req) =>
    new Response(null, {
      status: new URL(req.url).pathname === "/missing" ? 404 : 204,
    })
  );
  const dead = `http://127.0.0.1:${closedPort()}`;
  const api = proxy({ upstreams: [ok.url, dead], outlier: false });
  const f = front((app) => app.all("/api/*", api));
  // Round robin: ok, dead (retried on ok), ok (404), dead (retried on ok).
  for (const path of ["/api/a", "/api/b", "/api/missing", "/api/c"]) {
    await (await fetch(f.base + path)).body?.cancel();
  }
  const { samples } = parseExposition(f.app.metrics.text());
  const requests = (upstream: string, status_class: string) =>
    one(samples, "palisade_proxy_upstream_requests_total", {
      upstream,
      status_class,
    });
  assert.equal(requests(ok.url, "2xx"), 3);
  assert.equal(requests(ok.url, "4xx"), 1);
  assert.equal(requests(dead, "error"), 2);
  assert.equal(
    one(samples, "palisade_proxy_upstream_failures_total", {
      upstream: dead,
      cause: "connect",
    }),
    2,
  );
  assert.equal(
    one(samples, "palisade_proxy_upstream_duration_seconds_count", {
      upstream: ok.url,
    }),
    4,
  );
  assert.equal(
    one(samples, "palisade_proxy_upstream_healthy", { upstream: ok.url }),
    1,
  );
  await f.stop();
  await api.close();
  await ok.stop();
});

Deno.test("proxy: an explicit metrics registry is used instead of the App's", async () => {
  const up = upstream();
  const metrics = new Metrics();
  const api = proxy({ upstreams: [up.url + "/base"], metrics });
  const f = front((app) => app.all("/api/*", api), { app: { metrics: false } });
  await (await fetch(`${f.base}/api/`)).text();
  const { samples } = parseExposition(metrics.text());
  assert.equal(
    one(samples, "palisade_proxy_upstream_requests_total", {
      upstream: up.url + "/base",
      status_class: "2xx",
    }),
    1,
  );
  assert.ok(!f.app.metrics.text().includes("palisade_proxy"));
  await f.stop();
  await api.close();
  await up.stop();
});
