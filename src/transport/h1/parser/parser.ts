/**
 * Incremental, strict RFC 9112 request parser for Palisade's HTTP/1.1
 * engine. It takes the bytes of a connection as they arrive, in reads of any
 * size (one byte at a time or many pipelined requests at once), and yields
 * events: a request head, body data, the end of a message.
 *
 * ## How the connection drives it
 *
 * ```ts ignore
 * const parser = new RequestParser(limits);
 * // for each read `buf` (a fresh Uint8Array, or one the caller will not
 * // overwrite while body views from it are still in use):
 * let off = 0;
 * loop: for (;;) {
 *   let ev;
 *   try {
 *     ev = parser.next(buf, off);
 *   } catch (err) {
 *     if (err instanceof ParseError) { answer(err.status); close(); }
 *     throw err;
 *   }
 *   off = parser.offset;
 *   switch (ev) {
 *     case "head": startRequest(parser.head!); break;   // bodyless: "end" follows at once
 *     case "data": pushBody(parser.data); break;        // a view of buf, not a copy
 *     case "end":  endBody(parser.trailers); break;     // next request starts at `off`
 *     case "more": break loop;                          // read again, call with off = 0
 *   }
 * }
 * // at EOF: parser.finish() throws if a message was cut short.
 * ```
 *
 * The caller may stop calling at any event (to apply backpressure, to answer
 * early, or to wait for the response before parsing a pipelined request) and
 * resume later with the same `buf` and `parser.offset`. After the `"end"` of
 * a request that switched protocols (`upgrade`, `CONNECT`), the remaining
 * bytes belong to the new protocol: stop calling `next`.
 *
 * ## Rules
 *
 * Every rejection throws a {@linkcode ParseError}: answer its `status` and
 * close the connection, because the framing of any further bytes is unknown.
 * The parser then stays failed (every later call rethrows the same error).
 * The rules are documented where they are enforced:
 * `RequestLineScanner` in `parser_request_line.ts` (request line:
 * 400/414/501/505), `HeadScanner` in `parser_scan.ts` (fields: 400/431),
 * `buildHead` in `parser_head.ts` (target forms, `Host`,
 * `Transfer-Encoding`, `Content-Length`: 400/501) and `ChunkedDecoder` in
 * `parser_chunked.ts` (chunked framing and trailers: 400/413/431).
 * Leading empty lines before a request line are skipped, at most
 * {@linkcode MAX_LEADING_EMPTY_LINES}.
 *
 * ## Memory
 *
 * A head that arrives in one read is parsed in place. Otherwise the bytes of
 * the head received so far are copied to a buffer that the limits bound
 * (about `methodBytes + urlBytes + headerBytes + 2 × headerCount + 16`
 * bytes); each byte is checked against the limits before it is buffered.
 * Body bytes are never copied or buffered: `data` is a view of the input.
 *
 * @module
 */

import { EMPTY } from "./bytes.ts";
import {
  CHUNK_DATA,
  CHUNK_END,
  ChunkedDecoder,
  type ChunkedLimits,
} from "./chunked.ts";
import { ParseError } from "./error.ts";
import { buildHead, type RequestHead } from "./head.ts";
import { HeadScanner } from "./scan.ts";

export { ParseError } from "./error.ts";
export type { ParseStatus } from "./error.ts";
export type { RequestHead } from "./head.ts";
export { MAX_LEADING_EMPTY_LINES, MAX_SEPARATOR_BYTES } from "./scan.ts";
export { MAX_CHUNK_SIZE_DIGITS } from "./chunked.ts";

/**
 * Limits of a {@linkcode RequestParser}. Pass the App's resolved `Limits`
 * (the three required fields have the same meaning there).
 */
