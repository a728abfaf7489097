/**
 * Starts the benchmark App with `serve()` on the given transport and prints
 * the harness's readiness line, or `UNAVAILABLE` when the transport cannot
 * run in this build.
 *
 * @module
 */

import { serve, type ServeOptions } from "../../mod.ts";
import { buildApp } from "./_palisade_app.ts";
import { parseServerArgs, ready, unavailable } from "./_common.ts";

/**
 * Serves the benchmark App with `serve()` and an explicit `transport`, with
 * the flags in `Deno.args`. `--hardened` also spells out every h1
 * connection default.
 *
 * @example Usage
 * ```ts
 * import { servePalisade } from "./_palisade_serve.ts";
 * servePalisade("deno");
 * ```
 */
export function servePalisade(transport: "deno" | "h1"): void {
  const args = parseServerArgs();
  const app = buildApp(args.hardened, {
    requestId: args.noRequestId,
    deadline: args.noDeadline,
    metrics: args.noMetrics,
  });
  const options: ServeOptions = {
    hostname: "127.0.0.1",
    port: args.port,
    transport,
    // The harness stops servers with SIGTERM: drain quickly.
    shutdown: { graceMs: 1_000 },
    onListen: (addr) => ready(addr.port),
  };
  if (args.tls) options.tls = args.tls;
  if (transport === "h1" && args.hardened) {
    Object.assign(options, {
      headerTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
      idleTimeoutMs: 5_000,
      tlsHandshakeTimeoutMs: 10_000,
      maxConnections: 10_000,
      maxRequestsPerConnection: 1_000,
    });
  }
  if (args.idleTimeoutMs !== undefined) {
    options.idleTimeoutMs = args.idleTimeoutMs;
  }
  try {
    serve(app, options);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/not available|not implemented/i.test(message)) {
      unavailable(`${transport} engine not available: ${message}`);
    }
    throw e;
  }
}
