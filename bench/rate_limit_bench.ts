/**
 * What one rate-limit check costs: `memoryStore().check` on hot keys, on a
 * store at its `maxKeys` bound with every check a new key (eviction), and
 * the whole `rateLimit()` middleware around a trivial `next`, against a Map
 * get+set baseline in the same run.
 *
 * Run: `deno bench bench/rate_limit_bench.ts`
 *
 * @module
 */

import { App } from "../mod.ts";
import { memoryStore } from "../src/middleware/rate_limit/memory_store.ts";
import { rateLimit } from "../src/middleware/rate_limit/rate_limit.ts";

const params = { limit: 1_000_000, windowMs: 1000, burst: 1_000_000 };
const KEYS = Array.from(
  { length: 1000 },
  (_, i) => `default:10.0.${i >> 8}.${i & 255}`,
);
let i = 0;
let now = 1_700_000_000_000;

const map = new Map<string, { ms: number }>();
for (const k of KEYS) map.set(k, { ms: 0 });

Deno.bench({
  name:
    "baseline: Map get + delete + set of one of 1000 keys (a delete+set LRU)",
  group: "check",
  baseline: true,
  fn() {
    const k = KEYS[i++ % 1000];
    const v = map.get(k)!;
    map.delete(k);
    map.set(k, v);
  },
});

const hot = memoryStore({ maxKeys: 10_000 });
Deno.bench({
  name: "memoryStore.check, 1000 hot keys",
  group: "check",
  fn() {
    hot.check(KEYS[i++ % 1000], 1, params, now++);
  },
});

// One abusive key hammered in a store holding 20 000 others: with Map
// delete+set on every touch this was O(keys) per check in V8 (95 µs).
const crowded = memoryStore({ maxKeys: 100_000 });
for (let k = 0; k < 20_000; k++) crowded.check(`default:u${k}`, 1, params, now);
Deno.bench({
  name: "memoryStore.check, one hot key among 20 000",
  group: "check",
  fn() {
    crowded.check("default:abuser", 1, params, now++);
  },
});

// The middleware around a next() that returns a prepared Response: what a
// route pays for the limiter (key, check, fields), measured through
// app.request so ctx is real.
const app = new App({ metrics: false, requestIdHeader: false });
app.use(rateLimit({ ...params, key: (ctx) => ctx.path }));
app.get("/x", () => new Response("ok"));
const bare = new App({ metrics: false, requestIdHeader: false });
bare.get("/x", () => new Response("ok"));
const headed = new App({ metrics: false, requestIdHeader: false });
headed.use(async (_ctx, next) => {
  const res = await next();
  res.headers.set("ratelimit-policy", '"default";q=1000000;w=1');
  res.headers.set("ratelimit", '"default";r=999999;t=1');
  return res;
});
headed.get("/x", () => new Response("ok"));
const req = new Request("http://localhost/x");

Deno.bench({
  name: "App.fetch without a limiter",
  group: "middleware",
  baseline: true,
  async fn() {
    await bare.fetch(req);
  },
});

Deno.bench({
  name: "App.fetch with a middleware setting the same two fields",
  group: "middleware",
  async fn() {
    await headed.fetch(req);
  },
});

Deno.bench({
  name: "App.fetch with rateLimit (memory store)",
  group: "middleware",
  async fn() {
    await app.fetch(req);
  },
});

// Key strings exist before the check, as when they come from a request;
// cycling through 1M of them against maxKeys 1000 makes every check a new
// key that evicts the oldest.
// Built on first use (inside warm-up) and registered last, so the other
// benchmarks run on a small heap.
let FLOOD: string[] = [];
const full = memoryStore({ maxKeys: 1000 });
let n = 0;
Deno.bench({
  name: "memoryStore.check, a new key each time at maxKeys (evicts)",
  group: "check",
  fn() {
    if (FLOOD.length === 0) {
      FLOOD = Array.from({ length: 1_000_000 }, (_, i) => `default:k${i}`);
    }
    full.check(FLOOD[n++ % 1_000_000], 1, params, now);
  },
});
