/**
 * The request lifecycle of an App: routing a request to its entry, running
 * the chain under the deadline, settling the response (request id, drain
 * marks, HEAD), watching a streamed body until its last byte, and the ends
 * of a request: complete, deadline, forced shutdown. State per request lives
 * in its {@linkcode Exchange}; state per App lives here.
 *
 * @module
 */

import { Context } from "../context/context.ts";
import type { BodyCoding } from "../body/encoding.ts";
import type { CookiesOptions } from "../context/cookies.ts";
import type { SocketClosed, TrackedSocket } from "../context/core.ts";
import { rawBody, type StreamControl } from "../context/stream.ts";
import { HttpError, problem } from "../http/errors.ts";
import type { RejectReason } from "../http/limits.ts";
import { bodyKind, hasImmutableHeaders } from "../internal/deno.ts";
import type { Metrics } from "../observe/metrics.ts";
import { normalizePath } from "../router/path.ts";
import type {
  RejectedRequest,
  RemoteAddr,
  RequestSource,
  ServeInfo,
} from "../transport/contract.ts";
import { Exchange, type ExchangeOwner } from "./exchange.ts";
import { InflightRegistry } from "./inflight.ts";
import { SocketRegistry } from "./sockets.ts";
import { exchangeEntry } from "./access_entry.ts";
import {
  earlyAnswer,
  type RefusalContext,
  refusedByTransport,
} from "./refusal.ts";
import { Observer } from "./observer.ts";
import { clientOf, type EarlyRequest, requestIdOf } from "./request_info.ts";
import type { AppSettings } from "./options.ts";
import type { Table } from "./route_table.ts";

/** Epoch ms at which `performance.now()` was 0. */
const TIME_ORIGIN = performance.timeOrigin;
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze(
  Object.create(null),
);
const RETRY_SOON = { "retry-after": "1" };

function noop(): void {}

/** Cancels the unread body of a response nobody will send. */
function dropBody(res: Response): void {
  if (bodyKind(res) === "stream") res.body!.cancel().catch(noop);
}

/** The lifecycle of every request of one App; see the module doc. */
export class Lifecycle implements ExchangeOwner {
  /** Every request whose response is not complete. */
  readonly registry: InflightRegistry = new InflightRegistry();
  /** Metrics, hooks and the access log. */
  readonly observer: Observer;
  /** Requests whose response was handed to the transport in full. */
  completed = 0;
  /** Requests cut off: deadline or forced shutdown mid-stream, client gone. */
  aborted = 0;
  /** From `drain()` on: responses carry `Connection: close`. */
  draining = false;
  readonly #settings: AppSettings;
  readonly #sockets = new SocketRegistry();

  readonly #refusals: RefusalContext;

