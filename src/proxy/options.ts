/**
 * Options of the reverse proxy (validated by `config.ts`).
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import type { Metrics } from "../observe/metrics.ts";

/**
 * How the proxy chooses an upstream for each request.
 *
 * - `"round_robin"`: smooth weighted round robin (the nginx algorithm): over
 *   any run of requests each upstream gets its weight's share, interleaved
 *   (weights 3 and 1 give `a a b a`, not `a a a b`).
 * - `"least_connections"`: the upstream with the fewest in-flight exchanges
 *   per unit of weight; ties go round robin.
 * - `"random_two_choices"`: two different upstreams at random, then the one
 *   with fewer in-flight exchanges per unit of weight (power of two choices).
 */
export type Strategy =
  | "round_robin"
  | "least_connections"
  | "random_two_choices";

/** One upstream with an explicit weight. */
export interface UpstreamInit {
  /**
   * Base URL: `http:` or `https:`, no query, fragment or credentials. A path
   * (`http://10.0.0.5:8080/api`) is prepended to every proxied path.
   */
  url: string;
  /** Relative share of the traffic, an integer from 1 to 1000. Default 1. */
  weight?: number;
}

/** Active health checks; see {@linkcode ProxyOptions.healthCheck}. */
export interface HealthCheckOptions {
  /**
   * Path probed with `GET` on each upstream's origin (the upstream URL's own
   * path is not prepended). Default `"/"`.
   */
  path?: string;
  /**
   * Time between two rounds of probes, in ms; one timer serves every
   * upstream. Default 5 000. Must be at least 1.
   */
  intervalMs?: number;
  /**
   * How long a probe may take, in ms, before it counts as failed; at most
   * `intervalMs`. Default 2 000. Must be at least 1.
   */
  timeoutMs?: number;
  /** Consecutive failed probes that mark a healthy upstream unhealthy. Default 3; at least 1. */
  unhealthyAfter?: number;
  /**
   * Consecutive passed probes that mark an unhealthy upstream healthy again
   * (which also ends a passive ejection). Default 2; at least 1.
   */
  healthyAfter?: number;
  /**
   * Status codes that pass: one code or a list. Default: any 2xx. A probe
   * that fails to connect, resets or times out fails.
   */
  expectStatus?: number | readonly number[];
}

/**
 * Passive outlier ejection: an upstream whose exchanges keep failing is taken
 * out of rotation for a while, without waiting for a health check.
 */
export interface OutlierOptions {
  /**
   * Consecutive failed exchanges that eject an upstream. A failure is a
   * connect failure, a reset, a timeout, or a 502, 503 or 504 response
   * (gateway failures); any other response resets the count. Default 5;
   * 0 = never eject.
   */
  consecutiveFailures?: number;
  /**
   * Length of the first ejection in ms; the n-th ejection in a row lasts
   * `baseEjectionMs * 2^(n-1)`, capped at `maxEjectionMs`. The count of
   * ejections starts over once an upstream has stayed in rotation for
   * `maxEjectionMs`. Default 30 000; at least 1.
   */
  baseEjectionMs?: number;
  /** Longest ejection in ms. Default 300 000; at least `baseEjectionMs`. */
  maxEjectionMs?: number;
}

/**
 * When a failed exchange is tried again on another upstream.
 *
 * Any request is retried after a connect failure (connection refused, DNS
 * failure: no byte reached the upstream) if its body can be sent again: no
 * body, or a body of at most 64 KiB, which the proxy reads before sending.
 * Larger and chunked bodies are streamed as they arrive and are never
 * retried. Timeouts are never retried (the time budget is spent).
 */
export interface RetryOptions {
  /**
   * Most retries after the first attempt, each to an upstream not tried yet
   * for this request. Default 2; 0 = never retry.
   */
  attempts?: number;
  /**
   * Also retry idempotent requests (GET, HEAD, OPTIONS, TRACE, PUT, DELETE)
   * when the connection was reset or closed before a response arrived —
   * typically a pooled keep-alive connection the upstream had just closed.
   * Default true.
   */
  idempotent?: boolean;
}

