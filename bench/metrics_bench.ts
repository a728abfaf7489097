/**
 * What recording a request in the metrics registry costs once its series
 * exists (the hot path), and what rendering the Prometheus text costs.
 *
 * Run: `deno bench bench/metrics_bench.ts`
 *
 * @module
 */

import { Metrics } from "../mod.ts";
import { ROUTES } from "./_routes.ts";

const metrics = new Metrics();
metrics.record("GET", "/users/:id", 200, 0.001);
metrics.record("PATCH", "/users/:id", 200, 0.001);

let t = 0;

Deno.bench({
  name: "two performance.now() calls (the timing around record)",
  group: "record",
  baseline: true,
  fn() {
    t = performance.now();
    t = performance.now() - t;
  },
});

Deno.bench({
  name: "Metrics.record, existing series",
  group: "record",
  fn() {
    metrics.record("GET", "/users/:id", 200, 0.0123);
  },
});

Deno.bench({
  name: "Metrics.record, unknown method (_OTHER)",
  group: "record",
  fn() {
    metrics.record("PURGE", "/users/:id", 200, 0.0123);
  },
});

const full = new Metrics();
for (const r of ROUTES) {
  for (const status of [200, 404, 500]) {
    full.record(r.method, r.path, status, 0.01);
  }
}
for (const reason of ["body_too_large", "url_too_long"] as const) {
  full.reject(reason);
}

Deno.bench({
  name: "Metrics.text, 100 routes × 3 statuses",
  group: "render",
  fn() {
    full.text();
  },
});