export interface ParserLimits {
  /**
   * Longest request target in bytes (the request line's target only; the
   * method and version do not count). Beyond it the request is refused with
   * 414 (reason `url_too_long`) at the first byte over.
   */
  urlBytes: number;
  /**
   * Most bytes of header field lines, each counted without its line ending.
   * Beyond it the request is refused with 431 (reason `headers_too_large`)
   * as soon as the running count passes it. Trailers get their own budget
   * of the same size.
   */
  headerBytes: number;
  /**
   * Most header field lines. One more is refused with 431 (reason
   * `too_many_headers`) at its first byte. Trailers get their own budget.
   */
  headerCount: number;
  /**
   * Most bytes of chunk extensions (everything between a chunk size and its
   * CRLF) in one request body, counted across all its chunks. Default 4096.
   * Beyond it the request is refused with 413 (reason `body_too_large`),
   * like Node.js does for the same attack (CVE-2024-22019): extensions carry
   * no data we use, only cost.
   */
  chunkExtensionBytes?: number;
  /**
   * Longest method token in bytes. Default 32 (the longest registered
   * method, `UPDATEREDIRECTREF`, has 17). Beyond it the request is refused
   * with 501, as RFC 9112 §3 recommends for methods longer than any the
   * server implements.
   */
  methodBytes?: number;
}

/**
 * What {@linkcode RequestParser.next} found:
 * - `"head"`: `parser.head` holds a new request head.
 * - `"data"`: `parser.data` holds body bytes (never empty).
 * - `"end"`: the message is complete (`parser.trailers` holds trailers, if
 *   any); `parser.offset` is where the next request starts.
 * - `"more"`: every byte given was consumed; call again with the next read.
 */
export type ParseEvent = "head" | "data" | "end" | "more";

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNKED = 2;
const S_END = 3;
const S_FAILED = 4;

/**
 * Default of {@linkcode ParserLimits.chunkExtensionBytes}.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_CHUNK_EXTENSION_BYTES } from "./parser.ts";
 * DEFAULT_CHUNK_EXTENSION_BYTES; // 4096
 * ```
 */
export const DEFAULT_CHUNK_EXTENSION_BYTES = 4096;
/**
 * Default of {@linkcode ParserLimits.methodBytes}.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_METHOD_BYTES } from "./parser.ts";
 * DEFAULT_METHOD_BYTES; // 32
 * ```
 */
export const DEFAULT_METHOD_BYTES = 32;

/**
 * Incremental strict HTTP/1.1 request parser; one per connection, reused for
 * every request on it. See the module documentation for the calling loop and
 * the rules.
 *
 * @example Usage
 * ```ts
 * import { RequestParser } from "./parser.ts";
 * const parser = new RequestParser({ urlBytes: 8192, headerBytes: 16384, headerCount: 100 });
 * const buf = new TextEncoder().encode(
 *   "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
 * );
 * parser.next(buf, 0); // "head"
 * parser.head!.contentLength; // 2
 * parser.next(buf, parser.offset); // "data"; parser.data holds "hi"
 * parser.next(buf, parser.offset); // "end"
 * ```
 */
export class RequestParser {
  /** The head of the current (or last) request; set at `"head"`. */
  head: RequestHead | null = null;
  /** Body bytes of the last `"data"` event: a view of the input, not a copy. */
  data: Uint8Array = EMPTY;
  /** Trailer fields `[lowerName, value, ...]` at `"end"`, or null. */
  trailers: string[] | null = null;
  /** Index in the last input where the next call should resume. */
  offset = 0;

  #state = S_HEAD;
  #remaining = 0;
  #error: unknown = null;
  readonly #scanner: HeadScanner;
  readonly #chunkedLimits: ChunkedLimits;
  #chunked: ChunkedDecoder | null = null;

