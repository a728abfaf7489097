/**
 * Incremental decoder of the chunked transfer coding (RFC 9112 §7.1).
 *
 * @module
 */

import { CR, EMPTY, HEX, HTAB, LF, SP, TCHAR } from "./bytes.ts";
import { badRequest, ParseError } from "./error.ts";
import { HeadScanner } from "./scan.ts";

const C_SIZE = 0;
const C_EXT = 1;
const C_SIZE_LF = 2;
const C_DATA = 3;
const C_DATA_CR = 4;
const C_DATA_LF = 5;
const C_TRAILERS = 6;
const C_DONE = 7;

// chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
const E_BEFORE_SEMI = 0; // BWS before ";" (after size, value or quote)
const E_AFTER_SEMI = 1; // BWS after ";", a name must follow
const E_NAME = 2;
const E_AFTER_NAME = 3; // BWS after a name: "=" or ";"
const E_AFTER_EQ = 4; // BWS after "=", a value must follow
const E_TOKEN = 5;
const E_QUOTED = 6;
const E_QUOTED_PAIR = 7;
const E_AFTER_QUOTE = 8;

const SEMI = 0x3b;
const EQ = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Most hex digits in a chunk size, leading zeros included; more → 400.
 *
 * @example Usage
 * ```ts
 * import { MAX_CHUNK_SIZE_DIGITS } from "./chunked.ts";
 * MAX_CHUNK_SIZE_DIGITS; // 16
 * ```
 */
export const MAX_CHUNK_SIZE_DIGITS = 16;

/** Result of {@linkcode ChunkedDecoder.next}: every byte was consumed. */
export const CHUNK_MORE = 0;
/** Result of {@linkcode ChunkedDecoder.next}: `data` holds body bytes. */
export const CHUNK_DATA = 1;
/** Result of {@linkcode ChunkedDecoder.next}: the body and trailers ended. */
export const CHUNK_END = 2;

/** Limits of {@linkcode ChunkedDecoder}. */
export interface ChunkedLimits {
  /** Most bytes of trailer field lines (431 beyond). */
  headerBytes: number;
  /** Most trailer field lines (431 beyond). */
  headerCount: number;
  /** Most bytes of chunk extensions in one body (413 beyond). */
  chunkExtensionBytes: number;
}

/**
 * Decodes a chunked body: sizes are 1 to 16 hex digits of at most
 * `Number.MAX_SAFE_INTEGER` (else 400); extensions must follow the RFC 9112
 * grammar (else 400) and total at most `chunkExtensionBytes` per body (else
 * 413); every framing line ends with CRLF, never a bare LF, and chunk data is
 * followed by CRLF (else 400); trailers are field lines held to the header
 * limits (431) and returned, never merged into the head.
 *
 * @example Usage
 * ```ts
 * import { CHUNK_DATA, ChunkedDecoder } from "./chunked.ts";
 * const d = new ChunkedDecoder({ headerBytes: 1024, headerCount: 10, chunkExtensionBytes: 4096 });
 * const buf = new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\n");
 * d.next(buf, 0) === CHUNK_DATA; // true; d.data holds "abc"
 * ```
 */
export class ChunkedDecoder {
  /** Body bytes of the last {@linkcode CHUNK_DATA}: a view of the input. */
  data: Uint8Array = EMPTY;
  /** Where the next call should resume in the input. */
  offset = 0;
  #state = C_SIZE;
  #ext = E_BEFORE_SEMI;
  #size = 0;
  #digits = 0;
  #extBytes = 0;
  readonly #extLimit: number;
  readonly #trailers: HeadScanner;

