/**
 * Typed errors of the outbound client. Each is an {@linkcode HttpError}, so a
 * handler that lets one escape answers with its status as problem+json.
 *
 * Two texts per error: `detail` goes to the downstream client in the
 * problem+json body and never names the upstream; `message` (for logs)
 * names the method and the upstream's origin and path — never the query
 * string or credentials.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";

/** What every client error knows about the call that failed. */
export interface ClientErrorOptions {
  /** Request method, e.g. `"GET"`. */
  method: string;
  /** Origin and path of the upstream URL, without query or credentials. */
  target: string;
  /** The underlying error, with URLs in its messages cut to origin and path. */
  cause?: unknown;
}

/**
 * Base class of the client's errors: an {@linkcode HttpError} carrying the
 * method and the target (origin + path) of the failed call.
 *
 * @example Usage
 * ```ts
 * import { ClientError, createClient } from "@palisade/server/client";
 * using client = createClient({ baseUrl: "http://127.0.0.1:9" });
 * try {
 *   await client.get("/status");
 * } catch (e) {
 *   if (e instanceof ClientError) console.log(e.status, e.target);
 * }
 * ```
 */
export class ClientError extends HttpError {
  /** Request method of the failed call. */
  readonly method: string;
  /** Origin and path of the upstream URL (no query string, no credentials). */
  readonly target: string;

  /**
   * Creates an error answering `status` with the public `detail`; `message`
   * is the log text.
   */
  constructor(
    status: number,
    texts: { detail: string; message: string },
    options: ClientErrorOptions & { headers?: HeadersInit },
  ) {
    super(status, texts.detail, {
      cause: options.cause,
      headers: options.headers,
    });
    this.name = "ClientError";
    this.message = texts.message;
    this.method = options.method;
    this.target = options.target;
  }
}

/** Which limit a {@linkcode TimeoutError} hit. */
export type TimeoutPhase =
  /** `connectTimeoutMs`: no response head within it (one attempt). */
  | "headers"
  /** `timeoutMs`: the whole call, retries and body included. */
  | "total"
  /** The `ctx.deadline` of the incoming request passed. */
  | "deadline";

const LIMIT_NAME: Readonly<Record<TimeoutPhase, string>> = {
  headers: "connectTimeoutMs",
  total: "timeoutMs",
  deadline: "ctx.deadline",
};

/**
 * The call ran out of time: `timeoutMs` (`phase: "total"`), an attempt got
 * no response head within `connectTimeoutMs` (`phase: "headers"`), or the
 * incoming request's `ctx.deadline` passed (`phase: "deadline"`; the App
 * has then already answered 503 itself). Renders as 504.
 *
 * @example Usage
 * ```ts
 * import { TimeoutError } from "@palisade/server/client";
 * const e = new TimeoutError({ method: "GET", target: "https://api.example/x", phase: "total", timeoutMs: 2000 });
 * e.status; // 504
 * ```
 */
export class TimeoutError extends ClientError {
  /** Which limit ran out. */
  readonly phase: TimeoutPhase;
  /** The time the call (or attempt) had, in ms. */
  readonly timeoutMs: number;

  /** Creates the error for a call to `target` that ran out of `timeoutMs`. */
  constructor(
    options: ClientErrorOptions & { phase: TimeoutPhase; timeoutMs: number },
  ) {
    super(504, {
      detail: "Upstream request timed out",
      message:
        `${options.method} ${options.target} timed out after ${options.timeoutMs} ms (${
          LIMIT_NAME[options.phase]
        })`,
    }, options);
    this.name = "TimeoutError";
    this.phase = options.phase;
    this.timeoutMs = options.timeoutMs;
  }
}

/**
 * The circuit breaker of the upstream's origin is open (or its half-open
 * probes are all taken): the call was refused without touching the network.
 * Renders as 503 with `Retry-After` set to the remaining cool-down in whole
 * seconds (at least 1).
 *
 * @example Usage
 * ```ts
 * import { CircuitOpenError } from "@palisade/server/client";
 * const e = new CircuitOpenError({ method: "GET", target: "https://api.example/x", retryAfterMs: 1500 });
 * e.toResponse().headers.get("retry-after"); // "2"
 * ```
 */
export class CircuitOpenError extends ClientError {
  /** Milliseconds until the breaker lets a probe through. */
  readonly retryAfterMs: number;

