/**
 * `serve(app, options)`: starts a transport, handles signals, and shuts down
 * gracefully.
 *
 * @module
 */

import { type App, markServed } from "../app/app.ts";
import { bool, oneOf } from "../internal/validate.ts";
import {
  denoTransport,
  RELOAD_NEEDS_REUSE_PORT,
} from "../transport/deno/transport.ts";
import { h1Transport } from "../transport/h1/mod.ts";
import type { TransportFactory } from "../transport/types.ts";
import type { ServeOptions, Server } from "./options.ts";
import { RunningServer } from "./shutdown.ts";
import { readTls } from "./tls.ts";
import { serveWorkers } from "./workers.ts";

export type {
  ServeOptions,
  Server,
  ShutdownOptions,
  ShutdownReport,
  TlsOptions,
  TlsPair,
} from "./options.ts";

const TRANSPORTS: Record<"deno" | "h1", TransportFactory> = {
  deno: denoTransport,
  h1: h1Transport,
};

/**
 * Serves `app` until shut down by `server.shutdown()` or a signal.
 *
 * Shutdown order: mark draining (`server.health()` answers 503) → after
 * `readinessDelayMs`, stop accepting (new connections are refused, idle
 * keep-alive connections close, later responses carry `Connection: close`)
 * → end open `ctx.sse` streams cleanly and close WebSockets with 1001 → wait
 * up to `graceMs` for in-flight requests and streams → abort what is left
 * (`ctx.signal.reason` is `shutdownReason()`; streams are cut) → close
 * connections → remove signal listeners → resolve `finished`. With
 * `workers`, every worker drains so and `finished` sums their reports.
 *
 * @throws {Error} when `DENO_TRUST_PROXY_HEADERS` is set without
 * `allowDenoTrustProxyHeaders`, when the transport is not available, when
 * the TLS files cannot be read, or when `workers` lacks a flag it needs.
 * @throws {TypeError} naming the option when an option is invalid.
 *
 * @example Usage
 * ```ts ignore
 * import { App, serve } from "@palisade/server";
 * const app = new App();
 * app.get("/", (ctx) => ctx.text("hello"));
 * const server = serve(app, { port: 8000, shutdown: { graceMs: 5_000 } });
 * app.get("/healthz", server.health());
 * const report = await server.finished; // after SIGINT / SIGTERM
 * console.log(report); // { completed: 3, aborted: 0, durationMs: 12.3 }
 * ```
 */
export function serve<S extends object>(
  app: App<S>,
  options: ServeOptions = {},
): Server {
  const group = serveWorkers(app as App<object>, options, serve);
  if (group !== null) return group;
  checkTrustProxyEnv(options.allowDenoTrustProxyHeaders === true);
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(
      `Option port must be an integer from 0 to 65535, got ${port}`,
    );
  }
  const name = oneOf("transport", options.transport ?? "h1", [
    "deno",
    "h1",
  ]);
  const tls = options.tls === undefined ? undefined : readTls(options.tls);
  const reusePort = bool("reusePort", options.reusePort ?? false);
  if (name === "deno" && options.tls?.watch === true && !reusePort) {
    throw new TypeError(`Option tls.watch: ${RELOAD_NEEDS_REUSE_PORT}`);
  }
  markServed(app as App<object>);
  const transport = TRANSPORTS[name](app, {
    hostname,
    port,
    tls,
    reusePort,
    h1: options,
  });
  let server: RunningServer;
  try {
    server = new RunningServer(app as App<object>, transport, options);
  } catch (e) {
    transport.stopAccepting();
    transport.close();
    throw e;
  }
  try {
    options.onListen?.(transport.addr);
  } catch (e) {
    server.shutdown({ graceMs: 0 });
    throw e;
  }
  return server;
}

/** Refuses to start when `DENO_TRUST_PROXY_HEADERS` is set, unless allowed. */
function checkTrustProxyEnv(allowed: boolean): void {
  if (allowed) return;
  const name = "DENO_TRUST_PROXY_HEADERS";
  let value: string | undefined;
  try {
    if (
      Deno.permissions.querySync({ name: "env", variable: name }).state !==
        "granted"
    ) {
      return;
    }
    value = Deno.env.get(name);
  } catch {
    return;
  }
  if (value === undefined) return;
  throw new Error(
    `Refusing to start: the ${name} environment variable is set, which makes Deno ` +
      "take the client address from X-Forwarded-For headers that any client can forge. " +
      "Unset it and use the App's trustProxy option (it believes only listed proxies), " +
      "or pass allowDenoTrustProxyHeaders: true to serve() if every connection comes " +
      "through a proxy that overwrites these headers",
  );
}
