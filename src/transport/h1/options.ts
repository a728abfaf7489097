/**
 * Options of the h1 transport, and the one settings object they resolve to:
 * validated once by {@linkcode resolveH1Settings} in `serve()`, then read by
 * the listener and every connection.
 *
 * @module
 */

import { DEFAULT_LIMITS, type Limits } from "../../http/limits.ts";
import { bool, nonNegativeInt, positiveInt } from "../../internal/validate.ts";
import type { ParserLimits } from "./parser/parser.ts";

/** Options of the h1 transport (also accepted by `serve()`). */
export interface H1Options {
  /**
   * How long a client has to send a whole request head, in ms, counted from
   * the connection's start (after the TLS handshake) for the first request
   * and from the first byte for later ones. Bytes trickling in do not
   * extend it (slowloris). When it passes, a client that sent part of a head
   * gets 408 and the connection closes; one that sent nothing is closed
   * without an answer. 0 disables it (not recommended).
   *
   * @default {10000}
   */
  headerTimeoutMs?: number;
  /**
   * Longest wait for the next bytes of a request body the App is reading,
   * in ms. When it passes, the body read fails with 408 (reason
   * `body_timeout`), the App's answer is sent, and the connection closes.
   * Time the App spends not reading does not count. The same bound applies
   * to each write of a response: a client that stops reading (slow read) is
   * disconnected once a write has waited this long, and the request's
   * `ctx.signal` aborts. 0 disables it.
   *
   * @default {30000}
   */
  bodyTimeoutMs?: number;
  /**
   * How long a keep-alive connection may wait for the first byte of its
   * next request, in ms. When it passes, the connection closes without an
   * answer. 0 disables it.
   *
   * @default {5000}
   */
  idleTimeoutMs?: number;
  /**
   * How long a TLS client has to complete the handshake, in ms. When it
   * passes the connection is closed (reason `tls_handshake`). 0 disables it.
   *
   * @default {10000}
   */
  tlsHandshakeTimeoutMs?: number;
  /**
   * Most TLS handshakes in progress at once. A connection arriving while
   * that many are running is closed at once (reason `connection_limit`,
   * counted in `palisade_tls_handshakes_total{result="refused"}`), so
   * clients that open connections and never finish the handshake cannot
   * hold every descriptor; connections in handshake do not count against
   * `maxConnections`, so the process holds at most `maxConnections +
   * maxTlsHandshakes` client sockets. Ignored without `tls`.
   *
   * @default {256}
   */
  maxTlsHandshakes?: number;
  /**
   * Most open connections. A connection over the cap is accepted and closed
   * at once (reason `connection_limit`), so the backlog never fills with
   * clients that will wait forever. Keep it below the process's file
   * descriptor limit (`ulimit -n`).
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * Most requests served on one connection; the last response carries
   * `Connection: close`. Like nginx's `keepalive_requests`, it bounds what
   * one connection can hold on to. 0 = unlimited.
   *
   * @default {1000}
   */
  maxRequestsPerConnection?: number;
  /**
   * Expect a PROXY protocol header (v1 text or v2 binary, as sent by
   * HAProxy, AWS NLB and others) before the first request of every
   * connection, and take the client address (`ctx.remote`, `info.remoteAddr`)
   * from it. Enable it only behind a balancer that always sends one: a
   * connection without a valid header is closed (reason `bad_request`). The
   * header must arrive within `headerTimeoutMs`. Not available with `tls`
   * (terminate TLS at the balancer).
   *
   * @default {false}
   */
  proxyProtocol?: boolean;
  /**
   * Limits the parser enforces before a request exists: `urlBytes` (414),
   * `headerBytes` and `headerCount` (431).
   *
   * @default {the App's own limits (`app.limits`), else `DEFAULT_LIMITS`}
   */
  limits?: Partial<Pick<Limits, "urlBytes" | "headerBytes" | "headerCount">>;
}