/**
 * Which forwarding headers the proxy writes:
 * - `"x-forwarded"`: `X-Forwarded-For` (the client address appended),
 *   `X-Forwarded-Proto` and `X-Forwarded-Host`;
 * - `"forwarded"`: RFC 7239 `Forwarded: for=…;proto=…;host=…` (IPv6
 *   addresses quoted and bracketed);
 * - `"both"`: all of them;
 * - `false`: none; the request's own forwarding fields pass as they are.
 */
export type ForwardedMode = "x-forwarded" | "forwarded" | "both" | false;

/**
 * How WebSocket upgrades are forwarded; see
 * {@linkcode ProxyOptions.websocket}.
 */
export interface WebSocketProxyOptions {
  /**
   * A tunnel through which nothing passed, either way, for this long (in
   * ms) is closed: between `idleTimeoutMs` and 1.25 × that of silence, by
   * one sweep timer per proxy. On h1 any byte counts (pings and pongs the
   * two sides exchange too); on the deno transport any message, ping or
   * pong the proxy sees, and Deno also pings a client silent for this
   * long, closing its socket when no pong follows within as long again.
   * Both sides of an idle tunnel get close 1001 ("Idle timeout"), then
   * the connections are closed (on h1 a tunnel stalled inside a frame is
   * just closed). Default 60 000 (nginx's `proxy_read_timeout`); 0 = never.
   *
   * @default {60000}
   */
  idleTimeoutMs?: number;
  /**
   * Largest message relayed either way on the deno transport, in bytes;
   * a bigger one closes the tunnel (1009 to a client that sent it, 1011 to
   * one whose upstream did). Deno assembles a client's message before the
   * proxy sees it (up to its own 64 MiB cap). h1 relays frames unread, so
   * the limit does not apply there.
   *
   * @default {1048576} (1 MiB)
   */
  maxMessageBytes?: number;
  /**
   * Most bytes the deno transport's relay holds for a slow side, in bytes.
   * Towards the client, past this much unsent the proxy stops reading the
   * upstream until under half of it (backpressure). Towards the upstream
   * it cannot pause Deno's reads from the client, so past this much queued
   * the client is closed with 1008 and the upstream connection dropped.
   * h1 needs no buffer: each direction reads only after its last write
   * completed, so TCP backpressure reaches the sender.
   *
   * @default {1048576} (1 MiB)
   */
  maxBufferedBytes?: number;
}

/** Upstream connection reuse; see {@linkcode ProxyOptions.keepAlive}. */
export interface KeepAliveOptions {
  /**
   * Most idle connections kept per upstream for later requests; a
   * connection handed back beyond that is closed. Connections in use are
   * not limited (the server's `maxConnections` bounds them). 0 = a new
   * connection for every request.
   *
   * @default {256}
   */
  maxIdle?: number;
  /**
   * An idle connection unused for this long, in ms, is closed (between
   * this and 1.5 × this, by one sweep timer per proxy); one the upstream
   * closes leaves the pool at once. 0 = only the upstream closes them.
   *
   * @default {60000}
   */
  idleTimeoutMs?: number;
}

