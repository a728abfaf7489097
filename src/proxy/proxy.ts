/**
 * The reverse-proxy handler: picks an upstream, forwards the request with
 * its body streamed, retries where that is safe, and relays the response.
 *
 * @module
 */

import { type DeadlineList, InflightRegistry } from "../app/inflight.ts";
import type { Context, Next } from "../context/context.ts";
import { metricsOf } from "../context/internal.ts";
import { HttpError } from "../http/errors.ts";
import { stripHopByHop } from "../http/hop_by_hop.ts";
import {
  aborted,
  classify,
  failureError,
  unavailableError,
} from "./failure.ts";
import { Exchange, type ExchangeHost } from "./exchange.ts";
import { HealthChecker } from "./health.ts";
import { type Families, ProxyMetrics, statusClass } from "./metrics.ts";
import { type ProxyConfig, resolveOptions } from "./config.ts";
import type { ProxyOptions } from "./options.ts";
import { readmit, recordFailure, recordSuccess } from "./outlier.ts";
import { type OutgoingBody, outgoingBody } from "./request_body.ts";
import { requestHeaders } from "./request_headers.ts";
import { targetOf, upstreamUrl } from "./target.ts";
import { sendH1, type UpstreamRequest } from "./h1_upstream.ts";
import { WireError } from "./wire/conn.ts";
import { type FailureCause, Pool, Upstream } from "./upstreams.ts";
import { forwardUpgrade, type UpgradeHost } from "./websocket/forward.ts";
import { Tunnels } from "./websocket/tunnel.ts";
import { hasToken } from "./wire/response_head.ts";

/**
 * The handler returned by {@linkcode proxy}: mount it on a route, and call
 * `close()` when the server has stopped.
 *
 * @example Closing with the server
 * ```ts ignore
 * const api = proxy({ upstreams: ["http://127.0.0.1:3001"] });
 * app.all("/api/*", api);
 * const server = serve(app, { onShutdown: () => void api.close() });
 * ```
 */
export interface ProxyHandler {
  /** Proxies one request; a route handler. */
  (ctx: Context, next: Next): Promise<Response>;
  /**
   * Stops the health-check timer, answers new requests with 503, waits for
   * the exchanges in flight (each bounded by `timeoutMs`) and closes the
   * connection pool. Safe to call more than once.
   */
  close(): Promise<void>;
}

/** Methods whose requests may be sent twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "TRACE",
  "PUT",
  "DELETE",
]);

/**
 * Largest response body (by its Content-Length) read whole before it is
 * sent on; larger and chunked ones are relayed as a stream.
 */
const BUFFER_BYTES = 64 * 1024;

/** Statuses whose responses carry no body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** Everything one `proxy()` call owns. */
class ReverseProxy implements ExchangeHost, UpgradeHost {
  readonly timeoutMs: number;
  readonly config: ProxyConfig;
  readonly tunnels: Tunnels;
  readonly #pool: Pool;
  readonly #client: Deno.HttpClient;
  readonly #health: HealthChecker | null;
  readonly #metrics: ProxyMetrics;
  readonly #registry = new InflightRegistry();
  readonly #list: DeadlineList;
  /** Requests being handled plus response bodies still relayed. */
  #open = 0;
  #idle: (() => void) | null = null;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | null = null;

