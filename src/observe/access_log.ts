/**
 * The access log: one JSON line per request, rejected ones included, written
 * to a pluggable sink. The App builds an {@linkcode AccessLogEntry} for every
 * request (only when an access log is installed) and hands it to the hook.
 *
 * @module
 */

import type { RejectReason } from "../http/limits.ts";

/** Options for {@linkcode accessLog}. */
export interface AccessLogOptions {
  /**
   * Receives each log line (a JSON object without a trailing newline). If
   * the sink throws, the error is reported once with `console.error` and
   * later lines are still offered to the sink; the response is never
   * affected.
   *
   * @default {console.log}
   */
  sink?: (line: string) => void;
}

/** Longest path written, in characters; longer paths end in `…`. */
export const MAX_LOGGED_PATH = 1024;
/** Longest user agent written, in characters; longer ones end in `…`. */
export const MAX_LOGGED_USER_AGENT = 256;

/** What the App records about one request, for the access log. */
export interface AccessLogEntry {
  /** Epoch ms at which the request started. */
  readonly time: number;
  /** The request id (`""` when ids are off). */
  readonly requestId: string;
  /** Request method (`""` when the request line could not be read). */
  readonly method: string;
  /** The request path as received, query excluded. */
  readonly path: string;
  /** The matched route pattern, `""` when none matched. */
  readonly route: string;
  /** Response status sent. */
  readonly status: number;
  /** Milliseconds from the start to the end of the response. */
  readonly durationMs: number;
  /** Request body bytes read by the App, or declared; null when unknown. */
  readonly bytesIn: number | null;
  /** Response body bytes, when known; null otherwise. */
  readonly bytesOut: number | null;
  /** The client address after trusted proxies (`""` when unknown). */
  readonly client: string;
  /** The `User-Agent` header, or null. */
  readonly userAgent: string | null;
  /** Why the request was refused, when it was. */
  readonly reason: RejectReason | null;
  /**
   * For a WebSocket, written when it closes: messages each way and the
   * close code (`durationMs` and bytes then cover the whole socket).
   */
  readonly websocket?: {
    readonly messagesIn: number;
    readonly messagesOut: number;
    readonly closeCode: number;
  };
}

/** The App option `accessLog`: receives one entry per request. */
export type AccessLogHook = (entry: AccessLogEntry) => void;

function bound(value: string | null, max: number): string | null {
  return value !== null && value.length > max
    ? value.slice(0, max) + "…"
    : value;
}

/**
 * Returns an access-log hook for the App option `accessLog` that writes one
 * JSON line per request with `time` (ISO 8601), `id`, `method`, `path`
 * (bounded to {@linkcode MAX_LOGGED_PATH}), `route`, `status`, `durationMs`
 * (rounded to microseconds), `bytesIn`, `bytesOut`, `client`, `userAgent`
 * (bounded to {@linkcode MAX_LOGGED_USER_AGENT}) and `reason`. Requests
 * refused before routing (400, 414, 431, the h1 engine's 408) get a line
 * too. Lines are JSON, so a client's CR, LF or control bytes are escaped and
 * can never start a forged line.
 *
 * @example Usage
 * ```ts
 * import { accessLog, App } from "@palisade/server";
 * const lines: string[] = [];
 * const app = new App({ accessLog: accessLog({ sink: (l) => lines.push(l) }) });
 * ```
 */
export function accessLog(options?: AccessLogOptions): AccessLogHook {
  const sink = options?.sink ?? console.log;
  let reported = false;
  return (entry) => {
    const line = JSON.stringify({
      time: new Date(entry.time).toISOString(),
      id: entry.requestId,
      method: entry.method,
      path: bound(entry.path, MAX_LOGGED_PATH),
      route: entry.route,
      status: entry.status,
      durationMs: Math.round(entry.durationMs * 1000) / 1000,
      bytesIn: entry.bytesIn,
      bytesOut: entry.bytesOut,
      client: entry.client,
      userAgent: bound(entry.userAgent, MAX_LOGGED_USER_AGENT),
      reason: entry.reason,
      ...(entry.websocket === undefined ? {} : { websocket: entry.websocket }),
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
