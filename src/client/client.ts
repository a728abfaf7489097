/**
 * `createClient()`: fetch with a deadline, retries, a circuit breaker per
 * origin, a response size limit and metrics.
 *
 * @module
 */

import { methodLabel } from "../observe/conventions.ts";
import {
  type Breaker,
  Breakers,
  type Outcome,
  PASS,
  type Permit,
} from "./breaker.ts";
import {
  CircuitOpenError,
  ConnectError,
  redactError,
  ResponseTooLargeError,
  TimeoutError,
  UpstreamError,
} from "./errors.ts";
import {
  abortError,
  type Call,
  type ClientInput,
  type ClientRequestInit,
  fits,
  prepareCall,
} from "./call.ts";
import { COLLECT_MAX_BYTES, limitBody } from "./limited_body.ts";
import {
  BREAKER_STATE_VALUE,
  type ClientMetrics,
  clientMetrics,
} from "./metrics.ts";
import {
  type ClientOptions,
  resolveOptions,
  type Settings,
} from "./options.ts";
import { ClientResponse } from "./response.ts";
import { backoffMs, isReplayable, mayRepeat, retryAfterMs } from "./retry.ts";
import { Scope } from "./scope.ts";

/** What a failed attempt means. */
interface Failure {
  error: unknown;
  outcome: Outcome;
  retryable: boolean;
}

const NULL_BODY_STATUS: ReadonlySet<number> = new Set([204, 205, 304]);

/**
 * An outbound HTTP client made by {@linkcode createClient}. Owns one
 * `Deno.HttpClient` (connection pool); call {@linkcode Client.prototype.close}
 * (or `using`) when done.
 *
 * @example Usage
 * ```ts ignore
 * import { createClient } from "@palisade/server/client";
 * using api = createClient({ baseUrl: "https://api.example", timeoutMs: 2_000 });
 * const res = await api.post("/items", { json: { name: "a" } });
 * console.log(res.status, await res.json<{ id: string }>());
 * ```
 */
export class Client {
  readonly #s: Settings;
  readonly #http: Deno.HttpClient;
  /** Aborts on `close()` and when the `signal` option aborts. */
  readonly #stop = new AbortController();
  readonly #breakers: Breakers | undefined;
  readonly #metrics: ClientMetrics | undefined;
  readonly #onStop: (() => void) | undefined;
  #closed = false;

