/**
 * Options of {@linkcode createClient} and their validation into settings,
 * done once when the client is created.
 *
 * @module
 */

import { bool, nonNegativeInt, positiveInt } from "../internal/validate.ts";
import { Metrics } from "../observe/metrics.ts";

/** Time source and sleep of the client; replace them in tests. */
export interface Clock {
  /** Current time in epoch ms; breaker windows, cool-downs, `Retry-After` dates. */
  now(): number;
  /**
   * Resolves after `ms`; must reject with `signal.reason` when `signal`
   * aborts first. Used for the backoff between attempts.
   */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** What {@linkcode RetryOptions.retryOn} retries. */
export interface RetryOn {
  /**
   * Response statuses that are retried. Default `[408, 429, 500, 502, 503,
   * 504]`. `[]` = no status is retried.
   */
  statuses?: readonly number[];
  /**
   * Retry network failures: {@linkcode ConnectError} and a
   * `connectTimeoutMs` {@linkcode TimeoutError}. Default true. The overall
   * `timeoutMs` is never retried: its budget is spent.
   */
  networkErrors?: boolean;
}

/**
 * Retry policy. A retry happens only when all hold: the outcome is in
 * `retryOn`; the method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE),
 * the request carries an `Idempotency-Key` header, or
 * `retryNonIdempotent` is set; the request body is replayable (none, a
 * string, `Blob`, `ArrayBuffer`/typed array, `URLSearchParams`, `FormData` —
 * never a `ReadableStream`, which the first attempt consumed); attempts are
 * left; and the wait ends before the call's deadline (`timeoutMs` or
 * `ctx.deadline`). Otherwise the last response is returned, or the last
 * error thrown.
 */
export interface RetryOptions {
  /** Total tries per call, the first included. Default 3; 1 = no retry. */
  attempts?: number;
  /**
   * Backoff base in ms. Default 100. The wait before retry `n` (0-based) is
   * `random() * min(maxDelayMs, baseDelayMs * 2 ** n)` ("full jitter").
   * 0 = retry at once.
   */
  baseDelayMs?: number;
  /** Backoff ceiling in ms. Default 2 000. */
  maxDelayMs?: number;
  /** Which outcomes are retried; see {@linkcode RetryOn}. */
  retryOn?: RetryOn;
  /** Retry POST, PATCH and other non-idempotent methods too. Default false. */
  retryNonIdempotent?: boolean;
  /**
   * A retryable response with `Retry-After` (delay-seconds or HTTP-date) is
   * retried after exactly that delay when it is at most this many ms;
   * a longer `Retry-After` ends the retries and the response is returned
   * (waiting less than asked would only be refused again). Default 10 000;
   * 0 = only `Retry-After: 0` is honoured.
   */
  retryAfterCapMs?: number;
  /** Random source in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
}

/** Circuit breaker settings; one breaker per upstream origin. */
export interface BreakerOptions {
  /**
   * Length of the rolling window outcomes are counted over, in ms. Default
   * 10 000 (counted in 10 buckets, so old outcomes leave in steps of a
   * tenth of the window).
   */
  windowMs?: number;
  /** Fewest attempts in the window before the failure rate counts. Default 20. */
  minRequests?: number;
  /**
   * Failure share in (0, 1] at which the breaker opens. Default 0.5. Open:
   * every call fails at once with {@linkcode CircuitOpenError}.
   */
  failureRate?: number;
  /** How long the breaker stays open before half-open probes, in ms. Default 5 000. */
  cooldownMs?: number;
  /**
   * Attempts let through while half-open. Default 1. All succeed → closed;
   * any fails → open again for another `cooldownMs`. Further calls while
   * the probes are out fail with {@linkcode CircuitOpenError}.
   */
  halfOpenProbes?: number;
  /**
   * Which response statuses count as failures. Default `status >= 500`.
   * Network errors and timeouts always count; calls aborted by the caller
   * never do.
   */
  isFailure?: (status: number) => boolean;
}

/** Connection pool settings, passed to `Deno.createHttpClient`. */
export interface PoolOptions {
  /** Most idle connections kept per host. Default: Deno's (no limit); 0 = keep none. */
  poolMaxIdlePerHost?: number;
  /**
   * How long an idle connection is kept, in ms; `false` = forever. Default:
   * Deno's (90 s).
   */
  poolIdleTimeout?: number | false;
  /** Allow HTTP/1.1. Default true. */
  http1?: boolean;
  /** Allow HTTP/2 (by ALPN over TLS). Default true. At least one of the two must be on. */
  http2?: boolean;
}

/** Options of {@linkcode createClient}. */
export interface ClientOptions {
  /**
   * Prefix of relative inputs: `client.get("users/1")` and
   * `client.get("/users/1")` both fetch `${baseUrl}/users/1`, keeping the
   * base path (unlike `new URL(input, base)`, so `//evil.example` stays a
   * path). Inputs with a scheme (`https://…`) and `URL` objects are used as
   * they are. An `http:` or `https:` URL without credentials. Default none:
   * relative inputs throw a `TypeError`.
   */
  baseUrl?: string | URL;
  /** Headers of every call, under the call's own headers. Default none. */
  headers?: HeadersInit;
  /**
   * Budget of the whole call in ms: every attempt, the backoff between
   * them, and reading the body through the returned Response. Default
   * 10 000; 0 = none. At the limit the call rejects, or the body reader
   * errors, with {@linkcode TimeoutError} (`phase: "total"`).
   */
  timeoutMs?: number;
  /**
   * Budget of each attempt until its response head arrives, in ms:
   * DNS, connect, TLS, sending the request and the upstream's time to
   * answer. Deno's fetch has no separate connect timeout, so this is the
   * closest honest bound. Default 0 = none (only `timeoutMs` applies). At
   * the limit the attempt fails with {@linkcode TimeoutError}
   * (`phase: "headers"`), which is retried like a network error.
   */
  connectTimeoutMs?: number;
  /**
   * Largest response body in bytes, as decoded (after gzip/br). Default
   * 10 MiB; 0 = no limit. A larger `Content-Length` on a body without
   * `Content-Encoding` fails the call at once with
   * {@linkcode ResponseTooLargeError}; otherwise the body readers (`text()`,
   * `json()`, `arrayBuffer()`, `body`) error with it as soon as one byte too
   * many arrives (so a decompression bomb stops at the limit). Declared
   * bodies up to 64 KiB are read in one piece when first read.
   */
  maxResponseBytes?: number;
  /** Retry policy; `false` = one attempt. Default: {@linkcode RetryOptions} defaults. */
  retry?: RetryOptions | false;
  /** Circuit breaker per origin. Default none (off); `{}` = on with defaults. */
  breaker?: BreakerOptions;
  /** Connection pool of this client's own `Deno.HttpClient`. Default: Deno's defaults. */
  pool?: PoolOptions;
  /** Aborts every call of this client, in flight or later, with its reason. Default none. */
  signal?: AbortSignal;
  /**
   * Registry for the client metrics (`http_client_request_duration_seconds`,
   * `palisade_client_retries_total`, `palisade_client_breaker_state`,
   * `palisade_client_breaker_rejections_total`), e.g. `app.metrics`.
   * Default none.
   */
  metrics?: Metrics;
  /**
   * Throw {@linkcode UpstreamError} (`failure: "status"`) for a final non-2xx
   * response. Default false: every response is returned.
   */
  throwOnStatus?: boolean;
  /** Clock and sleep; for tests. Default: the monotonic clock and timers. */
  clock?: Clock;
}

/** Validated retry policy. */
export interface RetrySettings {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  statuses: ReadonlySet<number>;
  networkErrors: boolean;
  retryNonIdempotent: boolean;
  retryAfterCapMs: number;
  random: () => number;
}

/** Validated breaker settings. */
export interface BreakerSettings {
  windowMs: number;
  minRequests: number;
  failureRate: number;
  cooldownMs: number;
  halfOpenProbes: number;
  isFailure: (status: number) => boolean;
}

/** Everything a client needs, validated. */
export interface Settings {
  baseUrl: URL | undefined;
  headers: Headers;
  timeoutMs: number;
  connectTimeoutMs: number;
  maxResponseBytes: number;
  retry: RetrySettings;
  breaker: BreakerSettings | undefined;
  pool: Deno.CreateHttpClientOptions;
  signal: AbortSignal | undefined;
  metrics: Metrics | undefined;
  throwOnStatus: boolean;
  clock: Clock;
}

const DEFAULT_STATUSES = [408, 429, 500, 502, 503, 504];

/** Epoch ms on the monotonic clock, as the App stamps `ctx.deadline`. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const SYSTEM_CLOCK: Clock = { now: epochNow, sleep };

/** Validates `options` into settings, throwing a `TypeError` naming the option. */
export function resolveOptions(options: ClientOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Client options must be an object, got ${options}`);
  }
  const metrics = options.metrics;
  if (metrics !== undefined && !(metrics instanceof Metrics)) {
    throw new TypeError("Option metrics must be a Metrics registry");
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("Option signal must be an AbortSignal");
  }
  return {
    baseUrl: options.baseUrl === undefined
      ? undefined
      : httpUrl(options.baseUrl, "Option baseUrl"),
    headers: headersOption(options.headers),
    timeoutMs: int(options.timeoutMs, 10_000, "timeoutMs"),
    connectTimeoutMs: int(options.connectTimeoutMs, 0, "connectTimeoutMs"),
    maxResponseBytes: int(
      options.maxResponseBytes,
      10 * 1024 * 1024,
      "maxResponseBytes",
    ),
    retry: retryOptions(options.retry),
    breaker: options.breaker === undefined
      ? undefined
      : breakerOptions(options.breaker),
    pool: poolOptions(options.pool),
    signal,
    metrics,
    throwOnStatus: flag(options.throwOnStatus, false, "throwOnStatus"),
    clock: clockOption(options.clock),
  };
}

/**
 * Parses `value` as an absolute `http:`/`https:` URL without credentials;
 * `what` starts the error message.
 */
export function httpUrl(value: string | URL, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Up to the query: the rest may hold secrets.
    const shown = String(value).split("?")[0];
    throw new TypeError(`${what} must be an absolute URL, got ${shown}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `${what} must use http: or https:, got ${url.protocol}`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError(
      `${what} must not contain credentials; send them in a header`,
    );
  }
  return url;
}

function headersOption(value: HeadersInit | undefined): Headers {
  try {
    return new Headers(value);
  } catch (e) {
    throw new TypeError(
      `Option headers is invalid: ${(e as Error).message}`,
    );
  }
}

function retryOptions(value: RetryOptions | false | undefined): RetrySettings {
  if (value === false) value = { attempts: 1 };
  if (value === undefined) value = {};
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Option retry must be an object or false, got ${value}`,
    );
  }
  const attempts = positiveInt("retry.attempts", value.attempts ?? 3);
  const retryOn = value.retryOn ?? {};
  const statuses = retryOn.statuses ?? DEFAULT_STATUSES;
  if (!Array.isArray(statuses)) {
    throw new TypeError(
      `Option retry.retryOn.statuses must be an array of status codes, got ${statuses}`,
    );
  }
  for (const s of statuses) {
    if (!Number.isInteger(s) || s < 100 || s > 599) {
      throw new TypeError(
        `Option retry.retryOn.statuses must hold status codes from 100 to 599, got ${s}`,
      );
    }
  }
  const random = value.random ?? Math.random;
  if (typeof random !== "function") {
    throw new TypeError("Option retry.random must be a function");
  }
  return {
    attempts,
    baseDelayMs: int(value.baseDelayMs, 100, "retry.baseDelayMs"),
    maxDelayMs: int(value.maxDelayMs, 2_000, "retry.maxDelayMs"),
    statuses: new Set(statuses),
    networkErrors: flag(
      retryOn.networkErrors,
      true,
      "retry.retryOn.networkErrors",
    ),
    retryNonIdempotent: flag(
      value.retryNonIdempotent,
      false,
      "retry.retryNonIdempotent",
    ),
    retryAfterCapMs: int(
      value.retryAfterCapMs,
      10_000,
      "retry.retryAfterCapMs",
    ),
    random,
  };
}

function breakerOptions(value: BreakerOptions): BreakerSettings {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`Option breaker must be an object, got ${value}`);
  }
  const positive = (v: number | undefined, d: number, name: string) =>
    positiveInt(name, v ?? d);
  const failureRate = value.failureRate ?? 0.5;
  if (
    typeof failureRate !== "number" || !(failureRate > 0 && failureRate <= 1)
  ) {
    throw new TypeError(
      `Option breaker.failureRate must be a number in (0, 1], got ${failureRate}`,
    );
  }
  const isFailure = value.isFailure ?? ((status: number) => status >= 500);
  if (typeof isFailure !== "function") {
    throw new TypeError("Option breaker.isFailure must be a function");
  }
  return {
    windowMs: positive(value.windowMs, 10_000, "breaker.windowMs"),
    minRequests: positive(value.minRequests, 20, "breaker.minRequests"),
    failureRate,
    cooldownMs: positive(value.cooldownMs, 5_000, "breaker.cooldownMs"),
    halfOpenProbes: positive(
      value.halfOpenProbes,
      1,
      "breaker.halfOpenProbes",
    ),
    isFailure,
  };
}

function poolOptions(
  value: PoolOptions | undefined,
): Deno.CreateHttpClientOptions {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`Option pool must be an object, got ${value}`);
  }
  const out: Deno.CreateHttpClientOptions = {
    http1: flag(value.http1, true, "pool.http1"),
    http2: flag(value.http2, true, "pool.http2"),
  };
  if (!out.http1 && !out.http2) {
    throw new TypeError(
      "Options pool.http1 and pool.http2 must not both be false",
    );
  }
  if (value.poolMaxIdlePerHost !== undefined) {
    out.poolMaxIdlePerHost = int(
      value.poolMaxIdlePerHost,
      0,
      "pool.poolMaxIdlePerHost",
    );
  }
  const idle = value.poolIdleTimeout;
  if (idle !== undefined) {
    out.poolIdleTimeout = idle === false
      ? false
      : int(idle, 0, "pool.poolIdleTimeout");
  }
  return out;
}

function clockOption(value: Clock | undefined): Clock {
  if (value === undefined) return SYSTEM_CLOCK;
  if (
    typeof value !== "object" || value === null ||
    typeof value.now !== "function" || typeof value.sleep !== "function"
  ) {
    throw new TypeError(
      "Option clock must have now() and sleep(ms, signal) functions",
    );
  }
  return value;
}

function int(
  value: number | undefined,
  fallback: number,
  name: string,
): number {
  return nonNegativeInt(name, value ?? fallback);
}

function flag(
  value: boolean | undefined,
  fallback: boolean,
  name: string,
): boolean {
  return bool(name, value ?? fallback);
}