  constructor(settings: AppSettings, metrics: Metrics) {
    this.#settings = settings;
    this.#refusals = {
      settings,
      draining: () => this.draining,
      observer: () => this.observer,
    };
    this.observer = new Observer(settings, metrics);
  }

  /** Where requests are recorded; undefined when metrics are off. */
  get metrics(): Metrics | undefined {
    return this.observer.metrics;
  }

  /** The App's signing keys for cookies. */
  get keys(): readonly string[] | undefined {
    return this.#settings.keys;
  }

  /** How request cookies are parsed. */
  get cookieOptions(): CookiesOptions | undefined {
    return this.#settings.cookies;
  }

  /** Request `Content-Encoding`s the body readers decode. */
  get requestEncodings(): readonly BodyCoding[] {
    return this.#settings.requestEncodings;
  }

  /** Sockets taken over from requests (WebSockets) still open. */
  get sockets(): number {
    return this.#sockets.size;
  }

  /** Routes and runs one request; see `App.fetch`. */
  run(
    table: Table,
    req: Request | null,
    src: RequestSource | null,
    info: ServeInfo | undefined,
    method: string,
    rawPath: string,
    query: string,
  ): Response | Promise<Response> {
    const max = this.#settings.maxInFlight;
    if (max > 0 && this.registry.size >= max) {
      this.observer.shed("max_in_flight");
      return this.early(
        "overloaded",
        503,
        `Server has the maxInFlight limit of ${max} requests in flight`,
        { req, src, info, method, path: rawPath },
        RETRY_SOON,
      );
    }
    let path: string;
    try {
      path = normalizePath(rawPath);
    } catch (e) {
      if (e instanceof HttpError) {
        return this.early("bad_path", e.status, e.message, {
          req,
          src,
          info,
          method,
          path: rawPath,
        });
      }
      throw e;
    }
    const router = table.router;
    let head = false;
    let match = router.match(method, path);
    if (match === null && method === "HEAD") {
      match = router.match("GET", path);
      head = match !== null;
    }
    const entry = match === null ? table.fallback : match.value;
    const ex = new Exchange(this, entry, req, src, info, rawPath, query);
    const ctx = new Context(
      ex,
      method,
      path,
      match === null ? NO_PARAMS : match.params,
      entry.pattern,
    );
    ex.ctx = ctx;
    ex.headViaGet = head;
    const idHeader = this.#settings.idHeader;
    if (idHeader !== false) ex.requestId = requestIdOf(idHeader, req, src);
    const list = entry.list;
    // One clock read serves the deadline and the duration metric.
    const now = performance.now();
    ex.start = now;
    if (list.ms > 0) ex.deadline = Math.round(TIME_ORIGIN + now) + list.ms;
    this.observer.started(ctx);
    let res: Response | Promise<Response>;
    try {
      res = entry.chain(ctx);
    } catch (e) {
      res = this.#render(ex, e);
    }
    if (!(res instanceof Promise)) return this.#respond(ex, res);
    this.registry.add(list, ex);
    return new Promise<Response>((resolve) => {
      ex.resolve = resolve;
      res.then(
        (r) => this.#respond(ex, r),
        (e) => this.#settle(ex, this.#render(ex, e)),
      );
    });
  }

  #settle(ex: Exchange, res: Response | Promise<Response>): void {
    if (!(res instanceof Promise)) {
      this.#respond(ex, res);
      return;
    }
    res.then(
      (r) => this.#respond(ex, r),
      (e) => this.#respond(ex, this.#fallbackError(ex, e)),
    );
  }

  /** Renders `error` with the route's `onError`, or the default rendering. */
  #render(ex: Exchange, error: unknown): Response | Promise<Response> {
    if (!(error instanceof HttpError)) this.observer.reportError(error, ex.ctx);
    const onError = ex.entry.onError;
    if (onError === undefined) return this.#defaultError(error);
    try {
      return onError(error, ex.ctx);
    } catch (e) {
      return this.#fallbackError(ex, e);
    }
  }

  /** The error renderer itself failed: report what it threw, then render. */
  #fallbackError(ex: Exchange, error: unknown): Response {
    if (!(error instanceof HttpError)) this.observer.reportError(error, ex.ctx);
    return this.#defaultError(error);
  }

  #defaultError(error: unknown): Response {
    return error instanceof HttpError ? error.toResponse() : problem(500);
  }

  /** Settles `ex` with `res` unless the deadline or a shutdown already did. */
  #respond(ex: Exchange, res: unknown): Response {
    if (ex.phase !== "handling") {
      // Answered already (deadline or forced shutdown): drop this response.
      if (res instanceof Response) dropBody(res);
      return res as Response;
    }
    let out: Response;
    if (!(res instanceof Response)) {
      this.observer.reportError(
        new TypeError(
          `Handler for ${ex.ctx.method} ${
            ex.ctx.route || ex.ctx.path
          } returned ${res === null ? "null" : typeof res}, not a Response`,
        ),
        ex.ctx,
      );
      out = problem(500);
    } else if (res.type === "error") {
      out = problem(500); // Response.error(): a network error
    } else out = res;
    ex.phase = "responded";
    const cookies = ex.cookiesIfUsed?.setCookieLines();
    const idHeader = this.#settings.idHeader;
    const append = ex.src?.appendHeader;
    if (append !== undefined) {
      // The transport writes the head: hand it the lines, leave Headers be.
      const src = ex.src!;
      if (idHeader !== false) append.call(src, idHeader, ex.requestId);
      if (cookies !== undefined) {
        for (const line of cookies) append.call(src, "set-cookie", line);
      }
    } else if (
      idHeader !== false || this.draining ||
      (cookies !== undefined && cookies.length > 0)
    ) {
      if (out.status !== 101 && hasImmutableHeaders(out)) {
        out = new Response(out.body, out); // copy once, only when needed
      }
      this.#stamp(out, ex.requestId);
      if (cookies !== undefined) {
        for (const line of cookies) out.headers.append("set-cookie", line);
      }
    }
    if (
      ex.headViaGet &&
      bodyKind(out) === (append === undefined ? "static" : "stream")
    ) {
      dropBody(out);
      out = new Response(null, out);
    }
    const stream = ex.stream;
    if (bodyKind(out) === "stream") {
      if (stream === null || out.body !== stream.body) {
        // A raw ReadableStream, or middleware that derived a new stream
        // from ctx.stream's (compression): wrap it, so its end is seen and
        // it can be cut; the stream it reads from ends with it.
        const control: StreamControl = rawBody(
          out.body!,
          (e) => this.streamEnded(ex, control, e),
        );
        ex.stream = control;
        out = new Response(control.body, out);
      } else if (stream.ended) {
        // It ended before the response was handed out: the client left.
        this.#complete(ex, out, false);
        ex.resolve?.(out);
        return out;
      }
      ex.status = out.status;
      if (ex.list === null) this.registry.add(ex.entry.list, ex);
    } else {
      if (stream !== null) {
        // HEAD, or middleware replaced the stream: nobody will read it.
        ex.stream = null;
        stream.end(undefined);
      }
      this.#complete(ex, out, true);
    }
    ex.resolve?.(out);
    return out;
  }

  /** Adds the request id and, while draining, `Connection: close`. */
  #stamp(res: Response, requestId: string): void {
    const idHeader = this.#settings.idHeader;
    if (idHeader !== false) res.headers.set(idHeader, requestId);
    if (this.draining && res.status !== 101) {
      res.headers.set("connection", "close");
    }
  }

  /**
   * Marks `ex` finished: metrics, hooks, access log, unread body, registry.
   * `ok` counts it completed (every byte handed to the transport), else
   * aborted.
   */
  #complete(ex: Exchange, res: Response | null, ok: boolean): void {
    ex.phase = "finished";
    ex.detach();
    this.registry.remove(ex);
    if (ok) this.completed++;
    else this.aborted++;
    if (res !== null) ex.status = res.status;
    this.observer.finished(ex, res);
    const body = ex.bodyIfUsed;
    if (body !== undefined) body.cancel();
    else if (ctxHasBody(ex)) {
      const stream = ex.req !== null ? ex.req.body : ex.src!.body;
      if (stream !== null && !stream.locked) stream.cancel().catch(noop);
    }
  }

  /** A body `ctx.stream` / `ctx.sse` / a raw stream delivered ended. */
  streamEnded(ex: Exchange, control: StreamControl, error?: unknown): void {
    if (control !== ex.stream || ex.phase === "finished") return;
    ex.streamBytes = control.bytes;
    if (error !== undefined) ex.abort(error);
    // Still "handling": the stream ended before the response was chosen.
    if (ex.phase === "responded") this.#complete(ex, null, error === undefined);
  }

  /** The in-flight registry's callback: `ex` passed its deadline. */
  expire(ex: Exchange): void {
    if (ex.phase === "finished") return;
    const reason = new DOMException(
      `Request exceeded its deadline of ${ex.entry.list.ms} ms`,
      "TimeoutError",
    );
    ex.abort(reason);
    this.metrics?.deadlineExceeded();
    this.reject("deadline", 503, reason.message, ex);
    if (ex.phase === "responded") {
      this.#end(ex, reason);
      return;
    }
    const res = problem(503, reason.message);
    this.#stamp(res, ex.requestId);
    this.#complete(ex, res, true);
    ex.resolve?.(res);
  }

  /** Ends the streamed body of `ex` (SSE cleanly, others cut) and completes it. */
  #end(ex: Exchange, reason: unknown): void {
    const stream = ex.stream;
    ex.stream = null;
    stream?.end(reason);
    ex.streamBytes = stream?.bytes ?? null;
    this.#complete(ex, null, stream?.kind === "sse");
  }

  /** Counts a rejection and reports it to `onReject`. */
  reject(
    reason: RejectReason,
    status: number,
    detail: string,
    ex: Exchange | null,
  ): void {
    if (ex !== null) ex.reason = reason;
    this.observer.reject(reason, status, detail, ex?.ctx ?? null);
  }

  /**
   * Answers a request refused before routing (bad path, URL or header
   * limits, overload): counted, logged, with the request id.
   */
  early(
    reason: RejectReason,
    status: number,
    detail: string,
    request: EarlyRequest,
    headers?: HeadersInit,
  ): Response {
    this.reject(reason, status, detail, null);
    return earlyAnswer(
      this.#refusals,
      reason,
      status,
      detail,
      request,
      headers,
    );
  }

  /** A rejection a transport made before any request existed; see `refusedByTransport`. */
  rejectedByTransport(
    reason: RejectReason,
    status: number,
    detail: string,
    request: RejectedRequest | undefined,
  ): string | undefined {
    this.reject(reason, status, detail, null);
    return refusedByTransport(this.#refusals, reason, status, detail, request);
  }

  remoteOf(ex: Exchange, peer: RemoteAddr): RemoteAddr {
    return clientOf(this.#settings.trust, peer, (n) => ex.header(n));
  }

  track(ex: Exchange, socket: TrackedSocket): (closed: SocketClosed) => void {
    const startedAt = Date.now();
    return this.#sockets.track(socket, (closed) => {
      if (!this.observer.logging) return;
      this.observer.log({
        ...exchangeEntry(ex, null, closed.durationMs, startedAt),
        status: 101,
        bytesIn: closed.bytesIn,
        bytesOut: closed.bytesOut,
        websocket: {
          messagesIn: closed.messagesIn,
          messagesOut: closed.messagesOut,
          closeCode: closed.code,
        },
      }, ex.ctx);
    });
  }

  /**
   * Graceful drain: later responses carry `Connection: close`, open SSE
   * streams end cleanly (their writer's signal aborts with `reason`), taken
   * over sockets start closing (WebSocket 1001). Other streams keep going.
   */
  drain(reason: unknown): void {
    this.draining = true;
    this.registry.forEach((item) => {
      const ex = item as Exchange;
      if (ex.phase === "responded" && ex.stream?.kind === "sse") {
        ex.stream.end(reason);
      }
    });
    this.#sockets.goingAway();
  }

  /** Resolves when no request is in flight and no taken-over socket is open. */
  async idle(): Promise<void> {
    await this.registry.idle();
    while (this.#sockets.size > 0) {
      await this.#sockets.idle();
      await this.registry.idle();
    }
  }

  /**
   * Forced shutdown: aborts every request in flight with `reason`, answers
   * those still waiting with 503, cuts open streams, closes taken-over
   * sockets. Returns how many requests were cut.
   */
  abortAll(reason: unknown): number {
    this.#sockets.terminate();
    let n = 0;
    this.registry.forEach((item) => {
      const ex = item as Exchange;
      if (ex.phase === "finished") return;
      n++;
      ex.abort(reason);
      if (ex.phase === "responded") {
        const stream = ex.stream;
        ex.stream = null;
        stream?.end(reason);
        ex.streamBytes = stream?.bytes ?? null;
        this.#complete(ex, null, false);
        return;
      }
      const res = problem(503, "Server is shutting down");
      this.#stamp(res, ex.requestId);
      this.#complete(ex, res, false);
      ex.resolve?.(res);
    });
    return n;
  }
}

function ctxHasBody(ex: Exchange): boolean {
  const m = ex.ctx.method;
  return m !== "GET" && m !== "HEAD";
}
