/**
 * Palisade's HTTP/1.1 engine: a {@linkcode TransportFactory} for `serve()`
 * that adds what `Deno.serve` lacks at the connection level: header, body,
 * idle and TLS handshake timeouts, a connection cap, strict parsing with
 * exact status codes, bounded discarding after an early response, and the
 * PROXY protocol. Select it with `serve(app, { transport: "h1" })`.
 *
 * What it does not do: HTTP/2 (use the `"deno"` transport for that),
 * protocol upgrades (`Upgrade` is ignored, so WebSocket handshakes get the
 * App's ordinary answer) and `CONNECT` tunnels. Requests on a connection
 * are served one at a time, in order.
 *
 * Known limits of the platform (Deno 2.9.6): a TLS connection closed during
 * its handshake (by `tlsHandshakeTimeoutMs` or shutdown) stops counting at
 * once, but Deno keeps its socket open until the client sends a byte or
 * disconnects; and Deno offers no `setNoDelay` on TLS connections, so small
 * writes of a streamed body over TLS may wait for Nagle's algorithm (about
 * 40 ms on loopback), as they do on `Deno.serve`.
 *
 * @module
 */

import { DEFAULT_LIMITS } from "../../http/limits.ts";
import type { Servable } from "../contract.ts";
import type {
  Transport,
  TransportFactory,
  TransportOptions,
} from "../types.ts";
import { H1Listener } from "./listener.ts";
import { H1_DEFAULTS } from "./options.ts";

export { DISCARD_LIMIT, LINGER_MS } from "./connection.ts";
export { H1_DEFAULTS, type H1Options } from "./options.ts";

/**
 * Starts the h1 engine serving `app`: the factory `serve()` uses for
 * `transport: "h1"`. Options come from `options.h1`.
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
): Transport => {
  const o = options.h1 ?? {};

  const proxyProtocol = o.proxyProtocol ?? false;
  if (typeof proxyProtocol !== "boolean") {
    throw new TypeError(
      `Option proxyProtocol must be a boolean, got ${String(proxyProtocol)}`,
    );
  }
  if (proxyProtocol && options.tls !== undefined) {
    throw new TypeError(
      "Option proxyProtocol cannot be combined with tls: terminate TLS at the balancer",
    );
  }
  const appLimits = app.limits;
  const limits = {
    urlBytes: positive(
      "urlBytes",
      o.limits?.urlBytes ?? appLimits?.urlBytes ?? DEFAULT_LIMITS.urlBytes,
    ),
    headerBytes: positive(
      "headerBytes",
      o.limits?.headerBytes ?? appLimits?.headerBytes ??
        DEFAULT_LIMITS.headerBytes,
    ),
    headerCount: positive(
      "headerCount",
      o.limits?.headerCount ?? appLimits?.headerCount ??
        DEFAULT_LIMITS.headerCount,
    ),
  };
  const metrics = app.metrics;
  return new H1Listener(
    {
      handle: app.handle.bind(app),
      reject: app.reject?.bind(app),
    },
    metrics,
    {
      hostname: options.hostname,
      port: options.port,
      tls: options.tls,
      limits,
      headerTimeoutMs: nonNegative("headerTimeoutMs", o.headerTimeoutMs),
      bodyTimeoutMs: nonNegative("bodyTimeoutMs", o.bodyTimeoutMs),
      idleTimeoutMs: nonNegative("idleTimeoutMs", o.idleTimeoutMs),
      tlsHandshakeTimeoutMs: nonNegative(
        "tlsHandshakeTimeoutMs",
        o.tlsHandshakeTimeoutMs,
      ),
      maxConnections: positive(
        "maxConnections",
        o.maxConnections ?? H1_DEFAULTS.maxConnections,
      ),
      maxRequestsPerConnection: nonNegative(
        "maxRequestsPerConnection",
        o.maxRequestsPerConnection,
      ),
      proxyProtocol,
    },
  );
};

function nonNegative(
  name: keyof typeof H1_DEFAULTS,
  value: number | undefined,
): number {
  const v = value ?? H1_DEFAULTS[name];
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new TypeError(
      `Option ${name} must be a non-negative integer, got ${String(v)}`,
    );
  }
  return v;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(
      `Option ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}