  constructor(config: ProxyConfig) {
    this.config = config;
    this.timeoutMs = config.timeoutMs;
    this.tunnels = new Tunnels(config.websocket.idleTimeoutMs);
    this.#pool = new Pool(
      config.upstreams.map((u) =>
        new Upstream(u.url, u.weight, config.keepAlive.maxIdle)
      ),
      config.strategy,
      (u) => this.#show(u),
    );
    this.#metrics = new ProxyMetrics(this.#pool, config.metrics);
    this.#list = this.#registry.list(config.timeoutMs);
    // One pooled client (keep-alive to every upstream) per proxy. allowHost
    // lets a Host header through, which preserveHost needs.
    const keep = config.keepAlive;
    this.#client = Deno.createHttpClient({
      allowHost: config.preserveHost,
      caCerts: config.caCerts,
      poolMaxIdlePerHost: keep.maxIdle,
      poolIdleTimeout: keep.idleTimeoutMs === 0 ? false : keep.idleTimeoutMs,
    });
    if (keep.idleTimeoutMs > 0 && this.#pool.list.some((u) => u.pool)) {
      // Two ticks of idleMs / 2: idle connections last 1 to 1.5 × idleMs.
      const timer = setInterval(() => {
        for (const u of this.#pool.list) u.pool?.sweep(2);
      }, Math.max(1, Math.floor(keep.idleTimeoutMs / 2)));
      Deno.unrefTimer(timer);
      this.#sweeper = timer;
    }
    this.#health = config.health === null ? null : new HealthChecker(
      this.#pool,
      config.health,
      this.#client,
      (u) => {
        if (u.health === "healthy") readmit(u);
        this.#show(u);
      },
    );
  }

  async handle(ctx: Context): Promise<Response> {
    if (this.#closing !== null) throw new HttpError(503, "The proxy is closed");
    const upgrade = ctx.header("upgrade");
    if (upgrade !== null && hasToken(upgrade, "websocket")) {
      return this.#upgrade(ctx);
    }
    // Counted before the first await, so close() waits for this request.
    this.#open++;
    let relayed = false;
    let tried: Upstream[] | null = null;
    try {
      let u = this.#pool.pick(null);
      if (u === null) throw unavailableError(this.#pool.list.length);
      const config = this.config;
      const target = targetOf(ctx, config.rewritePath);
      const fields = requestHeaders(ctx, config.forwarded);
      const host = config.preserveHost ? ctx.header("host") : null;
      const body = await outgoingBody(ctx);
      const families = this.#metrics.for(metricsOf(ctx));
      const signal = ctx.signal;
      const method = ctx.method;
      let req: UpstreamRequest | null = null;
      for (let attempt = 0;; attempt++) {
        if (signal.aborted) throw aborted(signal);
        const ex = this.begin(u, signal, families);
        let res: Response;
        try {
          if (u.pool !== null) {
            req ??= {
              method,
              fields,
              host,
              body,
              bodyLength: streamedLength(ctx, body),
              idempotent: IDEMPOTENT.has(method),
            };
            const path = upstreamUrl("", u.base, target);
            const out = await sendH1(ex, u, req, path);
            this.answered(ex, out.status);
            relayed = ex.relaying;
            return out;
          }
          res = await fetch(upstreamUrl(u.origin, u.base, target), {
            method,
            headers: host === null ? fields : [...fields, ["host", host]],
            body: body.init,
            client: this.#client,
            signal: ex.signal,
            redirect: "manual",
          });
        } catch (error) {
          if (body.error !== undefined) {
            ex.end(null);
            throw body.error; // the client's body failed (413, 400, gone)
          }
          if (!ex.timedOut && signal.aborted) {
            ex.end(null);
            throw aborted(signal);
          }
          const cause = ex.timedOut
            ? "timeout"
            : error instanceof WireError
            ? error.failure
            : classify(error);
          ex.end(cause);
          if (
            attempt < config.retries && retryable(cause, method, body, config)
          ) {
            (tried ??= []).push(u);
            const next = this.#pool.pick(tried);
            if (next !== null) {
              u = next;
              continue;
            }
          }
          throw failureError(cause, config.timeoutMs);
        }
        const out = await this.#respond(ex, res);
        relayed = ex.relaying;
        return out;
      }
    } finally {
      if (!relayed) this.#release();
    }
  }

  async #upgrade(ctx: Context): Promise<Response> {
    this.#open++;
    let relaying = false;
    try {
      const out = await forwardUpgrade(this, ctx);
      relaying = out.relaying;
      return out.response;
    } finally {
      if (!relaying) this.#release();
    }
  }

  /** UpgradeHost: how many upstreams there are. */
  get upstreamCount(): number {
    return this.#pool.list.length;
  }

  /** UpgradeHost: picks an upstream not in `tried`. */
  pick(tried: readonly Upstream[] | null): Upstream | null {
    return this.#pool.pick(tried);
  }

  /** UpgradeHost: the metric families for `ctx`. */
  families(ctx: Context): Families | undefined {
    return this.#metrics.for(metricsOf(ctx));
  }

  /** Starts a timed, counted attempt to `u`. */
  begin(
    u: Upstream,
    signal: AbortSignal,
    families: Families | undefined,
  ): Exchange {
    u.inflight++;
    const ex = new Exchange(this, u, signal, performance.now(), families);
    if (this.timeoutMs > 0) this.#registry.add(this.#list, ex);
    return ex;
  }

  /** Counts the upstream's answer `status` for `ex`. */
  answered(ex: Exchange, status: number): void {
    const u = ex.upstream;
    ex.answered = true;
    ex.families?.requests.inc(u.classLabels[statusClass(status)]);
    if (status >= 502 && status <= 504) this.#failed(u);
    else recordSuccess(u);
  }

  async #respond(ex: Exchange, res: Response): Promise<Response> {
    const status = res.status;
    this.answered(ex, status);
    const body = res.body;
    if (body === null || NULL_BODY.has(status)) {
      body?.cancel().catch(() => {});
      ex.end(null);
      return relayed(null, res);
    }
    const length = res.headers.get("content-length");
    if (
      length !== null && length.length <= 5 && Number(length) <= BUFFER_BYTES
    ) {
      // A small body is read whole (within timeoutMs): the upstream
      // connection goes back to the pool at once and the client gets one
      // write instead of a relayed stream (measured: most of the proxy's
      // cost for small responses was the stream relay).
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = await res.bytes();
      } catch (error) {
        const cause = ex.timedOut ? "timeout" : classify(error);
        ex.end(cause);
        throw failureError(cause, this.timeoutMs);
      }
      ex.end(null);
      return relayed(bytes, res);
    }
    ex.relaying = true;
    return relayed(ex.relay(body), res);
  }

  /** ExchangeHost: an attempt ended. */
  ended(ex: Exchange, cause: FailureCause | null): void {
    this.#registry.remove(ex);
    const u = ex.upstream;
    u.inflight--;
    const f = ex.families;
    if (f !== undefined) {
      f.duration.observe((performance.now() - ex.start) / 1000, u.labels);
      if (cause !== null) {
        if (!ex.answered) f.requests.inc(u.classLabels.error);
        f.failures.inc(u.causeLabels[cause]);
      }
    }
    if (cause !== null) this.#failed(u);
    if (ex.relaying) this.#release();
  }

  #failed(u: Upstream): void {
    if (recordFailure(this.#pool, u, this.config.outlier)) this.#show(u);
  }

  /** Sets the healthy gauge of `u` from its state. */
  #show(u: Upstream): void {
    const inRotation = u.health === "healthy" &&
      (u.ejectedUntil === 0 || performance.now() >= u.ejectedUntil);
    this.#metrics.showHealth(u, inRotation);
  }

  #release(): void {
    if (--this.#open === 0 && this.#idle !== null) this.#idle();
  }

  close(): Promise<void> {
    return this.#closing ??= (async () => {
      await this.#health?.close();
      if (this.#open > 0) {
        await new Promise<void>((resolve) => this.#idle = resolve);
      }
      this.tunnels.closeAll();
      clearInterval(this.#sweeper);
      for (const u of this.#pool.list) u.pool?.close();
      this.#registry.stop();
      this.#client.close();
    })();
  }
}

