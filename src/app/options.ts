/**
 * Options of an App and of its routes, validated once by
 * {@linkcode resolveAppOptions}.
 *
 * @module
 */

import type { BodyCoding } from "../body/encoding.ts";
import type { Context } from "../context/context.ts";
import { Cookies, type CookiesOptions } from "../context/cookies.ts";
import {
  DEFAULT_LIMITS,
  type Limits,
  type RejectReason,
  resolveLimits,
} from "../http/limits.ts";
import type { AccessLogHook } from "../observe/access_log.ts";
import type { TrustProxyOptions } from "../net/client_addr.ts";
import { nonNegativeInt } from "../internal/validate.ts";

/** Per-route settings, given between the path and the handlers. */
export interface RouteOptions {
  /**
   * Limits for this route, merged over the App's. Only the body, JSON, form
   * and query limits apply per route: the URL and header limits are checked
   * before routing, with the App's values.
   *
   * @default {the App's limits}
   */
  limits?: Partial<Limits>;
  /** Deadline of this route in ms; 0 = none. @default {the App's deadlineMs} */
  deadlineMs?: number;
}

/** What the `onReject` hook receives. */
export interface RejectInfo {
  /** Machine-readable reason, also the `reason` label of `palisade_rejections_total`. */
  reason: RejectReason;
  /** Status sent to the client. */
  status: number;
  /** The message sent to the client. */
  detail: string;
  /** The request's Context, or null when rejected before routing. */
  ctx: Context | null;
}

/** Observability hooks of an App; each costs nothing when unset. */
export interface AppHooks {
  /**
   * Called when a request has been routed, before the middleware chain
   * runs. A hook that throws is reported through `onError` and ignored.
   */
  onRequest?: (ctx: Context) => void;
  /** Called when a response is complete (streamed bodies: when they end). */
  onResponse?: (
    ctx: Context,
    res: Response,
    info: { durationMs: number },
  ) => void;
  /**
   * Called with every error that rendered as a 500 (also when `app.onError`
   * renders it), and with errors thrown by the other hooks.
   *
   * @default {console.error}
   */
  onError?: (error: unknown, ctx: Context | null) => void;
  /** Called for every limit, protocol and deadline rejection. */
  onReject?: (info: RejectInfo) => void;
}

/** Options of an App. */
export interface AppOptions extends AppHooks {
  /** Request limits; see {@linkcode Limits} for each default and its status. */
  limits?: Partial<Limits>;
  /**
   * Deadline of every request in ms; 0 = none. At the deadline `ctx.signal`
   * aborts with a `TimeoutError`, a client still waiting gets 503, and a
   * started stream is cut (an SSE stream ends cleanly).
   *
   * @default {30000}
   */
  deadlineMs?: number;
  /**
   * Header carrying the request id: a valid incoming value (1–200 printable
   * ASCII characters) is kept, otherwise one is generated; it is echoed on
   * every response. `false` turns ids off.
   *
   * @default {"x-request-id"}
   */
  requestIdHeader?: string | false;
  /**
   * Trust `Forwarded` / `X-Forwarded-For` from these proxy addresses for
   * `ctx.remote`.
   *
   * @default {trust nobody: the socket peer is the client}
   */
  trustProxy?: TrustProxyOptions;
  /** Record Prometheus metrics in `app.metrics`. @default {true} */
  metrics?: boolean;
  /**
   * Writes one entry per request, rejected ones included (see
   * `accessLog()`). Off when unset.
   *
   * @default {undefined}
   */
  accessLog?: AccessLogHook;
  /**
   * Most requests in flight (handled, or streaming their response) before
   * routing; one more is answered 503 with `Retry-After: 1` at once (reason
   * `overloaded`, counted in `palisade_shed_total{reason="max_in_flight"}`),
   * before it costs routing or a handler. 0 = unlimited. For a per-route
   * cap with a queue, use the `concurrencyLimit()` middleware.
   *
   * @default {0}
   */
  maxInFlight?: number;
  /**
   * Only under `deno serve` (`export default app`): how long in-flight
   * requests and open streams get after SIGTERM or SIGINT before they are
   * cut, in ms. The App drains the way `serve()` does: SSE streams end
   * cleanly and WebSockets close with 1001 at once. Under `serve()` its
   * `shutdown.graceMs` applies instead.
   *
   * @default {10000}
   */
  graceMs?: number;
  /**
   * Secrets for signed cookies: the first signs, every one verifies, so a
   * new key can be put first while older ones still verify. Each must be a
   * non-empty string.
   *
   * @default {undefined: signed cookies throw}
   */
  keys?: readonly string[];
  /**
   * How `ctx.cookies` reads the request `Cookie` header: at most
   * `maxCookies` cookies of at most `maxCookieBytes` each (others are
   * ignored), percent-decoded when `decode` is set.
   *
   * @default {{ maxCookies: 100, maxCookieBytes: 4096, decode: false }}
   */
  cookies?: CookiesOptions;
  /**
   * Request `Content-Encoding`s the body readers decode (`"gzip"`,
   * `"deflate"`). The decoded bytes count against `bodyBytes`, so a gzip
   * bomb is a 413 after at most `bodyBytes` decoded. A body sent with any
   * other coding is answered 415 with `Accept-Encoding`; corrupt data is
   * 400. `[]` decodes none: every encoded body is 415.
   *
   * @default {[]}
   */
  requestEncodings?: readonly BodyCoding[];
}

