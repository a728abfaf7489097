/**
 * Palisade's HTTP/1.1 engine: a {@linkcode TransportFactory} for `serve()`
 * that adds what `Deno.serve` lacks at the connection level: header, body,
 * idle and TLS handshake timeouts, a connection cap, strict parsing with
 * exact status codes, bounded discarding after an early response, the
 * PROXY protocol, and connection handover for WebSockets. Select it with
 * `serve(app, { transport: "h1" })`.
 *
 * What it does not do: HTTP/2 (use the `"deno"` transport for that) and
 * `CONNECT` tunnels. Requests on a connection are served one at a time, in
 * order.
 *
 * @module
 */

import type { Servable } from "../contract.ts";
import type {
  Transport,
  TransportFactory,
  TransportOptions,
} from "../types.ts";
import { H1Listener } from "./listener.ts";
import { resolveH1Settings } from "./options.ts";

export { LINGER_MS } from "./connection.ts";
export { DISCARD_LIMIT } from "./request_body.ts";
export { H1_DEFAULTS, type H1Options } from "./options.ts";

/**
 * Starts the h1 engine serving `app`: the factory `serve()` uses for
 * `transport: "h1"`. Options come from `options.h1`, validated once here.
 *
 * @throws {TypeError} naming the option when an option is invalid.
 *
 * @example Usage
 * ```ts ignore
 * import { App } from "@palisade/server";
 * import { h1Transport } from "./mod.ts";
 * const app = new App().get("/", (ctx) => ctx.text("ok"));
 * const t = h1Transport(app, { hostname: "127.0.0.1", port: 0, tls: undefined });
 * t.stopAccepting();
 * await t.close();
 * ```
 */
export const h1Transport: TransportFactory = (
  app: Servable,
  options: TransportOptions,
): Transport =>
  new H1Listener(
    { handle: app.handle.bind(app), reject: app.reject?.bind(app) },
    app.metrics,
    options,
    resolveH1Settings(
      options.h1,
      app.limits,
      options.tls !== undefined,
      app.requestIdHeader,
    ),
  );