/** The client's response: `body`, with the status and end-to-end fields of `res`. */
function relayed(body: BodyInit | null, res: Response): Response {
  // One copy of the fields (the Response's own), then the hop-by-hop ones
  // are dropped from it: half the cost of copying into a Headers first.
  const out = new Response(body, { status: res.status, headers: res.headers });
  stripHopByHop(out.headers);
  return out;
}

/** The declared length of a streamed request body; null = send it chunked. */
function streamedLength(ctx: Context, body: OutgoingBody): number | null {
  if (!(body.init instanceof ReadableStream)) return null;
  if (ctx.header("transfer-encoding") !== null) return null;
  const length = ctx.header("content-length");
  return length === null ? null : Number(length);
}

function retryable(
  cause: FailureCause,
  method: string,
  body: OutgoingBody,
  config: ProxyConfig,
): boolean {
  if (!body.replayable) return false;
  if (cause === "connect") return true;
  return cause === "reset" && config.retryIdempotent && IDEMPOTENT.has(method);
}

/**
 * Creates a reverse-proxy handler for a route, typically a wildcard one:
 * each request goes to one of `upstreams`, chosen by `strategy` among those
 * in rotation, with hop-by-hop fields removed both ways and forwarding
 * headers set. Options are validated here, once.
 *
 * Client-visible failures are problem+json naming the cause, never an
 * upstream address: 503 when no upstream is healthy, 502 when the upstream
 * could not be reached, reset the connection or answered garbage, 504 when
 * `timeoutMs` ran out before the response was sent (after that, the transfer
 * is aborted). Bodies stream both ways with backpressure, except that
 * request and response bodies declaring at most 64 KiB are read whole first
 * (so a failed connect can be retried, and the upstream connection is freed
 * at once). Exchanges are half duplex: the App ends the request body once
 * the response has been handed to the transport, so an upstream that
 * starts answering before it has read the whole upload gets the rest of it
 * cut off. Upstreams are asked for `Accept-Encoding: identity`
 * (Deno's fetch would otherwise decode compressed bodies without saying
 * so); put `compress()` in front of the proxy to compress for clients.
 *
 * A WebSocket upgrade (`Upgrade: websocket` on a GET) is forwarded on both
 * transports: the handshake is checked as `upgradeWebSocket()` checks it
 * (400, 426), minus the `Origin` check, which is the upstream's (an
 * upstream that checks `Origin` against `Host` needs `preserveHost`, or the
 * public origin among its allowed ones); the proxy connects to the
 * upstream itself, sends the upgrade request under the same header rules,
 * and waits for the answer head within `timeoutMs` (504 after it; a connect
 * failure is retried like any request). A valid `101` (the right
 * `Sec-WebSocket-Accept`, a subprotocol the client offered) gives the
 * client a `101` with the upstream's accept value, subprotocol and fields;
 * a broken one 502; any other answer (a 403, a redirect) is relayed as it
 * is. Then the tunnel runs until either side closes, which closes the
 * other: on h1 bytes pass untouched (extensions and close codes end to
 * end), on the deno transport messages are relayed (see
 * {@linkcode ProxyOptions.websocket} for limits and the idle rule). Open
 * tunnels are closed with 1001 at graceful shutdown and by `close()`.
 * `Upgrade` values other than websocket (h2c) are removed as hop-by-hop
 * and the request is proxied as plain HTTP. Outside `serve()`
 * (`app.request()`) an upgrade gets 501.
 *
 * Call `close()` on the returned handler once the server has stopped (after
 * `await server.shutdown()`, or from `serve()`'s `onShutdown`: it waits for
 * exchanges in flight): it stops the health-check timer, closes open
 * WebSocket tunnels and closes the connection pool. The timer never keeps the process alive by itself.
 *
 * @throws {TypeError} naming the first invalid option.
 *
 * @example Load balancing with health checks
 * ```ts ignore
 * import { App, serve } from "@palisade/server";
 * import { proxy } from "@palisade/server/proxy";
 *
 * const app = new App();
 * const backend = proxy({
 *   upstreams: ["http://127.0.0.1:3001", { url: "http://127.0.0.1:3002", weight: 2 }],
 *   strategy: "least_connections",
 *   healthCheck: { path: "/healthz", intervalMs: 2_000 },
 *   timeoutMs: 10_000,
 * });
 * app.all("/backend/*", backend);
 * const server = serve(app, { port: 8000 });
 * await server.finished;
 * await backend.close();
 * ```
 */
export function proxy(options: ProxyOptions): ProxyHandler {
  const p = new ReverseProxy(resolveOptions(options));
  const handler = (ctx: Context): Promise<Response> => p.handle(ctx);
  return Object.assign(handler, { close: () => p.close() });
}
