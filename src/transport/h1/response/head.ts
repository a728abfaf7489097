/**
 * The head of an h1 response: status lines and the `date` line (both
 * cached), the Response's header lines without the framing fields the
 * writer owns, and encoding head and body into one (pooled) buffer.
 *
 * @module
 */

import { problemJson } from "../../../http/errors.ts";
import { reasonPhrase } from "../../../http/status.ts";
import { responseHeaderPairs } from "../../../internal/deno.ts";
import { latin1Encode, utf8Length } from "../../../internal/text.ts";

/** Where the writer sends bytes: resolves once every byte is written. */
export interface Sink {
  /** Writes all of `bytes`; rejects when the connection is gone. */
  write(bytes: Uint8Array): Promise<void>;
}

/**
 * What the writer needs to know about the request being answered, and what
 * it learns of the response (one per connection, reused).
 */
export interface WriteInfo {
  /** The request was HEAD: send the head only. */
  head: boolean;
  /** Minor version of the request: 0 for HTTP/1.0. */
  version: 0 | 1;
  /** The connection may stay open after this response; updated by the writer. */
  keepAlive: boolean;
  /** Current epoch ms (a coarse clock is fine), for the `date` header. */
  now: number;
  /**
   * A buffer the writer may encode into (from {@linkcode takeBuffer}), or
   * null to allocate.
   */
  buffer: Uint8Array | null;
  /**
   * Header lines the App gave the transport for this response (the request
   * id, cookies), each ending in CRLF; written after the Response's own.
   */
  extra: string;
  /** Set by {@linkcode headLines}: the Response's own `Content-Length` value. */
  declaredLength: string | null;
  /** Set by {@linkcode headLines}: the Response asked for `Connection: close`. */
  closeAsked: boolean;
}

/** A {@linkcode WriteInfo} for a connection to reuse for every response. */
export function newWriteInfo(): WriteInfo {
  return {
    head: false,
    version: 1,
    keepAlive: true,
    now: 0,
    buffer: null,
    extra: "",
    declaredLength: null,
    closeAsked: false,
  };
}

const encoder = new TextEncoder();

const STATUS_LINES: string[] = [];

/**
 * Returns the status line (with CRLF) for `status`, cached per code.
 *
 * @example Usage
 * ```ts
 * import { statusLine } from "./head.ts";
 * statusLine(404); // "HTTP/1.1 404 Not Found\r\n"
 * ```
 */
export function statusLine(status: number): string {
  let line = STATUS_LINES[status];
  if (line === undefined) {
    const reason = reasonPhrase(status);
    line = STATUS_LINES[status] = `HTTP/1.1 ${status} ${reason}\r\n`;
  }
  return line;
}

let dateSecond = -1;
let dateLine = "";

/**
 * Returns the `date` header line (with CRLF) for the epoch ms `now`,
 * formatted at most once a second.
 *
 * @example Usage
 * ```ts
 * import { dateHeader } from "./head.ts";
 * dateHeader(Date.now()); // "date: Tue, 01 Jul 2025 12:00:00 GMT\r\n"
 * ```
 */
export function dateHeader(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = "date: " + new Date(second * 1000).toUTCString() + "\r\n";
  }
  return dateLine;
}

/** Size of the pooled buffers responses are encoded into. */
export const WRITE_BUFFER_BYTES = 4096;
const pool: Uint8Array[] = [];
const POOL_MAX = 256;

/**
 * Takes a {@linkcode WRITE_BUFFER_BYTES} buffer from the shared pool (or a
 * new one). Give it back with {@linkcode releaseBuffer} once the write that
 * used it has completed. Allocating a typed array costs more than encoding
 * a small response into one, so they are reused.
 *
 * @example Usage
 * ```ts
 * import { releaseBuffer, takeBuffer } from "./head.ts";
 * const buf = takeBuffer();
 * releaseBuffer(buf);
 * ```
 */
export function takeBuffer(): Uint8Array {
  return pool.pop() ?? new Uint8Array(WRITE_BUFFER_BYTES);
}

/**
 * Returns a buffer from {@linkcode takeBuffer} to the pool.
 *
 * @example Usage
 * ```ts
 * import { releaseBuffer, takeBuffer } from "./head.ts";
 * releaseBuffer(takeBuffer());
 * ```
 */
export function releaseBuffer(buf: Uint8Array): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

