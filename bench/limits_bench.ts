/**
 * What the default request limits cost in `App.fetch`: a routed GET with 8
 * header fields through an App with default hardening, through the cheapest
 * App configuration, and through a raw handler.
 *
 * Run: `deno bench bench/limits_bench.ts`
 *
 * @module
 */

import { App } from "../mod.ts";
import { typicalGet } from "./_bench_request.ts";
import { checkHeaderLimits } from "../src/http/header_limits.ts";

const hardened = new App();
hardened.get("/users/:id", (ctx) => ctx.text(ctx.params.id));

const cheapest = new App({
  deadlineMs: 0,
  requestIdHeader: false,
  metrics: false,
});
cheapest.get("/users/:id", (ctx) => ctx.text(ctx.params.id));

function raw(req: Request): Response {
  const url = req.url;
  return new Response(url.slice(url.lastIndexOf("/") + 1));
}

Deno.bench({
  name: "raw handler (new Request + new Response)",
  group: "GET with 8 headers",
  baseline: true,
  fn() {
    raw(typicalGet("/users/42"));
  },
});

Deno.bench({
  name: "App.fetch, cheapest config (no deadline, ids, metrics)",
  group: "GET with 8 headers",
  async fn() {
    await cheapest.fetch(typicalGet("/users/42"));
  },
});

Deno.bench({
  name: "App.fetch, default limits, deadline, ids, metrics",
  group: "GET with 8 headers",
  async fn() {
    await hardened.fetch(typicalGet("/users/42"));
  },
});

// The header check App.fetch runs, against iterating Headers (which sorts
// and combines the fields on every call), on one prebuilt request.
const typical = typicalGet("/users/42");
typical.headers.get("host"); // materialise the header list once

Deno.bench({
  name: "checkHeaderLimits (what App.fetch runs)",
  group: "header scan",
  baseline: true,
  fn() {
    if (checkHeaderLimits(typical.headers, 100, 16384) !== null) {
      throw new Error("unreachable");
    }
  },
});

Deno.bench({
  name: "iterating Headers (sorts and combines)",
  group: "header scan",
  fn() {
    let count = 0;
    let bytes = 0;
    for (const [name, value] of typical.headers) {
      count++;
      bytes += name.length + value.length;
    }
    if (count > 100 || bytes > 16384) throw new Error("unreachable");
  },
});