  /**
   * Creates a parser.
   *
   * @throws {TypeError} when a limit is not a positive safe integer.
   */
  constructor(limits: ParserLimits) {
    const urlBytes = check("urlBytes", limits.urlBytes);
    const headerBytes = check("headerBytes", limits.headerBytes);
    const headerCount = check("headerCount", limits.headerCount);
    this.#scanner = new HeadScanner({
      headerBytes,
      headerCount,
      strictCrlf: false,
      requestLine: {
        urlBytes,
        methodBytes: check(
          "methodBytes",
          limits.methodBytes ?? DEFAULT_METHOD_BYTES,
        ),
      },
    });
    this.#chunkedLimits = {
      headerBytes,
      headerCount,
      chunkExtensionBytes: check(
        "chunkExtensionBytes",
        limits.chunkExtensionBytes ?? DEFAULT_CHUNK_EXTENSION_BYTES,
      ),
    };
  }

  /**
   * True between messages when no byte of the next request has arrived
   * (leading empty lines aside): a good moment to close an idle connection,
   * and when the header timeout should not be running.
   */
  get idle(): boolean {
    return this.#state === S_HEAD && this.#scanner.idle;
  }

  /**
   * Parses from `buf[offset]` to the next event; see {@linkcode ParseEvent}.
   * After any event, `offset` is where to resume in `buf`; after `"more"` it
   * equals `buf.length` (nothing needs to be kept: the parser buffers the
   * incomplete head itself).
   *
   * @throws {ParseError} when the request breaks a rule or a limit; the
   * parser is then failed and rethrows it on every call.
   */
  next(buf: Uint8Array, offset = 0): ParseEvent {
    try {
      switch (this.#state) {
        case S_HEAD:
          return this.#head(buf, offset);
        case S_LENGTH: {
          const avail = buf.length - offset;
          if (avail <= 0) {
            this.offset = buf.length;
            return "more";
          }
          const n = avail < this.#remaining ? avail : this.#remaining;
          this.data = buf.subarray(offset, offset + n);
          this.offset = offset + n;
          if ((this.#remaining -= n) === 0) this.#state = S_END;
          return "data";
        }
        case S_CHUNKED: {
          const d = this.#chunked!;
          const r = d.next(buf, offset);
          this.offset = d.offset;
          if (r === CHUNK_DATA) {
            this.data = d.data;
            return "data";
          }
          if (r === CHUNK_END) {
            this.trailers = d.trailers();
            this.#endMessage();
            return "end";
          }
          return "more";
        }
        case S_END:
          this.offset = offset;
          this.#endMessage();
          return "end";
        default:
          throw this.#error;
      }
    } catch (err) {
      this.#state = S_FAILED;
      this.#error = err;
      throw err;
    }
  }

  /**
   * Tells the parser the connection reached EOF. Does nothing when no
   * message is in progress.
   *
   * @throws {ParseError} 400 when a head (reason `bad_request`) or a body
   * (reason `body_incomplete`) was cut short.
   */
  finish(): void {
    if (this.#state === S_HEAD && this.#scanner.idle) return;
    if (this.#state === S_END || this.#state === S_FAILED) return;
    if (this.#state === S_HEAD) {
      throw new ParseError(
        400,
        "bad_request",
        "Connection closed before the request head was complete",
      );
    }
    throw new ParseError(
      400,
      "body_incomplete",
      "Connection closed before the request body was complete",
    );
  }

  #head(buf: Uint8Array, offset: number): ParseEvent {
    const sc = this.#scanner;
    const r = sc.feed(buf, offset);
    if (r < 0) {
      this.offset = buf.length;
      return "more";
    }
    const head = buildHead(sc);
    sc.reset();
    this.head = head;
    this.trailers = null;
    this.offset = r;
    if (head.chunked) {
      const d = this.#chunked ??= new ChunkedDecoder(this.#chunkedLimits);
      d.reset();
      this.#state = S_CHUNKED;
    } else if (head.contentLength > 0) {
      this.#remaining = head.contentLength;
      this.#state = S_LENGTH;
    } else {
      this.#state = S_END;
    }
    return "head";
  }

  #endMessage(): void {
    this.#state = S_HEAD;
    this.data = EMPTY;
  }
}

function check(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(
      `Parser limit "${name}" must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}