/**
 * Encodes a head (ISO-8859-1: header values are byte strings) and a body of
 * `bodyLength` bytes (UTF-8 for a string) into one buffer: `buffer` when it
 * is large enough, else a new one.
 */
export function encodeMessage(
  head: string,
  body: string | Uint8Array | null,
  bodyLength: number,
  buffer: Uint8Array | null,
): Uint8Array {
  const total = head.length + bodyLength;
  const out = buffer !== null && buffer.length >= total
    ? buffer
    : new Uint8Array(total);
  if (typeof body === "string") {
    // One encode of head and body together; the count shows whether the
    // head was ASCII (the common case) or needs ISO-8859-1.
    if (encoder.encodeInto(head + body, out).written === total) {
      return out.length === total ? out : out.subarray(0, total);
    }
    out.set(latin1Encode(head));
    encoder.encodeInto(body, out.subarray(head.length));
  } else {
    if (encoder.encodeInto(head, out).written !== head.length) {
      out.set(latin1Encode(head));
    }
    if (body !== null) out.set(body, head.length);
  }
  return out.length === total ? out : out.subarray(0, total);
}

/**
 * The status line and the Response's header lines, without the framing
 * lines (`content-length`, `transfer-encoding`, `connection`) that the
 * writer adds. Records the Response's own `Content-Length` and whether it
 * asked for `Connection: close` in `info`.
 */
export function headLines(res: Response, info: WriteInfo): string {
  let userLength: string | null = null;
  let closeAsked = false;
  let head = statusLine(res.status);
  let hasDate = false;
  for (const entry of responseHeaderPairs(res)) {
    const name = entry[0];
    const value = entry[1];
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "date") hasDate = true;
        break;
      case 10: {
        const lower = name.toLowerCase();
        if (lower === "connection") {
          if (/(^|[\s,])close($|[\s,])/i.test(value)) closeAsked = true;
          continue;
        }
        if (lower === "keep-alive") continue;
        break;
      }
      case 14:
        if (name.toLowerCase() === "content-length") {
          userLength = value;
          continue;
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") continue;
        break;
    }
    head += name + ": " + value + "\r\n";
  }
  head += info.extra;
  if (!hasDate) head += dateHeader(info.now);
  info.declaredLength = userLength;
  info.closeAsked = closeAsked;
  return head;
}

/** The `connection` line for a response, or "" when none is needed. */
export function connectionLine(keep: boolean, v0: boolean): string {
  if (!keep) return "connection: close\r\n";
  return v0 ? "connection: keep-alive\r\n" : "";
}

/**
 * Encodes the head of a `101 Switching Protocols` response: the status line
 * and the Response's header fields as given (no framing fields).
 *
 * @example Usage
 * ```ts
 * import { upgradeHead } from "./head.ts";
 * const res = new Response(null, { status: 101, headers: { upgrade: "websocket", connection: "Upgrade" } });
 * new TextDecoder().decode(upgradeHead(res, Date.now())).startsWith("HTTP/1.1 101 "); // true
 * ```
 */
export function upgradeHead(
  res: Response,
  now: number,
  extra = "",
): Uint8Array {
  let head = statusLine(101);
  for (const [name, value] of res.headers) {
    if (name !== "content-length" && name !== "transfer-encoding") {
      head += name + ": " + value + "\r\n";
    }
  }
  head += extra + dateHeader(now) + "\r\n";
  return encodeMessage(head, null, 0, null);
}

/**
 * Encodes a complete `application/problem+json` response with
 * `Connection: close`, for rejections made before any request exists (a
 * parse error, a header timeout).
 *
 * @example Usage
 * ```ts
 * import { problemBytes } from "./head.ts";
 * const bytes = problemBytes(408, "Request head not received within 10000 ms");
 * new TextDecoder().decode(bytes).startsWith("HTTP/1.1 408 Request Timeout\r\n"); // true
 * ```
 */
export function problemBytes(
  status: number,
  detail: string,
  extra = "",
): Uint8Array {
  const body = problemJson(status, detail);
  const head = statusLine(status) +
    "content-type: application/problem+json\r\n" + extra +
    "content-length: " + utf8Length(body) + "\r\n" +
    "connection: close\r\n" + dateHeader(Date.now()) + "\r\n";
  return encodeMessage(head, body, utf8Length(body), null);
}