  /**
   * Validates `options` and creates the connection pool; prefer
   * {@linkcode createClient}.
   *
   * @throws {TypeError} naming the first invalid option.
   */
  constructor(options: ClientOptions = {}) {
    const s = resolveOptions(options);
    this.#s = s;
    const metrics = s.metrics === undefined
      ? undefined
      : clientMetrics(s.metrics);
    this.#metrics = metrics;
    if (s.breaker !== undefined) {
      this.#breakers = new Breakers(s.breaker, (origin, state) => {
        metrics?.breakerState.set(BREAKER_STATE_VALUE[state], {
          server_address: new URL(origin).host,
        });
      });
    }
    this.#http = Deno.createHttpClient(s.pool);
    const signal = s.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.#stop.abort(signal.reason);
      else {
        const onStop = () => this.#stop.abort(signal.reason);
        signal.addEventListener("abort", onStop);
        this.#onStop = onStop;
      }
    }
  }

  /**
   * Sends a request like the global `fetch`, with this client's base URL,
   * headers, deadline, retries, breaker and size limit. Resolves with the
   * final response (any status, unless `throwOnStatus`), whose body readers
   * enforce `maxResponseBytes` and `timeoutMs`.
   *
   * @throws {TimeoutError} when `timeoutMs`, `connectTimeoutMs` or
   * `ctx.deadline` runs out.
   * @throws {ConnectError} when no response head arrived (after retries).
   * @throws {CircuitOpenError} when the origin's breaker refuses the call.
   * @throws {ResponseTooLargeError} when `Content-Length` is over the limit.
   * @throws {UpstreamError} for a non-2xx status under `throwOnStatus`.
   * @throws the abort reason when `init.signal`, `ctx.signal` or the
   * client's `signal` aborts, or the client is closed.
   * @throws {TypeError} for an invalid URL, method, header or body.
   *
   * @example Usage
   * ```ts ignore
   * import { createClient } from "@palisade/server/client";
   * using client = createClient();
   * const res = await client.fetch("https://example.com/", { method: "HEAD" });
   * ```
   */
  async fetch(
    input: ClientInput,
    init: ClientRequestInit = {},
  ): Promise<ClientResponse> {
    const stop = this.#stop.signal;
    if (stop.aborted) throw stop.reason;
    const call = prepareCall(this.#s, stop, input, init);
    let res: Response;
    try {
      res = await this.#send(call);
    } catch (e) {
      this.#done(call);
      throw abortError(call, e);
    }
    return this.#finish(res, call);
  }

  /**
   * `fetch` with method GET.
   *
   * @example Usage
   * ```ts ignore
   * import { createClient } from "@palisade/server/client";
   * using client = createClient({ baseUrl: "https://api.example" });
   * const user = await (await client.get("/users/1")).json<{ id: string }>();
   * ```
   */
  get(input: ClientInput, init?: ClientRequestInit): Promise<ClientResponse> {
    return this.fetch(input, { ...init, method: "GET" });
  }

  /**
   * `fetch` with method POST; not retried unless `retryNonIdempotent` or an
   * `Idempotency-Key` header.
   *
   * @example Usage
   * ```ts ignore
   * import { createClient } from "@palisade/server/client";
   * using client = createClient({ baseUrl: "https://api.example" });
   * await client.post("/items", { json: { name: "a" } });
   * ```
   */
  post(input: ClientInput, init?: ClientRequestInit): Promise<ClientResponse> {
    return this.fetch(input, { ...init, method: "POST" });
  }

  /**
   * `fetch` with method PUT.
   *
   * @example Usage
   * ```ts ignore
   * import { createClient } from "@palisade/server/client";
   * using client = createClient({ baseUrl: "https://api.example" });
   * await client.put("/items/1", { json: { name: "b" } });
   * ```
   */
  put(input: ClientInput, init?: ClientRequestInit): Promise<ClientResponse> {
    return this.fetch(input, { ...init, method: "PUT" });
  }

  /**
   * `fetch` with method PATCH; not retried unless `retryNonIdempotent` or an
   * `Idempotency-Key` header.
   *
   * @example Usage
   * ```ts ignore
   * import { createClient } from "@palisade/server/client";
   * using client = createClient({ baseUrl: "https://api.example" });
   * await client.patch("/items/1", { json: { name: "c" } });
   * ```
   */
  patch(input: ClientInput, init?: ClientRequestInit): Promise<ClientResponse> {
    return this.fetch(input, { ...init, method: "PATCH" });
  }

  /**
   * `fetch` with method DELETE.
   *
   * @example Usage
   * ```ts ignore
   * import { createClient } from "@palisade/server/client";
   * using client = createClient({ baseUrl: "https://api.example" });
   * await client.delete("/items/1");
   * ```
   */
  delete(
    input: ClientInput,
    init?: ClientRequestInit,
  ): Promise<ClientResponse> {
    return this.fetch(input, { ...init, method: "DELETE" });
  }

  /**
   * Aborts every call in flight (their reason: an `AbortError`), refuses
   * later ones and closes the connection pool. Idempotent.
   *
   * @example Usage
   * ```ts
   * import { createClient } from "@palisade/server/client";
   * const client = createClient();
   * client.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#onStop !== undefined) {
      this.#s.signal!.removeEventListener("abort", this.#onStop);
    }
    this.#stop.abort(new DOMException("The client was closed", "AbortError"));
    this.#http.close();
  }

  /** Same as {@linkcode Client.prototype.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Runs the attempts of `call`; resolves with the response to return. */
  async #send(call: Call): Promise<Response> {
    const s = this.#s;
    const retry = s.retry;
    const repeatable = retry.attempts > 1 &&
      mayRepeat(call.method, call.headers, retry) && isReplayable(call.body);
    const breaker = this.#breakers?.of(call.url.origin);
    for (let n = 0;; n++) {
      const last = !repeatable || n + 1 >= retry.attempts;
      const permit: Permit = breaker === undefined
        ? PASS
        : this.#admit(breaker, call);
      const started = performance.now();
      let res: Response;
      try {
        res = await this.#attempt(call);
      } catch (e) {
        const failure = this.#classify(e, call);
        breaker?.settle(permit, failure.outcome, s.clock.now());
        this.#observe(call, started, "");
        const ms = backoffMs(n, retry);
        if (last || !failure.retryable || !fits(call, ms)) throw failure.error;
        await this.#sleep(call, ms);
        continue;
      }
      this.#observe(call, started, String(res.status));
      breaker?.settle(
        permit,
        s.breaker!.isFailure(res.status) ? "failure" : "success",
        s.clock.now(),
      );
      if (last || !retry.statuses.has(res.status)) return res;
      const after = retryAfterMs(res.headers.get("retry-after"), s.clock.now());
      const ms = after ?? backoffMs(n, retry);
      if (after !== undefined && after > retry.retryAfterCapMs) return res;
      if (!fits(call, ms)) return res;
      await res.body?.cancel();
      await this.#sleep(call, ms);
    }
  }

  /** Counts a retry and waits `ms` before it (rejects when the call aborts). */
  #sleep(call: Call, ms: number): Promise<void> {
    this.#metrics?.retries.inc({ server_address: call.url.host });
    return this.#s.clock.sleep(ms, call.scope.signal);
  }

  #admit(breaker: Breaker, call: Call): Permit {
    const now = this.#s.clock.now();
    const permit = breaker.acquire(now);
    if (permit !== null) return permit;
    this.#metrics?.breakerRejections.inc({ server_address: call.url.host });
    throw new CircuitOpenError({
      method: call.method,
      target: call.target,
      retryAfterMs: breaker.retryAfterMs(now),
    });
  }

  /** One attempt: fetch until the response head. */
  async #attempt(call: Call): Promise<Response> {
    const s = this.#s;
    call.attempt?.dispose();
    let signal = call.scope.signal;
    if (s.connectTimeoutMs > 0) {
      call.attempt = new Scope(
        [signal],
        s.connectTimeoutMs,
        () =>
          new TimeoutError({
            method: call.method,
            target: call.target,
            phase: "headers",
            timeoutMs: s.connectTimeoutMs,
          }),
      );
      signal = call.attempt.signal;
    }
    try {
      return await fetch(call.url, {
        ...call.rest,
        method: call.method,
        headers: call.headers,
        body: call.body,
        signal,
        client: this.#http,
      });
    } finally {
      call.attempt?.clearTimer();
    }
  }

  /** What a rejected attempt means for the breaker, the retry and the caller. */
  #classify(e: unknown, call: Call): Failure {
    const scope = call.scope.signal;
    if (scope.aborted) {
      const reason = scope.reason;
      // Our own total timeout is the upstream's fault; any other abort is the caller's.
      const ours = reason instanceof TimeoutError && reason.phase === "total";
      return {
        error: reason,
        outcome: ours ? "failure" : "ignored",
        retryable: false,
      };
    }
    const network = this.#s.retry.networkErrors;
    const attempt = call.attempt?.signal;
    if (attempt?.aborted) {
      return { error: attempt.reason, outcome: "failure", retryable: network };
    }
    return {
      error: new ConnectError({
        method: call.method,
        target: call.target,
        cause: redactError(e),
      }),
      outcome: "failure",
      retryable: network,
    };
  }

  #observe(call: Call, started: number, status: string): void {
    this.#metrics?.duration.observe((performance.now() - started) / 1000, {
      http_request_method: methodLabel(call.method),
      server_address: call.url.host,
      http_response_status_code: status,
    });
  }

  /** Checks the final response and hands it out over the limited body. */
  #finish(res: Response, call: Call): ClientResponse {
    const { method, target } = call;
    const max = this.#s.maxResponseBytes;
    const source = res.body;
    if (source === null || NULL_BODY_STATUS.has(res.status)) {
      source?.cancel().catch(() => {});
      this.#done(call);
      if (this.#s.throwOnStatus && !res.ok) throw this.#statusError(res, call);
      return new ClientResponse(null, res);
    }
    // A Content-Length of an encoded body counts encoded bytes: only the
    // decoded ones are limited then.
    const length = res.headers.has("content-encoding")
      ? null
      : res.headers.get("content-length");
    const declared = length === null ? NaN : Number(length);
    let error: Error | undefined;
    if (this.#s.throwOnStatus && !res.ok) error = this.#statusError(res, call);
    else if (max > 0 && declared > max) {
      error = new ResponseTooLargeError({
        method,
        target,
        limit: max,
        declared,
      });
    }
    if (error !== undefined) {
      source.cancel().catch(() => {});
      this.#done(call);
      throw error;
    }
    const scope = call.scope.signal;
    const body = limitBody(res, {
      max,
      collect: declared <= COLLECT_MAX_BYTES,
      tooLarge: () => new ResponseTooLargeError({ method, target, limit: max }),
      mapError: (e) =>
        scope.aborted ? abortError(call, scope.reason) : new UpstreamError({
          method,
          target,
          failure: "body",
          upstreamStatus: res.status,
          cause: redactError(e),
        }),
      onEnd: () => this.#done(call),
    });
    return new ClientResponse(body, res);
  }

  #statusError(res: Response, call: Call): UpstreamError {
    return new UpstreamError({
      method: call.method,
      target: call.target,
      failure: "status",
      upstreamStatus: res.status,
    });
  }

  #done(call: Call): void {
    call.attempt?.dispose();
    call.scope.dispose();
  }
}