  /** Creates a decoder with the given limits. */
  constructor(limits: ChunkedLimits) {
    this.#extLimit = limits.chunkExtensionBytes;
    this.#trailers = new HeadScanner({
      headerBytes: limits.headerBytes,
      headerCount: limits.headerCount,
      strictCrlf: true,
    });
  }

  /** Forgets the body, ready for the next one. */
  reset(): void {
    this.data = EMPTY;
    this.offset = 0;
    this.#state = C_SIZE;
    this.#size = 0;
    this.#digits = 0;
    this.#extBytes = 0;
    this.#trailers.reset();
  }

  /**
   * The trailer fields as `[lowerName, value, ...]`, or null when there are
   * none. Valid after {@linkcode CHUNK_END}.
   */
  trailers(): string[] | null {
    const t = this.#trailers;
    return t.count === 0 ? null : t.fields(t.decode());
  }

  /**
   * Consumes `buf` from `i`: returns {@linkcode CHUNK_DATA} with `data` set,
   * {@linkcode CHUNK_END}, or {@linkcode CHUNK_MORE} when every byte was
   * consumed; `offset` tells where to resume.
   *
   * @throws {ParseError} on bad framing or a limit.
   */
  next(buf: Uint8Array, i: number): number {
    const end = buf.length;
    while (i < end) {
      switch (this.#state) {
        case C_SIZE: {
          const c = buf[i];
          const h = HEX[c];
          if (h !== 255) {
            if (++this.#digits > MAX_CHUNK_SIZE_DIGITS) {
              throw badRequest(
                `Chunk size longer than ${MAX_CHUNK_SIZE_DIGITS} hex digits`,
              );
            }
            const size = this.#size * 16 + h;
            if (size > Number.MAX_SAFE_INTEGER) {
              throw badRequest("Chunk size exceeds Number.MAX_SAFE_INTEGER");
            }
            this.#size = size;
            i++;
          } else if (this.#digits === 0) {
            throw badRequest("Invalid chunk size");
          } else if (c === CR) {
            this.#state = C_SIZE_LF;
            i++;
          } else if (c === SEMI || c === SP || c === HTAB) {
            this.#state = C_EXT;
            this.#ext = E_BEFORE_SEMI;
          } else {
            throw badRequest("Invalid chunk size");
          }
          break;
        }
        case C_EXT:
          i = this.#extension(buf, i, end);
          break;
        case C_SIZE_LF:
          if (buf[i] !== LF) {
            throw badRequest("Chunk size line must end with CRLF");
          }
          i++;
          this.#state = this.#size === 0 ? C_TRAILERS : C_DATA;
          break;
        case C_DATA: {
          const n = Math.min(this.#size, end - i);
          this.data = buf.subarray(i, i + n);
          this.#size -= n;
          if (this.#size === 0) this.#state = C_DATA_CR;
          this.offset = i + n;
          return CHUNK_DATA;
        }
        case C_DATA_CR:
          if (buf[i] !== CR) {
            throw badRequest("Chunk data must be followed by CRLF");
          }
          i++;
          this.#state = C_DATA_LF;
          break;
        case C_DATA_LF:
          if (buf[i] !== LF) {
            throw badRequest("Chunk data must be followed by CRLF");
          }
          i++;
          this.#state = C_SIZE;
          this.#digits = 0;
          break;
        case C_TRAILERS: {
          const r = this.#trailers.feed(buf, i);
          if (r < 0) {
            i = end;
            break;
          }
          this.#state = C_DONE;
          this.offset = r;
          return CHUNK_END;
        }
        default:
          this.offset = i;
          return CHUNK_END;
      }
    }
    this.offset = end;
    return this.#state === C_DONE ? CHUNK_END : CHUNK_MORE;
  }

  /** Validates chunk-extension bytes up to and including the CR. */
  #extension(buf: Uint8Array, i: number, end: number): number {
    let st = this.#ext;
    let bytes = this.#extBytes;
    const limit = this.#extLimit;
    while (i < end) {
      const c = buf[i];
      const ws = c === SP || c === HTAB;
      if (c === CR) {
        if (st !== E_NAME && st !== E_TOKEN && st !== E_AFTER_QUOTE) {
          if (st !== E_QUOTED && st !== E_QUOTED_PAIR) {
            throw badRequest("Invalid chunk extension");
          }
          throw badRequest("Bare CR in a chunk extension");
        }
        this.#state = C_SIZE_LF;
        this.#extBytes = bytes;
        return i + 1;
      }
      if (++bytes > limit) {
        throw new ParseError(
          413,
          "body_too_large",
          `Chunk extensions exceed the limit of ${limit} bytes`,
        );
      }
      switch (st) {
        case E_BEFORE_SEMI:
          if (c === SEMI) st = E_AFTER_SEMI;
          else if (!ws) throw badRequest("Invalid chunk extension");
          break;
        case E_AFTER_SEMI:
          if (TCHAR[c] !== 0) st = E_NAME;
          else if (!ws) throw badRequest("Invalid chunk extension");
          break;
        case E_NAME:
          if (TCHAR[c] !== 0) break;
          if (c === EQ) st = E_AFTER_EQ;
          else if (c === SEMI) st = E_AFTER_SEMI;
          else if (ws) st = E_AFTER_NAME;
          else throw badRequest("Invalid chunk extension");
          break;
        case E_AFTER_NAME:
          if (c === EQ) st = E_AFTER_EQ;
          else if (c === SEMI) st = E_AFTER_SEMI;
          else if (!ws) throw badRequest("Invalid chunk extension");
          break;
        case E_AFTER_EQ:
          if (TCHAR[c] !== 0) st = E_TOKEN;
          else if (c === DQUOTE) st = E_QUOTED;
          else if (!ws) throw badRequest("Invalid chunk extension");
          break;
        case E_TOKEN:
          if (TCHAR[c] !== 0) break;
          if (c === SEMI) st = E_AFTER_SEMI;
          else if (ws) st = E_BEFORE_SEMI;
          else throw badRequest("Invalid chunk extension");
          break;
        case E_QUOTED:
          if (c === DQUOTE) st = E_AFTER_QUOTE;
          else if (c === BACKSLASH) st = E_QUOTED_PAIR;
          else if ((c < SP && c !== HTAB) || c === 0x7f) {
            throw badRequest("Invalid chunk extension");
          }
          break;
        case E_QUOTED_PAIR:
          if ((c < SP && c !== HTAB) || c === 0x7f) {
            throw badRequest("Invalid chunk extension");
          }
          st = E_QUOTED;
          break;
        default: // E_AFTER_QUOTE
          if (c === SEMI) st = E_AFTER_SEMI;
          else if (ws) st = E_BEFORE_SEMI;
          else throw badRequest("Invalid chunk extension");
      }
      i++;
    }
    this.#ext = st;
    this.#extBytes = bytes;
    return i;
  }
}
