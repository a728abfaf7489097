/**
 * An access log: one JSON line per request, written to a pluggable sink.
 *
 * @module
 */

import { utf8Length } from "../internal/text.ts";

/** Options for {@linkcode accessLog}. */
export interface AccessLogOptions {
  /**
   * Receives each log line (a JSON object without a trailing newline).
   * Default `console.log`. If the sink throws, the error is reported once
   * with `console.error` and later lines are still offered to the sink; the
   * response is never affected.
   */
  sink?: (line: string) => void;
}

/** What the access log reads from a request context. */
export interface AccessLogContext {
  /** The request id (`ctx.requestId`). */
  readonly requestId: string;
  /** The request method. */
  readonly method: string;
  /** The matched route pattern, `""` when none matched. */
  readonly route: string;
  /** @internal The body given to `ctx.json/text/html`, for its size. */
  readonly _sent?: unknown;
  /** @internal Whether `_sent` is a value given to `ctx.json`. */
  readonly _sentJson?: boolean;
}

/** The `onResponse` hook returned by {@linkcode accessLog}. */
export type AccessLogHook = (
  ctx: AccessLogContext,
  res: Response,
  info: { durationMs: number },
) => void;

/**
 * Returns an `onResponse` hook that writes one JSON line per request with
 * `time` (ISO 8601), `id`, `method`, `route` (the pattern, never the raw
 * path, so no query strings or ids of users leak into logs), `status`,
 * `durationMs` (rounded to microseconds) and `bytes` (the response
 * `Content-Length`, or the size of the text a Context helper sent; null when
 * the length is not known up front, as for streams). Off unless installed.
 *
 * @example Usage
 * ```ts
 * import { accessLog, App } from "@palisade/server";
 * const lines: string[] = [];
 * const app = new App({ onResponse: accessLog({ sink: (l) => lines.push(l) }) });
 * ```
 */
export function accessLog(options?: AccessLogOptions): AccessLogHook {
  const sink = options?.sink ?? console.log;
  let reported = false;
  return (ctx, res, info) => {
    const length = res.headers.get("content-length");
    const sent = ctx._sent;
    const text = ctx._sentJson === true
      ? JSON.stringify(sent) // paid only when the access log is on
      : sent;
    const bytes = length !== null
      ? Number(length)
      : typeof text === "string" && res.status !== 204 && res.status !== 304
      ? utf8Length(text)
      : null;
    const line = JSON.stringify({
      time: new Date().toISOString(),
      id: ctx.requestId,
      method: ctx.method,
      route: ctx.route,
      status: res.status,
      durationMs: Math.round(info.durationMs * 1000) / 1000,
      bytes: Number.isSafeInteger(bytes) ? bytes : null,
    });
    try {
      sink(line);
    } catch (err) {
      if (!reported) {
        reported = true;
        console.error("Access log sink failed; later failures are silent", err);
      }
    }
  };
}