/**
 * Creates an outbound HTTP client: `fetch` plus `get/post/put/patch/delete`
 * with JSON helpers, over its own connection pool.
 *
 * - Every call is bounded by `timeoutMs` (the whole exchange, body reading
 *   included) and `maxResponseBytes`, may be retried with full-jitter
 *   backoff (idempotent methods, replayable bodies, `Retry-After` up to a
 *   cap), and may pass a circuit breaker per origin.
 * - Inside a handler pass `{ ctx }`: the call follows `ctx.signal`, is cut
 *   at `ctx.deadline`, and forwards `ctx.requestId` as `x-request-id`.
 *   When the deadline comes first, the App answers the incoming request
 *   with its own deadline 503 (it is the request's budget that ran out),
 *   and the call rejects with {@linkcode TimeoutError} `phase: "deadline"`
 *   — an HttpError, so the App, having answered already, drops it without
 *   reporting it as unhandled. When `timeoutMs` comes first, the call
 *   rejects with {@linkcode TimeoutError} `phase: "total"`, which answers
 *   504 if the handler lets it escape.
 * - Errors are {@linkcode HttpError}s: letting one escape a handler answers
 *   502, 503 or 504 as problem+json, without naming the upstream.
 *
 * @throws {TypeError} naming the first invalid option and its value.
 *
 * @example Usage
 * ```ts ignore
 * import { App } from "@palisade/server";
 * import { createClient } from "@palisade/server/client";
 * const app = new App({ deadlineMs: 5_000 });
 * const users = createClient({
 *   baseUrl: "https://users.internal",
 *   timeoutMs: 2_000,
 *   retry: { attempts: 3 },
 *   breaker: { failureRate: 0.5, cooldownMs: 10_000 },
 *   metrics: app.metrics,
 * });
 * app.get("/me/:id", async (ctx) => {
 *   const res = await users.get(`/users/${encodeURIComponent(ctx.params.id)}`, { ctx });
 *   return ctx.json(await res.json());
 * });
 * ```
 */
export function createClient(options: ClientOptions = {}): Client {
  return new Client(options);
}
