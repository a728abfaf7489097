/**
 * The reverse proxy under test: `serve(app, { transport: "h1" })` with
 * `app.all("/*", proxy({ upstreams: [upstream] }))`, every App and proxy
 * default on (request ids, metrics, outlier ejection, X-Forwarded-* headers,
 * the 30 s exchange timeout).
 *
 * Run: `deno run -A bench/servers/palisade_proxy.ts --port=0 --upstream=PORT`
 *
 * @module
 */

import { App, serve } from "../../mod.ts";
import { proxy } from "../../src/proxy/mod.ts";
import { parseServerArgs, ready } from "./_common.ts";

const args = parseServerArgs();
const upstream = Deno.args.find((a) => a.startsWith("--upstream="))?.slice(11);
if (upstream === undefined) throw new Error("--upstream=PORT is required");

const app = new App();
const api = proxy({ upstreams: [`http://127.0.0.1:${upstream}`] });
app.all("/*", api);
serve(app, {
  hostname: "127.0.0.1",
  port: args.port,
  transport: "h1",
  // The harness stops servers with SIGTERM: drain quickly.
  shutdown: { graceMs: 1_000 },
  onListen: (addr) => ready(addr.port),
  onShutdown: () => void api.close(),
});
