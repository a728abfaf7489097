/**
 * The server of `bench/rate_limit_load.ts`: Palisade (deno transport) with
 *
 * - `GET /rl`: `rateLimit({ limit: 100, windowMs: 1000 })` keyed by the
 *   `x-key` header, counting per class (`x-key: abuser` or any other key)
 *   how many answers were 200 and 429, and their server-side latency;
 * - `GET /cl` and `GET /nocl`: a handler waiting on a simulated backend with
 *   10 connections and 5 ms per query, behind
 *   `concurrencyLimit({ max: 10, queue: 10, queueTimeoutMs: 50 })` on `/cl`
 *   and nothing on `/nocl`; server-side latency recorded per status;
 * - `GET /stats`: the counters and latency percentiles as JSON, then reset.
 *
 * Prints `READY <port>` once listening.
 *
 * @module
 */

import { App, serve } from "../../mod.ts";
import { rateLimit } from "../../src/middleware/rate_limit/rate_limit.ts";
import { concurrencyLimit } from "../../src/middleware/concurrency_limit.ts";

const counts: Record<string, number> = {};
const latencies: Record<string, number[]> = {};

function count(name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

/** A backend with `size` connections: each query holds one for `ms`. */
function backend(size: number, ms: number): () => Promise<void> {
  let free = size;
  const waiting: (() => void)[] = [];
  return async () => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    await new Promise((r) => setTimeout(r, ms));
    const next = waiting.shift();
    if (next !== undefined) next();
    else free++;
  };
}

const query = backend(10, 5);
const app = new App({ requestIdHeader: false });

app.get(
  "/rl",
  async (ctx, next) => {
    const cls = ctx.header("x-key") === "abuser" ? "abuser" : "normal";
    const start = performance.now();
    const res = await next();
    count(`${cls}_${res.status}`);
    (latencies[`rl_${cls}`] ??= []).push(performance.now() - start);
    return res;
  },
  rateLimit({
    limit: 100,
    windowMs: 1000,
    key: (ctx) => ctx.header("x-key") ?? "",
  }),
  (ctx) => ctx.text("ok"),
);

function timed(route: string) {
  return async (
    _ctx: unknown,
    next: () => Promise<Response>,
  ): Promise<Response> => {
    const start = performance.now();
    const res = await next();
    (latencies[`${route}_${res.status}`] ??= []).push(
      performance.now() - start,
    );
    return res;
  };
}

const work = async (ctx: { text: (s: string) => Response }) => {
  await query();
  return ctx.text("done");
};
app.get(
  "/cl",
  timed("cl"),
  concurrencyLimit({ max: 10, queue: 10, queueTimeoutMs: 50 }),
  work,
);
app.get("/nocl", timed("nocl"), work);

app.get("/stats", (ctx) => {
  const out: Record<string, unknown> = { counts: { ...counts } };
  for (const [k, v] of Object.entries(latencies)) {
    v.sort((a, b) => a - b);
    const at = (p: number) =>
      Number(v[Math.min(v.length - 1, Math.floor(p * v.length))].toFixed(2));
    out[k] = { n: v.length, p50: at(0.5), p99: at(0.99), max: at(1) };
  }
  for (const k of Object.keys(counts)) delete counts[k];
  for (const k of Object.keys(latencies)) delete latencies[k];
  return ctx.json(out);
});

const server = serve(app, {
  hostname: "127.0.0.1",
  port: 0,
  transport: "deno",
  shutdown: { signals: ["SIGTERM", "SIGINT"] },
});
console.log(`READY ${server.addr.port}`);