/** The resolved, validated settings of an App. */
export interface AppSettings {
  readonly limits: Readonly<Limits>;
  readonly limitsOverride: Partial<Limits> | undefined;
  readonly deadlineMs: number;
  readonly deadlineExplicit: boolean;
  readonly idHeader: string | false;
  readonly trust: TrustProxyOptions | undefined;
  readonly record: boolean;
  readonly hooks: Readonly<AppHooks>;
  readonly accessLog: AccessLogHook | undefined;
  readonly keys: readonly string[] | undefined;
  readonly cookies: CookiesOptions | undefined;
  readonly requestEncodings: readonly BodyCoding[];
  readonly graceMs: number;
  readonly maxInFlight: number;
}

/** Validates `options` once; throws a `TypeError` naming a bad option. */
export function resolveAppOptions(options: AppOptions): AppSettings {
  const keys = options.keys;
  if (keys !== undefined) {
    if (
      !Array.isArray(keys) || keys.length === 0 ||
      keys.some((k) => typeof k !== "string" || k.length === 0)
    ) {
      throw new TypeError(
        "Option keys must be a non-empty list of non-empty strings",
      );
    }
  }
  const idHeader = options.requestIdHeader;
  if (idHeader !== undefined && idHeader !== false) {
    if (
      typeof idHeader !== "string" ||
      !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(idHeader)
    ) {
      throw new TypeError(
        `Option requestIdHeader must be a header name or false, got ${
          String(idHeader)
        }`,
      );
    }
  }
  if (options.cookies !== undefined) {
    new Cookies(null, undefined, options.cookies); // validates
  }
  return {
    limits: resolveLimits(DEFAULT_LIMITS, options.limits),
    limitsOverride: options.limits,
    deadlineMs: nonNegativeInt("deadlineMs", options.deadlineMs ?? 30_000),
    deadlineExplicit: options.deadlineMs !== undefined,
    idHeader: idHeader === undefined
      ? "x-request-id"
      : idHeader && idHeader.toLowerCase(),
    trust: options.trustProxy,
    record: options.metrics !== false,
    hooks: {
      onRequest: options.onRequest,
      onResponse: options.onResponse,
      onError: options.onError,
      onReject: options.onReject,
    },
    accessLog: options.accessLog,
    keys: keys === undefined ? undefined : Object.freeze([...keys]),
    graceMs: nonNegativeInt("graceMs", options.graceMs ?? 10_000),
    maxInFlight: nonNegativeInt("maxInFlight", options.maxInFlight ?? 0),
    cookies: options.cookies,
    requestEncodings: encodings(options.requestEncodings),
  };
}

function encodings(
  value: readonly BodyCoding[] | undefined,
): readonly BodyCoding[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    value.some((c) => c !== "gzip" && c !== "deflate")
  ) {
    throw new TypeError(
      `Option requestEncodings must be a list of "gzip" and "deflate", got ${
        JSON.stringify(value)
      }`,
    );
  }
  return Object.freeze([...value]);
}