/** Options of {@linkcode proxy}. */
export interface ProxyOptions {
  /**
   * The upstream servers: base URLs, or `{ url, weight }`. At least one. Two
   * entries with the same URL are an error.
   */
  upstreams: readonly (string | UpstreamInit)[];
  /** Load-balancing strategy. Default `"round_robin"`. */
  strategy?: Strategy;
  /**
   * Active health checks: every `intervalMs`, one `GET path` per upstream;
   * `unhealthyAfter` failures in a row take it out of rotation and
   * `healthyAfter` passes bring it back. Upstreams start healthy and the
   * first round runs at once. The timer does not keep the process alive;
   * `close()` stops it. Default `false`: no active checks.
   */
  healthCheck?: HealthCheckOptions | false;
  /**
   * Passive outlier ejection; see {@linkcode OutlierOptions}. The last
   * upstream in rotation is never ejected. Default: on with the defaults of
   * `OutlierOptions`; `false` turns it off.
   */
  outlier?: OutlierOptions | false;
  /**
   * Budget of the whole upstream exchange in ms, from the first connect
   * attempt to the last byte of the response body. While the client has
   * not been sent the response head, it gets 504 (a response body of at
   * most 64 KiB is read whole before anything is sent); a response body
   * still streaming at the limit is aborted, so the client sees an
   * incomplete transfer, never a clean short one. One timer serves every
   * exchange of the proxy. There is no separate connect timeout: Deno's
   * HTTP client does not expose the connect phase. Default 30 000; 0 = none
   * (the App's `deadlineMs` still applies).
   */
  timeoutMs?: number;
  /** Retries; see {@linkcode RetryOptions}. Default `{ attempts: 2, idempotent: true }`; `false` = never. */
  retry?: RetryOptions | false;
  /**
   * Keep-alive connections to the upstreams; see
   * {@linkcode KeepAliveOptions}. `http:` upstreams are reached with the
   * proxy's own HTTP/1.1 client, whose pool this configures; `https:` ones
   * with Deno's `fetch` (HTTP/1.1 or HTTP/2 by ALPN), whose pool gets the
   * same limits. Default: the defaults of `KeepAliveOptions`.
   */
  keepAlive?: KeepAliveOptions;
  /**
   * Extra root certificates (PEM) trusted for `https:` upstreams, besides
   * the system's and Deno's: an internal CA, or a self-signed upstream.
   * Default: none.
   */
  caCerts?: readonly string[];
  /**
   * Send the client's `Host` to the upstream. Default false: `Host` is the
   * upstream URL's host.
   */
  preserveHost?: boolean;
  /**
   * Maps a request to the upstream path: returns a percent-encoded path
   * starting with `/` (optionally with a query) that replaces the upstream
   * URL's path; the client's query is appended when the result has none.
   * Default: the route's wildcard value (`ctx.params["*"]`) appended to the
   * upstream URL's path, i.e. the mount prefix stripped: with
   * `app.all("/api/*", …)` and upstream `http://u/v1`, `/api/a/b?x=1` goes
   * to `http://u/v1/a/b?x=1`. The path sent is the normalised one the App
   * routed (`//a/./b` never reaches an upstream in a form its own router
   * could read differently), re-encoded.
   */
  rewritePath?: (ctx: Context) => string;
  /**
   * Forwarding headers; see {@linkcode ForwardedMode}. Default
   * `"x-forwarded"`.
   *
   * A client's own `X-Forwarded-For` / `Forwarded` is kept, and our hop
   * appended to it, only when the App believed it: `trustProxy` is
   * configured, the connection came from a trusted proxy, and `ctx.remote`
   * was taken from that header. The hop appended is `ctx.remote`, the
   * client the App resolved (as nginx does with its realip module), so an
   * upstream that trusts only this proxy sees the same client as the App.
   * Belief is read off `ctx.remote`: an address taken from the header has
   * port 0 unless the header gave one, a socket peer never does; a chain
   * whose client entry carries a port is therefore not kept. Otherwise
   * every incoming `Forwarded`,
   * `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host` and
   * `X-Real-IP` is removed and replaced by the proxy's own view, so a
   * client cannot choose the address the upstream sees.
   */
  forwarded?: ForwardedMode;
  /**
   * WebSocket forwarding; see {@linkcode WebSocketProxyOptions}. A request
   * with `Upgrade: websocket` is forwarded as an upgrade (anything else
   * with `Upgrade` is proxied as plain HTTP, the field removed). Default:
   * the defaults of `WebSocketProxyOptions`.
   */
  websocket?: WebSocketProxyOptions;
  /**
   * Registry for the per-upstream metrics. Default: the App's registry
   * (`app.metrics`) of each request, when the App records metrics.
   */
  metrics?: Metrics;
}
