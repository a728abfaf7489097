/**
 * Options of the h1 transport, shared by `serve()` and the transport.
 *
 * @module
 */

import type { Limits } from "../../http/limits.ts";

/** Options of the h1 transport (also accepted by `serve()`). */
export interface H1Options {
  /**
   * How long a client has to send a whole request head, in ms, counted from
   * the connection's start (after the TLS handshake) for the first request
   * and from the first byte for later ones. Default 10 000. Bytes trickling
   * in do not extend it (slowloris). When it passes, a client that sent part
   * of a head gets 408 and the connection closes; one that sent nothing is
   * closed without an answer. 0 disables it (not recommended).
   */
  headerTimeoutMs?: number;
  /**
   * Longest wait for the next bytes of a request body the App is reading,
   * in ms. Default 30 000. When it passes, the body read fails with 408
   * (reason `body_timeout`), the App's answer is sent, and the connection
   * closes. Time the App spends not reading does not count. The same bound
   * applies to each write of a response: a client that stops reading
   * (slow read) is disconnected once a write has waited this long, and the
   * request's `ctx.signal` aborts. 0 disables it.
   */
  bodyTimeoutMs?: number;
  /**
   * How long a keep-alive connection may wait for the first byte of its
   * next request, in ms. Default 5 000. When it passes, the connection
   * closes without an answer. 0 disables it.
   */
  idleTimeoutMs?: number;
  /**
   * How long a TLS client has to complete the handshake, in ms. Default
   * 10 000. When it passes the connection is closed and no longer counts
   * against `maxConnections` (reason `tls_handshake`); Deno 2.9 releases
   * its socket only once the client sends a byte or leaves. 0 disables it.
   */
  tlsHandshakeTimeoutMs?: number;
  /**
   * Most open connections. Default 10 000. A connection over the cap is
   * accepted and closed at once (reason `connection_limit`), so the backlog
   * never fills with clients that will wait forever. Keep it below the
   * process's file descriptor limit (`ulimit -n`).
   */
  maxConnections?: number;
  /**
   * Most requests served on one connection; the last response carries
   * `Connection: close`. Default 1000 (like nginx's `keepalive_requests`),
   * which bounds what one connection can hold on to. 0 = unlimited.
   */
  maxRequestsPerConnection?: number;
  /**
   * Expect a PROXY protocol header (v1 text or v2 binary, as sent by
   * HAProxy, AWS NLB and others) before the first request of every
   * connection, and take the client address (`ctx.remote`, `info.remoteAddr`)
   * from it. Default false. Enable it only behind a balancer that always
   * sends one: a connection without a valid header is closed (reason
   * `bad_request`). The header must arrive within `headerTimeoutMs`. Not
   * available with `tls` (terminate TLS at the balancer).
   */
  proxyProtocol?: boolean;
  /**
   * Limits the parser enforces before a request exists: `urlBytes` (414),
   * `headerBytes` and `headerCount` (431). Default: the App's own limits
   * when it exposes them as `app.limits`, else `DEFAULT_LIMITS`.
   */
  limits?: Partial<Pick<Limits, "urlBytes" | "headerBytes" | "headerCount">>;
}

/** The defaults of {@linkcode H1Options}. */
export const H1_DEFAULTS: Readonly<
  Required<Omit<H1Options, "limits" | "proxyProtocol">>
> = Object.freeze({
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 5_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxRequestsPerConnection: 1000,
});
