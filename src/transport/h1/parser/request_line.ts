/**
 * Resumable scanner for the HTTP/1.1 request line (RFC 9112 §3):
 * `method SP request-target SP HTTP-version`, each byte validated as it
 * arrives, so a long or malformed line is refused at the first byte that
 * breaks a rule and never buffered past the limits.
 *
 * @module
 */

import { badRequest, ParseError } from "./error.ts";
import { CR, LF, SP, TCHAR } from "./bytes.ts";

const P_METHOD = 0;
const P_TARGET = 1;
const P_VERSION = 2;
const P_CR = 3;
const P_DONE = 4;

/** "HTTP/" */
const HTTP_NAME = [0x48, 0x54, 0x54, 0x50, 0x2f];
const HASH = 0x23;

/**
 * Validates a request line across any number of reads and records where its
 * parts are: the method is bytes `[0, methodLen)` of the line and the target
 * `[methodLen + 1, methodLen + 1 + targetLen)`.
 *
 * Rules: the method is a `token` of at most `methodBytes` bytes (longer →
 * 501, per RFC 9112 §3); exactly one SP between parts; the target is
 * `%x21-7E` except `#` (a fragment → 400), at most `urlBytes` bytes (→ 414);
 * the version is exactly `HTTP/` DIGIT `.` DIGIT (case-sensitive, else 400),
 * major version other than 1 → 505; the line ends with CRLF or a bare LF
 * (RFC 9112 §2.2); a CR not followed by LF → 400.
 *
 * @example Usage
 * ```ts
 * import { RequestLineScanner } from "./request_line.ts";
 * const s = new RequestLineScanner(8192, 32);
 * const line = new TextEncoder().encode("GET / HTTP/1.1\r\n");
 * s.scan(line, 0, line.length); // 15, the index of the LF
 * s.methodLen; // 3
 * ```
 */
export class RequestLineScanner {
  /** Bytes of the method seen so far. */
  methodLen = 0;
  /** Bytes of the target seen so far. */
  targetLen = 0;
  /** Minor version digit, valid once the line is complete. */
  minor = 0;
  #phase = P_METHOD;
  #vlen = 0;
  #major = 0;
  readonly #urlBytes: number;
  readonly #methodBytes: number;

  /**
   * @param urlBytes Longest accepted request target, in bytes.
   * @param methodBytes Longest accepted method, in bytes.
   */
  constructor(urlBytes: number, methodBytes: number) {
    this.#urlBytes = urlBytes;
    this.#methodBytes = methodBytes;
  }

  /** Forgets the line, ready for the next request. */
  reset(): void {
    this.methodLen = 0;
    this.targetLen = 0;
    this.minor = 0;
    this.#phase = P_METHOD;
    this.#vlen = 0;
    this.#major = 0;
  }

  /**
   * Scans `buf[i, end)`, the continuation of the line. Returns the index of
   * the LF that ends the line, or -1 when every byte was consumed and the
   * line is still incomplete.
   *
   * @throws {ParseError} at the first byte that breaks a rule or a limit.
   */
  scan(buf: Uint8Array, i: number, end: number): number {
    let phase = this.#phase;
    while (i < end) {
      if (phase === P_METHOD) {
        const room = this.#methodBytes - this.methodLen;
        const stop = end - i > room ? i + room + 1 : end;
        const s = i;
        while (i < stop && TCHAR[buf[i]] !== 0) i++;
        this.methodLen += i - s;
        if (this.methodLen > this.#methodBytes) {
          throw new ParseError(
            501,
            "bad_request",
            `Request method exceeds the limit of ${this.#methodBytes} bytes`,
          );
        }
        if (i === end) break;
        if (buf[i] !== SP || this.methodLen === 0) {
          throw badRequest("Invalid request method");
        }
        i++;
        phase = P_TARGET;
      } else if (phase === P_TARGET) {
        const room = this.#urlBytes - this.targetLen;
        const stop = end - i > room ? i + room + 1 : end;
        const s = i;
        let c = 0;
        while (i < stop && (c = buf[i]) > SP && c < 0x7f && c !== HASH) i++;
        this.targetLen += i - s;
        if (this.targetLen > this.#urlBytes) {
          throw new ParseError(
            414,
            "url_too_long",
            `Request target exceeds the urlBytes limit of ${this.#urlBytes} bytes`,
          );
        }
        if (i === end) break;
        c = buf[i];
        if (c === HASH) throw badRequest("Request target contains a fragment");
        if (c !== SP) {
          throw badRequest("Invalid character in the request target");
        }
        if (this.targetLen === 0) throw badRequest("Empty request target");
        i++;
        phase = P_VERSION;
      } else if (phase === P_VERSION) {
        const c = buf[i];
        const v = this.#vlen;
        if (v < 5) {
          if (c !== HTTP_NAME[v]) throw badRequest("Invalid HTTP version");
        } else if (v === 5 || v === 7) {
          if (c < 0x30 || c > 0x39) throw badRequest("Invalid HTTP version");
          // A major version other than 1 is answered 505, but only once the
          // whole version is known to be well-formed.
          if (v === 7) this.minor = c - 0x30;
          else this.#major = c - 0x30;
        } else if (v === 6) {
          if (c !== 0x2e) throw badRequest("Invalid HTTP version");
        } else {
          if (c !== CR && c !== LF) {
            throw badRequest("Invalid HTTP version");
          }
          if (this.#major !== 1) {
            throw new ParseError(
              505,
              "unsupported_version",
              "HTTP version not supported: only HTTP/1.x is accepted",
            );
          }
          if (c === LF) {
            this.#phase = P_DONE;
            return i;
          }
          phase = P_CR;
        }
        this.#vlen = v + 1;
        i++;
      } else if (phase === P_CR) {
        if (buf[i] !== LF) throw badRequest("Bare CR in the request line");
        this.#phase = P_DONE;
        return i;
      } else {
        throw new Error("Request line scanned past its end");
      }
    }
    this.#phase = phase;
    return -1;
  }
}
