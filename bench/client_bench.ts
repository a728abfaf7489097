/**
 * What the outbound client adds to a `fetch`: the same GET of a 2 kB body
 * from a local `Deno.serve` upstream with a bare `fetch` over its own
 * `Deno.HttpClient` (the baseline), with `createClient()` defaults (timer,
 * size-limited body, retry policy), and with a breaker and metrics on.
 *
 * Run: `deno bench -A bench/client_bench.ts`
 *
 * @module
 */

import { createClient } from "../src/client/mod.ts";
import { Metrics } from "../src/observe/metrics.ts";

const payload = "x".repeat(2048);
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response(payload),
);
const url = `http://127.0.0.1:${server.addr.port}/item`;
const http = Deno.createHttpClient({});
const plain = createClient();
const full = createClient({ breaker: {}, metrics: new Metrics() });

Deno.bench({
  name: "fetch + text (baseline)",
  group: "client",
  baseline: true,
  async fn() {
    await (await fetch(url, { client: http })).text();
  },
});

Deno.bench({
  name: "createClient().get + text",
  group: "client",
  async fn() {
    await (await plain.get(url)).text();
  },
});

Deno.bench({
  name: "createClient({ breaker, metrics }).get + text",
  group: "client",
  async fn() {
    await (await full.get(url)).text();
  },
});

globalThis.addEventListener("unload", () => {
  http.close();
  plain.close();
  full.close();
  server.shutdown();
});
