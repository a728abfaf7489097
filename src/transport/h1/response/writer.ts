/**
 * Serialises a `Response` onto an HTTP/1.1 connection: status line, the
 * Response's headers, framing (`Content-Length` when the length is known,
 * chunked otherwise, close-delimited for HTTP/1.0), no body for HEAD, 204
 * and 304, and write backpressure (a streamed body is never buffered).
 *
 * @module
 */

import { problemJson } from "../../../http/errors.ts";
import { responseHeaderPairs, takeStaticBody } from "../../../internal/deno.ts";
import { reasonPhrase } from "../../../http/status.ts";
import { latin1Encode, utf8Length } from "../../../internal/text.ts";

/** Where the writer sends bytes: resolves once every byte is written. */
export interface Sink {
  /** Writes all of `bytes`; rejects when the connection is gone. */
  write(bytes: Uint8Array): Promise<void>;
}

/** What the writer needs to know about the request being answered. */
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
   * A buffer {@linkcode serializeFixed} may encode into (from
   * {@linkcode takeBuffer}), or null to allocate.
   */
  buffer: Uint8Array | null;
}

const encoder = new TextEncoder();
const noop = (): void => {};

const STATUS_LINES: string[] = [];

/**
 * Returns the status line (with CRLF) for `status`, cached per code.
 *
 * @example Usage
 * ```ts
 * import { statusLine } from "./writer.ts";
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
 * import { dateHeader } from "./writer.ts";
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
 * import { releaseBuffer, takeBuffer } from "./writer.ts";
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
 * import { releaseBuffer, takeBuffer } from "./writer.ts";
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
function encodeMessage(
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

const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

// Scratch results of `headLines` (one response is serialised at a time).
let userLength: string | null = null;
let closeAsked = false;

/**
 * The status line and the Response's header lines, without the framing
 * lines (`content-length`, `transfer-encoding`, `connection`) that the
 * writer adds. Sets `userLength` and `closeAsked`.
 */
function headLines(res: Response, now: number): string {
  userLength = null;
  closeAsked = false;
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
  if (!hasDate) head += dateHeader(now);
  return head;
}

/**
 * Serialises `res` into one buffer when its body is known in full (no body,
 * or a string or bytes given to `new Response`), so it goes out in one
 * write; returns undefined when the body is a stream (use
 * {@linkcode writeStreamed}). Sets `info.keepAlive` to whether the
 * connection may stay open after it.
 *
 * @example Usage
 * ```ts
 * import { serializeFixed } from "./writer.ts";
 * const info = { head: false, version: 1 as const, keepAlive: true, now: Date.now(), buffer: null };
 * const bytes = serializeFixed(new Response("ok"), info)!;
 * new TextDecoder().decode(bytes).endsWith("\r\n\r\nok"); // true
 * ```
 */
export function serializeFixed(
  res: Response,
  info: WriteInfo,
): Uint8Array | undefined {
  let head = headLines(res, info.now);
  const fixed = takeStaticBody(res);
  if (fixed === undefined && res.body !== null) return undefined;
  const status = res.status;
  const keep = info.keepAlive && !closeAsked;
  info.keepAlive = keep;
  const v0 = info.version === 0;
  if (info.head || status === 204 || status === 304) {
    // HEAD and 304 may carry the length the full response would have.
    if (status !== 204) {
      if (userLength !== null) {
        head += "content-length: " + userLength + "\r\n";
      } else if (info.head && fixed !== undefined) {
        head += "content-length: " +
          (typeof fixed === "string" ? utf8Length(fixed) : fixed.length) +
          "\r\n";
      }
    }
    head += connectionLine(keep, v0) + "\r\n";
    return encodeMessage(head, null, 0, info.buffer);
  }
  if (fixed === undefined) {
    head += "content-length: 0\r\n" + connectionLine(keep, v0) + "\r\n";
    return encodeMessage(head, null, 0, info.buffer);
  }
  if (typeof fixed === "string" && fixed.length > 4096) {
    // A large string: encode it once and send the bytes.
    const bytes = encoder.encode(fixed);
    head += "content-length: " + bytes.length + "\r\n" +
      connectionLine(keep, v0) + "\r\n";
    return encodeMessage(head, bytes, bytes.length, null);
  }
  const length = typeof fixed === "string" ? utf8Length(fixed) : fixed.length;
  head += "content-length: " + length + "\r\n" + connectionLine(keep, v0) +
    "\r\n";
  return encodeMessage(head, fixed, length, info.buffer);
}

/**
 * Writes `res` to `sink` and resolves with whether the connection may stay
 * open: false when `info.keepAlive` is false, when the Response says
 * `Connection: close`, when a body is close-delimited (a stream to an
 * HTTP/1.0 client), or when a streamed body failed or did not match its
 * declared `Content-Length`. `Transfer-Encoding`, `Connection` and
 * `Keep-Alive` from the Response are replaced by the writer's own;
 * `Content-Length` is computed for known bodies and kept for streams
 * (which are then sent with that length), else streams are chunked. A
 * `date` header is added unless present. A streamed body is read one chunk
 * at a time, each written before the next is read.
 *
 * @throws whatever `sink.write` throws (the client went away); the response
 * body is cancelled first, with an `AbortError`.
 *
 * @example Usage
 * ```ts
 * import { writeResponse } from "./writer.ts";
 * const chunks: Uint8Array[] = [];
 * const sink = { write: (b: Uint8Array) => { chunks.push(b); return Promise.resolve(); } };
 * const info = { head: false, version: 1 as const, keepAlive: true, now: Date.now(), buffer: null };
 * await writeResponse(sink, new Response("ok"), info); // true
 * ```
 */
