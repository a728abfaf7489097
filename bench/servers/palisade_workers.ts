/**
 * Palisade on the h1 engine with `serve(app, { workers: N })`, serving the
 * shared benchmark App (every default on). Prints `READY <port>` from the
 * main thread; the workers join within moments (`bench/workers.ts` warms
 * up before it measures). Needs `--unstable-net` (every listener uses
 * `reusePort`).
 *
 * Run: `deno run -A --unstable-net bench/servers/palisade_workers.ts --port=0 --workers=2`
 *
 * @module
 */

import { serve } from "../../mod.ts";
import { buildApp } from "./_palisade_app.ts";
import { parseServerArgs, ready } from "./_common.ts";

const args = parseServerArgs();
const workers = Number(
  Deno.args.find((a) => a.startsWith("--workers="))?.slice(10) ?? 1,
);
serve(buildApp(false), {
  hostname: "127.0.0.1",
  port: args.port,
  workers,
  // The bench stops servers with SIGTERM: drain quickly.
  shutdown: { graceMs: 1_000 },
  onListen: (addr) => ready(addr.port),
});
