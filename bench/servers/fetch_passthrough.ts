/**
 * Reference for the proxy benchmark: the least code that proxies with
 * Deno's fetch — `Deno.serve` returning `fetch(upstream, { client })` with
 * one pooled `Deno.createHttpClient`, no header handling, no timeouts. What
 * any fetch-based proxy on Deno pays at least.
 *
 * Run: `deno run -A bench/servers/fetch_passthrough.ts --port=0 --upstream=PORT`
 *
 * @module
 */

import { parseServerArgs, ready } from "./_common.ts";

const args = parseServerArgs();
const upstream = Deno.args.find((a) => a.startsWith("--upstream="))?.slice(11);
if (upstream === undefined) throw new Error("--upstream=PORT is required");
const url = `http://127.0.0.1:${upstream}/`;
const client = Deno.createHttpClient({});

Deno.serve({
  hostname: "127.0.0.1",
  port: args.port,
  onListen: (addr) => ready(addr.port),
}, () => fetch(url, { client }));