export async function writeResponse(
  sink: Sink,
  res: Response,
  info: WriteInfo,
): Promise<boolean> {
  const bytes = serializeFixed(res, info);
  if (bytes === undefined) return await writeStreamed(sink, res, info);
  await sink.write(bytes);
  return info.keepAlive;
}

/**
 * Writes a response whose body is a stream; see {@linkcode writeResponse}.
 * Call it after {@linkcode serializeFixed} returned undefined.
 *
 * @example Usage
 * ```ts ignore
 * const keep = await writeStreamed(sink, res, info);
 * ```
 */
export async function writeStreamed(
  sink: Sink,
  res: Response,
  info: WriteInfo,
): Promise<boolean> {
  let head = headLines(res, info.now);
  const status = res.status;
  let keep = info.keepAlive && !closeAsked;
  const v0 = info.version === 0;
  const body = res.body!;
  if (info.head || status === 204 || status === 304) {
    body.cancel().catch(noop);
    if (userLength !== null && status !== 204) {
      head += "content-length: " + userLength + "\r\n";
    }
    head += connectionLine(keep, v0) + "\r\n";
    await sink.write(encodeMessage(head, null, 0, null));
    return keep;
  }
  let declared = -1;
  if (userLength !== null && /^[0-9]{1,15}$/.test(userLength)) {
    declared = Number(userLength);
  }
  const chunked = declared < 0 && !v0;
  if (declared >= 0) head += "content-length: " + declared + "\r\n";
  else if (chunked) head += "transfer-encoding: chunked\r\n";
  else keep = false; // HTTP/1.0: the end of the body is the end of the connection
  head += connectionLine(keep, v0) + "\r\n";

  const reader = body.getReader();
  try {
    await sink.write(encodeMessage(head, null, 0, null));
    let sent = 0;
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch {
        return false; // the body failed: the client sees a cut-short body
      }
      if (r.done) break;
      const chunk = r.value;
      if (!(chunk instanceof Uint8Array)) {
        reader.cancel(new TypeError("Response body chunk is not a Uint8Array"))
          .catch(noop);
        return false;
      }
      const n = chunk.length;
      if (n === 0) continue;
      if (declared >= 0) {
        if (sent + n > declared) {
          // Longer than declared: send what was promised, then close.
          await sink.write(chunk.subarray(0, declared - sent));
          reader.cancel().catch(noop);
          return false;
        }
        sent += n;
        await sink.write(chunk);
      } else if (chunked) {
        await writeChunk(sink, chunk);
      } else {
        await sink.write(chunk);
      }
    }
    if (declared >= 0) return keep && sent === declared;
    if (chunked) await sink.write(LAST_CHUNK);
    return keep;
  } catch (error) {
    // The write failed: the client is gone (or too slow and cut off).
    reader.cancel(new DOMException("Client disconnected", "AbortError"))
      .catch(noop);
    throw error;
  }
}

function connectionLine(keep: boolean, v0: boolean): string {
  if (!keep) return "connection: close\r\n";
  return v0 ? "connection: keep-alive\r\n" : "";
}

async function writeChunk(sink: Sink, chunk: Uint8Array): Promise<void> {
  const prefix = chunk.length.toString(16) + "\r\n";
  if (chunk.length <= 16 * 1024) {
    const out = new Uint8Array(prefix.length + chunk.length + 2);
    encoder.encodeInto(prefix, out);
    out.set(chunk, prefix.length);
    out[out.length - 2] = 0x0d;
    out[out.length - 1] = 0x0a;
    await sink.write(out);
    return;
  }
  await sink.write(encoder.encode(prefix));
  await sink.write(chunk);
  await sink.write(CRLF);
}

/**
 * Encodes the head of a `101 Switching Protocols` response: the status line
 * and the Response's header fields as given (no framing fields).
 *
 * @example Usage
 * ```ts
 * import { upgradeHead } from "./writer.ts";
 * const res = new Response(null, { status: 101, headers: { upgrade: "websocket", connection: "Upgrade" } });
 * new TextDecoder().decode(upgradeHead(res, Date.now())).startsWith("HTTP/1.1 101 "); // true
 * ```
 */
export function upgradeHead(res: Response, now: number): Uint8Array {
  let head = statusLine(101);
  for (const [name, value] of res.headers) {
    if (name !== "content-length" && name !== "transfer-encoding") {
      head += name + ": " + value + "\r\n";
    }
  }
  head += dateHeader(now) + "\r\n";
  return encodeMessage(head, null, 0, null);
}

/**
 * Encodes a complete `application/problem+json` response with
 * `Connection: close`, for rejections made before any request exists (a
 * parse error, a header timeout).
 *
 * @example Usage
 * ```ts
 * import { problemBytes } from "./writer.ts";
 * const bytes = problemBytes(408, "Request head not received within 10000 ms");
 * new TextDecoder().decode(bytes).startsWith("HTTP/1.1 408 Request Timeout\r\n"); // true
 * ```
 */
export function problemBytes(status: number, detail: string): Uint8Array {
  const body = problemJson(status, detail);
  const head = statusLine(status) +
    "content-type: application/problem+json\r\n" +
    "content-length: " + utf8Length(body) + "\r\n" +
    "connection: close\r\n" + dateHeader(Date.now()) + "\r\n";
  return encodeMessage(head, body, utf8Length(body), null);
}
