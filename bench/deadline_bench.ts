/**
 * What a request deadline costs: the same routed GET through an App with
 * `deadlineMs: 30000` (the default) and with `deadlineMs: 0`, for a sync
 * handler (no registry entry) and an async one (tracked in flight).
 *
 * Run: `deno bench bench/deadline_bench.ts`
 *
 * @module
 */

import { App } from "../mod.ts";
import { InflightRegistry } from "../src/app/inflight.ts";
import type { Inflight } from "../src/app/inflight.ts";
import { typicalGet } from "./_bench_request.ts";

function makeApp(deadlineMs: number): App {
  const app = new App({ deadlineMs, requestIdHeader: false, metrics: false });
  app.get("/sync", (ctx) => ctx.text("ok"));
  app.get("/async", async (ctx) => {
    await null;
    return ctx.text("ok");
  });
  return app;
}

const withDeadline = makeApp(30_000);
const noDeadline = makeApp(0);

Deno.bench({
  name: "sync handler, deadlineMs 0",
  group: "sync handler",
  baseline: true,
  async fn() {
    await noDeadline.fetch(typicalGet("/sync"));
  },
});

Deno.bench({
  name: "sync handler, deadlineMs 30000",
  group: "sync handler",
  async fn() {
    await withDeadline.fetch(typicalGet("/sync"));
  },
});

Deno.bench({
  name: "async handler, deadlineMs 0",
  group: "async handler",
  baseline: true,
  async fn() {
    await noDeadline.fetch(typicalGet("/async"));
  },
});

Deno.bench({
  name: "async handler, deadlineMs 30000",
  group: "async handler",
  async fn() {
    await withDeadline.fetch(typicalGet("/async"));
  },
});

// The registry's shared timer is unref'd, so it never keeps the bench alive.
const registry = new InflightRegistry();
const list30 = registry.list(30_000);
const item: Inflight = {
  deadline: 0,
  prev: null,
  next: null,
  list: null,
  expire() {},
};

Deno.bench({
  name: "Date.now() alone",
  group: "registry",
  baseline: true,
  fn() {
    item.deadline = Date.now() + 30_000;
  },
});

Deno.bench({
  name: "InflightRegistry add + remove (30 s list)",
  group: "registry",
  fn() {
    item.deadline = Date.now() + 30_000;
    registry.add(list30, item);
    registry.remove(item);
  },
});
