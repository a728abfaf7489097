/**
 * One call of the client: the per-call options, and their resolution into
 * the URL, method, headers, body and abort scope every attempt shares.
 *
 * @module
 */

import { targetOf, TimeoutError } from "./errors.ts";
import { epochNow, httpUrl, type Settings } from "./options.ts";
import { Scope } from "./scope.ts";

/**
 * The parts of a handler's Context a call uses: a Palisade `Context`
 * satisfies it. Its `signal` must abort at `deadline` with a `TimeoutError`
 * DOMException, as the Context's does: the client arms no timer of its own
 * for the deadline, so that the App's deadline answer is the one sent.
 */
export interface ClientContext {
  /** Epoch ms at which the incoming request's deadline passes; `Infinity` for none. */
  readonly deadline: number;
  /** Aborts at the deadline, when the client goes away, or on forced shutdown. */
  readonly signal: AbortSignal;
  /** The incoming request's id; sent as `x-request-id` unless empty. */
  readonly requestId: string;
}

/** Per-call options: `RequestInit` plus `json` and `ctx`. */
export interface ClientRequestInit
  extends Omit<RequestInit, "body" | "client" | "window"> {
  /** Request body. A `ReadableStream` body is never retried. */
  body?: BodyInit | null;
  /**
   * A value sent as the JSON body, with `content-type: application/json`
   * unless the headers set one. Not together with `body`.
   */
  json?: unknown;
  /**
   * The handler's Context: its deadline caps the call (the App answers 503
   * at the deadline and the call rejects with a `TimeoutError` of phase
   * `"deadline"`; see {@linkcode createClient}), `ctx.signal` cancels it
   * (rejecting with the signal's reason), and `ctx.requestId` is sent as
   * `x-request-id` unless the headers set one.
   */
  ctx?: ClientContext;
}

/** What {@linkcode Client.prototype.fetch} accepts as its input. */
export type ClientInput = string | URL | Request;

/** Everything one call carries between its attempts. */
export interface Call {
  url: URL;
  target: string;
  method: string;
  headers: Headers;
  body: BodyInit | null;
  rest: RequestInit;
  scope: Scope;
  /** The scope of the attempt in progress (`connectTimeoutMs` only). */
  attempt: Scope | undefined;
  /** Epoch ms by which the call must be over. */
  end: number;
  /** Epoch ms the call started at. */
  start: number;
  ctx: ClientContext | undefined;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/** RFC 9110 `token`: what a method may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Methods fetch refuses to send. */
const FORBIDDEN: ReadonlySet<string> = new Set(["CONNECT", "TRACE", "TRACK"]);
/** Methods fetch normalises to upper case (plus PATCH, which it does not). */
const NORMALISED = new Set([
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "POST",
  "PUT",
  "PATCH",
]);

/**
 * The error a call that failed with `e` rejects with: the abort reason of
 * `ctx.signal` at the deadline (a `TimeoutError` DOMException) becomes a
 * {@linkcode TimeoutError}, an HttpError the App does not report as
 * unhandled; anything else is `e`.
 */
export function abortError(call: Call, e: unknown): unknown {
  const ctx = call.ctx;
  if (
    ctx === undefined || e !== ctx.signal.reason ||
    !(e instanceof DOMException) || e.name !== "TimeoutError"
  ) return e;
  return new TimeoutError({
    method: call.method,
    target: call.target,
    phase: "deadline",
    timeoutMs: Math.max(0, Math.round(ctx.deadline - call.start)),
    cause: e,
  });
}

/** Whether a wait of `ms` still ends before the call's time runs out. */
export function fits(call: Call, ms: number): boolean {
  return epochNow() + ms < call.end;
}

/** Builds the call for `input` and `init`: URL, method, headers, body, scope. */
export function prepareCall(
  s: Settings,
  stop: AbortSignal,
  input: ClientInput,
  init: ClientRequestInit,
): Call {
  const req = input instanceof Request ? input : undefined;
  const url = resolveUrl(
    s.baseUrl,
    req !== undefined ? req.url : input as string | URL,
  );
  const method = methodOf(init.method ?? req?.method ?? "GET");
  const headers = new Headers(s.headers);
  if (req !== undefined) {
    for (const [k, v] of req.headers) {
      headers.set(k, v);
    }
  }
  if (init.headers !== undefined) {
    for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
  }
  let body: BodyInit | null = init.body ?? req?.body ?? null;
  if (init.json !== undefined) {
    if (init.body !== undefined && init.body !== null) {
      throw new TypeError("Pass either body or json, not both");
    }
    const text = JSON.stringify(init.json);
    if (text === undefined) {
      throw new TypeError("The json value cannot be serialised as JSON");
    }
    body = text;
    if (!headers.has("content-type")) {
      headers.set("content-type", "application/json");
    }
  }
  if (body !== null && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`A ${method} request cannot have a body`);
  }
  const ctx = init.ctx;
  if (
    ctx !== undefined && ctx.requestId !== "" && !headers.has("x-request-id")
  ) {
    headers.set("x-request-id", ctx.requestId);
  }
  const target = targetOf(url);
  const start = epochNow();
  const deadline = ctx?.deadline ?? Infinity;
  const limit = s.timeoutMs > 0 ? start + s.timeoutMs : Infinity;
  // When ctx's deadline comes first, ctx.signal (which aborts at it) ends
  // the call: a timer of ours for the same instant would race the App's
  // own deadline answer.
  const timerMs = limit < deadline ? s.timeoutMs : 0;
  const scope = new Scope(
    [stop, init.signal, req?.signal, ctx?.signal],
    timerMs,
    () =>
      new TimeoutError({
        method,
        target,
        phase: "total",
        timeoutMs: s.timeoutMs,
      }),
  );
  const {
    json: _j,
    ctx: _c,
    body: _b,
    headers: _h,
    method: _m,
    signal: _s,
    ...rest
  } = init;
  return {
    url,
    target,
    method,
    headers,
    body,
    rest: req === undefined ? rest : { redirect: req.redirect, ...rest },
    scope,
    attempt: undefined,
    end: Math.min(limit, deadline),
    start,
    ctx,
  };
}

/**
 * Validates `method` up front (fetch's TypeError would otherwise pass for a
 * network error) and upper-cases the methods fetch normalises, and PATCH.
 */
function methodOf(method: string): string {
  const upper = method.toUpperCase();
  if (!TOKEN.test(method) || FORBIDDEN.has(upper)) {
    throw new TypeError(`The method ${method} cannot be sent with fetch`);
  }
  return NORMALISED.has(upper) ? upper : method;
}

/** Resolves `input` against `base` (prefix join, see the `baseUrl` option). */
function resolveUrl(base: URL | undefined, input: string | URL): URL {
  if (input instanceof URL) return httpUrl(input, "The URL");
  if (typeof input !== "string") {
    throw new TypeError(
      `The input must be a string, URL or Request, got ${input}`,
    );
  }
  if (SCHEME.test(input)) return httpUrl(input, "The URL");
  if (base === undefined) {
    throw new TypeError(
      `The relative URL ${input.split("?")[0]} needs the baseUrl option`,
    );
  }
  let path = base.pathname;
  if (path.endsWith("/")) path = path.slice(0, -1);
  let rest = input;
  while (rest.startsWith("/")) rest = rest.slice(1);
  return httpUrl(base.origin + path + "/" + rest, "The URL");
}