/** The resolved settings every connection of a listener reads. */
export interface H1Settings {
  /** Parser limits. */
  readonly limits: Readonly<ParserLimits>;
  /** See {@linkcode H1Options.headerTimeoutMs}; 0 = none. */
  readonly headerTimeoutMs: number;
  /** See {@linkcode H1Options.bodyTimeoutMs}; 0 = none. */
  readonly bodyTimeoutMs: number;
  /** See {@linkcode H1Options.idleTimeoutMs}; 0 = none. */
  readonly idleTimeoutMs: number;
  /** See {@linkcode H1Options.tlsHandshakeTimeoutMs}; 0 = none. */
  readonly tlsHandshakeTimeoutMs: number;
  /** See {@linkcode H1Options.maxConnections}. */
  readonly maxConnections: number;
  /** See {@linkcode H1Options.maxTlsHandshakes}. */
  readonly maxTlsHandshakes: number;
  /** See {@linkcode H1Options.maxRequestsPerConnection}; 0 = unlimited. */
  readonly maxRequests: number;
  /** See {@linkcode H1Options.proxyProtocol}. */
  readonly proxyProtocol: boolean;
  /** The App's request-id header to echo on the engine's own answers. */
  readonly idHeader: string | false;
}

/** The defaults of {@linkcode H1Options}. */
export const H1_DEFAULTS: Readonly<
  Required<Omit<H1Options, "limits" | "proxyProtocol">>
> = Object.freeze({
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 5_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxTlsHandshakes: 256,
  maxConnections: 10_000,
  maxRequestsPerConnection: 1000,
});

/**
 * Validates `options` once and fills in the defaults; the URL and header
 * limits default to `appLimits`.
 *
 * @throws {TypeError} naming the option when one is invalid.
 */
export function resolveH1Settings(
  options: H1Options | undefined,
  appLimits: Readonly<Limits> | undefined,
  tls: boolean,
  idHeader: string | false = "x-request-id",
): H1Settings {
  const o = options ?? {};
  const proxyProtocol = bool("proxyProtocol", o.proxyProtocol ?? false);
  if (proxyProtocol && tls) {
    throw new TypeError(
      "Option proxyProtocol cannot be combined with tls: terminate TLS at the balancer",
    );
  }
  const base = appLimits ?? DEFAULT_LIMITS;
  const limit = (name: "urlBytes" | "headerBytes" | "headerCount"): number =>
    positiveInt(name, o.limits?.[name] ?? base[name]);
  return Object.freeze({
    limits: Object.freeze({
      urlBytes: limit("urlBytes"),
      headerBytes: limit("headerBytes"),
      headerCount: limit("headerCount"),
    }),
    headerTimeoutMs: nonNegativeInt(
      "headerTimeoutMs",
      o.headerTimeoutMs ?? H1_DEFAULTS.headerTimeoutMs,
    ),
    bodyTimeoutMs: nonNegativeInt(
      "bodyTimeoutMs",
      o.bodyTimeoutMs ?? H1_DEFAULTS.bodyTimeoutMs,
    ),
    idleTimeoutMs: nonNegativeInt(
      "idleTimeoutMs",
      o.idleTimeoutMs ?? H1_DEFAULTS.idleTimeoutMs,
    ),
    tlsHandshakeTimeoutMs: nonNegativeInt(
      "tlsHandshakeTimeoutMs",
      o.tlsHandshakeTimeoutMs ?? H1_DEFAULTS.tlsHandshakeTimeoutMs,
    ),
    maxTlsHandshakes: positiveInt(
      "maxTlsHandshakes",
      o.maxTlsHandshakes ?? H1_DEFAULTS.maxTlsHandshakes,
    ),
    maxConnections: positiveInt(
      "maxConnections",
      o.maxConnections ?? H1_DEFAULTS.maxConnections,
    ),
    maxRequests: nonNegativeInt(
      "maxRequestsPerConnection",
      o.maxRequestsPerConnection ?? H1_DEFAULTS.maxRequestsPerConnection,
    ),
    proxyProtocol,
    idHeader,
  });
}