  /** Creates the error for a refused call; `retryAfterMs` is the cool-down left. */
  constructor(options: ClientErrorOptions & { retryAfterMs: number }) {
    const seconds = Math.max(1, Math.ceil(options.retryAfterMs / 1000));
    super(503, {
      detail: "Upstream is unavailable",
      message:
        `${options.method} ${options.target} refused: circuit breaker open for ${options.retryAfterMs} ms more`,
    }, { ...options, headers: { "retry-after": String(seconds) } });
    this.name = "CircuitOpenError";
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The upstream's response body is larger than `maxResponseBytes`: declared
 * by `Content-Length` (the call fails at once) or counted while the body is
 * read (the body reader fails as soon as one byte too many arrives). Renders
 * as 502.
 *
 * @example Usage
 * ```ts
 * import { ResponseTooLargeError } from "@palisade/server/client";
 * const e = new ResponseTooLargeError({ method: "GET", target: "https://api.example/x", limit: 1024 });
 * e.status; // 502
 * ```
 */
export class ResponseTooLargeError extends ClientError {
  /** The `maxResponseBytes` limit. */
  readonly limit: number;
  /** The declared `Content-Length`, when that is what was over the limit. */
  readonly declared: number | undefined;

  /** Creates the error for a response over `limit` bytes. */
  constructor(
    options: ClientErrorOptions & { limit: number; declared?: number },
  ) {
    const over = options.declared === undefined
      ? "exceeds"
      : `declares ${options.declared} bytes, over`;
    super(502, {
      detail: "Upstream response is too large",
      message:
        `${options.method} ${options.target}: response body ${over} maxResponseBytes of ${options.limit}`,
    }, options);
    this.name = "ResponseTooLargeError";
    this.limit = options.limit;
    this.declared = options.declared;
  }
}

/** Why an {@linkcode UpstreamError} was thrown. */
export type UpstreamFailure =
  /** The upstream answered a non-2xx status and `throwOnStatus` is set. */
  | "status"
  /** No response head: connection refused, reset, DNS or TLS failure ({@linkcode ConnectError}). */
  | "connect"
  /** The connection broke while the response body was being read. */
  | "body";

/**
 * The upstream failed: it answered a non-2xx status under `throwOnStatus`
 * (`failure: "status"`, `upstreamStatus` set), or the connection broke while
 * the body was read (`failure: "body"`). Renders as 502 — `status` is what
 * this server answers, `upstreamStatus` what the upstream said.
 *
 * @example Usage
 * ```ts
 * import { UpstreamError } from "@palisade/server/client";
 * const e = new UpstreamError({ method: "GET", target: "https://api.example/x", failure: "status", upstreamStatus: 500 });
 * [e.status, e.upstreamStatus]; // [502, 500]
 * ```
 */
export class UpstreamError extends ClientError {
  /** Why the call failed. */
  readonly failure: UpstreamFailure;
  /** The upstream's status code, when a response head arrived. */
  readonly upstreamStatus: number | undefined;

  /** Creates the error; `upstreamStatus` is the status the upstream answered. */
  constructor(
    options: ClientErrorOptions & {
      failure: UpstreamFailure;
      upstreamStatus?: number;
    },
  ) {
    const what = options.failure === "status"
      ? `answered ${options.upstreamStatus}`
      : options.failure === "connect"
      ? "failed before a response arrived"
      : "failed while the response body was read";
    super(502, {
      detail: options.failure === "status"
        ? `Upstream answered ${options.upstreamStatus}`
        : "Upstream connection failed",
      message: `${options.method} ${options.target} ${what}`,
    }, options);
    this.name = "UpstreamError";
    this.failure = options.failure;
    this.upstreamStatus = options.upstreamStatus;
  }
}

/**
 * No response head arrived: the connection was refused or reset, DNS or TLS
 * failed. `failure` is `"connect"`. Retried like any network error. Renders
 * as 502.
 *
 * @example Usage
 * ```ts
 * import { ConnectError } from "@palisade/server/client";
 * const e = new ConnectError({ method: "GET", target: "http://127.0.0.1:9/x" });
 * e.failure; // "connect"
 * ```
 */
export class ConnectError extends UpstreamError {
  /** Creates the error; `cause` is the (redacted) network error. */
  constructor(options: ClientErrorOptions) {
    super({ ...options, failure: "connect" });
    this.name = "ConnectError";
  }
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s()<>"']+/gi;

/**
 * Copies `error` (and up to three levels of its causes) with every URL in
 * the messages cut to origin and path, so logs of a network failure keep
 * the reason ("Connection refused") without the query string or
 * credentials Deno's messages quote.
 */
export function redactError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return error;
  const copy = new Error(redactUrls(error.message), {
    cause: depth < 3 ? redactError(error.cause, depth + 1) : undefined,
  });
  copy.name = error.name;
  return copy;
}

/** Replaces each URL in `text` by its origin and path. */
function redactUrls(text: string): string {
  return text.replace(URL_IN_TEXT, (m) => {
    try {
      const url = new URL(m);
      return url.origin === "null"
        ? `${url.protocol}[redacted]`
        : url.origin + url.pathname;
    } catch {
      return "[redacted]";
    }
  });
}

/** Origin and path of `url`: what error messages may show. */
export function targetOf(url: URL): string {
  return url.origin + url.pathname;
}
