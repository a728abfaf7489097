/**
 * Scanner for a request head (optional leading empty lines, request line,
 * field lines, empty line) or a trailer section, across any number of reads.
 *
 * The scanner validates every field line and records offsets only; strings
 * are made once, at the end, from a single decode of the whole section
 * ({@linkcode decodeHead}). While the section fits in the current read it is
 * parsed in place (no copy); when a read ends inside it, the bytes so far are
 * copied to an owned buffer, and every later byte is checked against the
 * limits before it is appended.
 *
 * @module
 */

import { ByteBuffer } from "./buffer.ts";
import { CR, decodeHead, EMPTY, HTAB, LF, SP, TCHAR } from "./bytes.ts";
import { badRequest, ParseError } from "./error.ts";
import { RequestLineScanner } from "./request_line.ts";
import { knownName } from "./names.ts";

const PH_LEADING = 0;
const PH_LEADING_CR = 1;
const PH_LINE = 2;
const PH_FIELDS = 3;
const PH_DONE = 4;

const COLON = 0x3a;

/**
 * Most empty lines (CRLF or LF) ignored before a request line: RFC 9112
 * §2.2 asks to ignore at least one, so exactly one is; a second → 400.
 *
 * @example Usage
 * ```ts
 * import { MAX_LEADING_EMPTY_LINES } from "./scan.ts";
 * MAX_LEADING_EMPTY_LINES; // 1
 * ```
 */
export const MAX_LEADING_EMPTY_LINES = 1;

/**
 * Most bytes of colon, optional whitespace and line ending one field line
 * may carry beyond its name and value before it counts as too large.
 */
export const MAX_SEPARATOR_BYTES = 256;

/** Options of {@linkcode HeadScanner}. */
export interface HeadScannerOptions {
  /**
   * Most bytes of field names plus values (the colon, the optional
   * whitespace and the line endings are not counted: the same definition
   * the App applies to `Deno.serve` requests).
   */
  headerBytes: number;
  /** Most field lines. */
  headerCount: number;
  /**
   * Scan a request line first, with these limits; absent for a trailer
   * section.
   */
  requestLine?: { urlBytes: number; methodBytes: number };
  /**
   * Require CRLF line endings. RFC 9112 §2.2 lets a recipient accept a bare
   * LF in the start line and header fields; trailers are held to CRLF. A
   * head whose request line ends with CRLF is held to CRLF too: a bare LF
   * mixed into it could hide a second request from a proxy in front.
   */
  strictCrlf: boolean;
}

/**
 * Scans and validates a request head or a trailer section.
 *
 * Field lines: `token ":" OWS value OWS`; whitespace before the colon,
 * obs-fold (a line starting with SP or HTAB) and any CTL other than HTAB or
 * DEL in a value → 400; a bare LF after a request line ended by CRLF → 400.
 * More than `headerCount` lines, or more than `headerBytes` bytes of names
 * plus values → 431, raised as soon as the running count passes the limit;
 * a line whose separators (colon, whitespace, line ending) pass
 * {@linkcode MAX_SEPARATOR_BYTES} counts as too large.
 *
 * @example Usage
 * ```ts
 * import { HeadScanner } from "./scan.ts";
 * const s = new HeadScanner({
 *   headerBytes: 1024,
 *   headerCount: 10,
 *   strictCrlf: false,
 *   requestLine: { urlBytes: 1024, methodBytes: 32 },
 * });
 * const buf = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * s.feed(buf, 0); // 27: the head ends there
 * s.fields(s.decode()); // ["host", "a"]
 * ```
 */
export class HeadScanner {
  /** The request-line scanner, or null for a trailer section. */
  readonly line: RequestLineScanner | null;
  /** Field lines seen. */
  count = 0;
  /** Once complete: whether any byte is above 0x7F (decode as latin1). */
  high = false;
  /** Once complete: the buffer holding the section. */
  src: Uint8Array = EMPTY;
  /** Once complete: where the section starts in `src`. */
  base = 0;
  /** Once complete: length of the section in bytes. */
  len = 0;

  readonly #maxBytes: number;
  readonly #maxCount: number;
  readonly #strict: boolean;
  /** The request line ended with CRLF: so must every field line. */
  #crlf = false;
  readonly #what: string;
  #phase: number;
  #empties = 0;
  #bytes = 0;
  #slow = false;
  #lineStart = 0;
  #buf = new ByteBuffer();
  // 4 offsets per field, relative to the section start:
  // name start, name end, value start, value end.
  #pos: Int32Array;
  #upper: Uint8Array;

  /** Creates a scanner with the given limits. */
  constructor(options: HeadScannerOptions) {
    this.#maxBytes = options.headerBytes;
    this.#maxCount = options.headerCount;
    this.#strict = options.strictCrlf;
    const rl = options.requestLine;
    this.line = rl ? new RequestLineScanner(rl.urlBytes, rl.methodBytes) : null;
    this.#what = rl ? "Header" : "Trailer";
    this.#phase = rl ? PH_LEADING : PH_FIELDS;
    const initial = Math.min(this.#maxCount, 32);
    this.#pos = new Int32Array(initial * 4);
    this.#upper = new Uint8Array(initial);
  }

  /** True when no byte of a section has been seen (empty lines aside). */
  get idle(): boolean {
    return this.#phase === PH_LEADING;
  }

  /** Forgets the section, ready for the next one. */
  reset(): void {
    this.line?.reset();
    this.count = 0;
    this.high = false;
    this.src = EMPTY;
    this.base = 0;
    this.len = 0;
    this.#phase = this.line ? PH_LEADING : PH_FIELDS;
    this.#empties = 0;
    this.#bytes = 0;
    this.#crlf = false;
    this.#slow = false;
    this.#lineStart = 0;
    this.#buf.clear();
  }

  /**
   * Consumes bytes from `buf[i, buf.length)`. Returns the index just past
   * the empty line that ends the section, or -1 when all bytes were
   * consumed and the section is incomplete.
   *
   * @throws {ParseError} on a rule or limit violation.
   */
  feed(buf: Uint8Array, i: number): number {
    const end = buf.length;
    let phase = this.#phase;
    if (phase <= PH_LEADING_CR) {
      while (i < end) {
        const c = buf[i];
        if (phase === PH_LEADING_CR) {
          if (c !== LF) throw badRequest("Bare CR before the request line");
          phase = PH_LEADING;
          i++;
          this.#emptyLine();
        } else if (c === LF) {
          i++;
          this.#emptyLine();
        } else if (c === CR) {
          i++;
          phase = PH_LEADING_CR;
        } else {
          phase = PH_LINE;
          break;
        }
      }
      this.#phase = phase;
      if (i === end) return -1;
    }
    return this.#slow
      ? this.#feedSlow(buf, i, end)
      : this.#feedFast(buf, i, end);
  }

  /** Decodes the complete section into one string indexed like its bytes. */
  decode(): string {
    return decodeHead(this.src, this.base, this.base + this.len, this.high);
  }

  /**
   * Builds the flat `[lowerName, value, ...]` list from the decoded section.
   */
  fields(str: string): string[] {
    const out: string[] = [];
    const pos = this.#pos;
    const upper = this.#upper;
    for (let k = 0, n = this.count; k < n; k++) {
      const j = k * 4;
      const ns = pos[j];
      const ne = pos[j + 1];
      let name = knownName(str, ns, ne);
      if (name === null) {
        name = str.slice(ns, ne);
        if (upper[k] !== 0) name = name.toLowerCase();
      }
      out.push(name, str.slice(pos[j + 2], pos[j + 3]));
    }
    return out;
  }

  #emptyLine(): void {
    if (++this.#empties > MAX_LEADING_EMPTY_LINES) {
      throw badRequest(
        `More than ${MAX_LEADING_EMPTY_LINES} empty lines before the request line`,
      );
    }
  }

  #feedFast(buf: Uint8Array, i: number, end: number): number {
    const start = i;
    if (this.#phase === PH_LINE) {
      const lf = this.line!.scan(buf, i, end);
      if (lf < 0) return this.#toSlow(buf, start, end, end);
      this.#crlf = lf > i && buf[lf - 1] === CR;
      i = lf + 1;
      this.#phase = PH_FIELDS;
    }
    while (i < end) {
      this.#checkCount(buf[i]);
      // One pass over a well-formed line; anything unusual (the end of the
      // read, a bad byte) falls back to the checks below, which apply the
      // rules in their documented order.
      const next = this.#strict || this.#crlf
        ? this.#quickCrlfLine(buf, start, i, end)
        : this.#quickLine(buf, start, i, end);
      if (next > 0) {
        i = next;
        continue;
      }
      const lf = buf.indexOf(LF, i);
      if (lf < 0) {
        this.#checkPartial(end - i);
        return this.#toSlow(buf, start, i, end);
      }
      if (this.#fieldLine(buf, start, i, lf)) {
        return this.#complete(buf, start, lf + 1 - start, lf + 1);
      }
      i = lf + 1;
    }
    return this.#toSlow(buf, start, end, end);
  }

  #feedSlow(buf: Uint8Array, i: number, end: number): number {
    const hb = this.#buf;
    if (this.#phase === PH_LINE) {
      const lf = this.line!.scan(buf, i, end);
      if (lf < 0) {
        hb.append(buf, i, end);
        return -1;
      }
      hb.append(buf, i, lf + 1);
      this.#crlf = hb.len > 1 && hb.buf[hb.len - 2] === CR;
      i = lf + 1;
      this.#phase = PH_FIELDS;
      this.#lineStart = hb.len;
    }
    while (i < end) {
      const pending = hb.len - this.#lineStart;
      if (pending === 0) this.#checkCount(buf[i]);
      const lf = buf.indexOf(LF, i);
      if (lf < 0) {
        this.#checkPartial(pending + end - i);
        hb.append(buf, i, end);
        return -1;
      }
      this.#checkPartial(pending + lf - i);
      hb.append(buf, i, lf + 1);
      const s = this.#lineStart;
      this.#lineStart = hb.len;
      if (this.#fieldLine(hb.buf, 0, s, hb.len - 1)) {
        return this.#complete(hb.buf, 0, hb.len, lf + 1);
      }
      i = lf + 1;
    }
    return -1;
  }

  #complete(src: Uint8Array, base: number, len: number, next: number): number {
    this.src = src;
    this.base = base;
    this.len = len;
    this.#phase = PH_DONE;
    return next;
  }

  #toSlow(buf: Uint8Array, start: number, line: number, end: number): number {
    this.#buf.append(buf, start, end);
    this.#lineStart = line - start;
    this.#slow = true;
    return -1;
  }

  /** Refuses a field line beyond `headerCount` at its first byte. */
  #checkCount(first: number): void {
    if (this.count === this.#maxCount && first !== CR && first !== LF) {
      throw new ParseError(
        431,
        "too_many_headers",
        `${this.#what} fields exceed the headerCount limit of ${this.#maxCount}`,
      );
    }
  }

  /**
   * Refuses an incomplete line of `n` bytes that can no longer fit: `n`
   * includes its separators, hence the slack.
   */
  #checkPartial(n: number): void {
    if (this.#bytes + n > this.#maxBytes + MAX_SEPARATOR_BYTES) {
      this.#tooLarge();
    }
  }

  #tooLarge(): never {
    throw new ParseError(
      431,
      "headers_too_large",
      `${this.#what} fields exceed the headerBytes limit of ${this.#maxBytes} bytes`,
    );
  }

  /**
   * Validates the field line `src[s, lf)` (lf is its LF) and records its
   * offsets relative to `base`. Returns true for the empty line.
   */
  #fieldLine(src: Uint8Array, base: number, s: number, lf: number): boolean {
    let e = lf;
    if (e > s && src[e - 1] === CR) e--;
    else if (this.#strict) {
      throw badRequest(`${this.#what} line ends with a bare LF`);
    } else if (this.#crlf) {
      throw badRequest("Bare LF in a head whose request line ends with CRLF");
    }
    if (e === s) return true;
    let c = src[s];
    if (c === SP || c === HTAB) {
      throw badRequest(
        this.count === 0 && this.line
          ? "Whitespace between the request line and the first header field"
          : "Obsolete line folding in a field",
      );
    }
    let p = s;
    let up = 0;
    while (p < e) {
      const t = TCHAR[src[p]];
      if (t === 0) break;
      up |= t;
      p++;
    }
    if (p === e || (c = src[p]) !== COLON) {
      throw badRequest(
        p === e
          ? "Field line without a colon"
          : c === SP || c === HTAB
          ? "Whitespace between a field name and the colon"
          : "Invalid character in a field name",
      );
    }
    if (p === s) throw badRequest("Empty field name");
    const ne = p++;
    while (p < e && ((c = src[p]) === SP || c === HTAB)) p++;
    const vs = p;
    let ve = p;
    let bits = 0;
    while (p < e) {
      c = src[p++];
      if (c > SP && c !== 0x7f) {
        ve = p;
        bits |= c;
      } else if (c !== SP && c !== HTAB) {
        throw badRequest(
          c === CR
            ? "Bare CR in a field value"
            : "Invalid control character in a field value",
        );
      }
    }
    this.#count(s, ne, vs, ve, e);
    this.#record(s - base, ne - base, vs - base, ve - base, up & 2);
    if (bits & 0x80) this.high = true;
    return false;
  }

  /** Adds a complete line's name and value to the running byte count. */
  #count(s: number, ne: number, vs: number, ve: number, e: number): void {
    if (
      (this.#bytes += ne - s + ve - vs) > this.#maxBytes ||
      e - s - (ne - s + ve - vs) > MAX_SEPARATOR_BYTES
    ) this.#tooLarge();
  }

  /** {@linkcode HeadScanner.#quickLine} for heads held to CRLF. */
  #quickCrlfLine(
    buf: Uint8Array,
    base: number,
    s: number,
    end: number,
  ): number {
    const lf = buf.indexOf(LF, s);
    return lf > s && lf < end && buf[lf - 1] === CR
      ? this.#quickLine(buf, base, s, lf + 1)
      : -1;
  }

  /**
   * Parses a complete, valid, non-empty field line `buf[s, ...)` in one pass
   * and returns the index after its LF; returns -1 (nothing recorded or
   * counted) when the line is empty, incomplete in this read, or breaks a
   * rule, so that {@linkcode HeadScanner.#fieldLine} decides.
   */
  #quickLine(buf: Uint8Array, base: number, s: number, end: number): number {
    let p = s;
    let up = 0;
    let c = 0;
    while (p < end) {
      const t = TCHAR[buf[p]];
      if (t === 0) break;
      up |= t;
      p++;
    }
    if (p === s || p === end || buf[p] !== COLON) return -1;
    const ne = p++;
    while (p < end && ((c = buf[p]) === SP || c === HTAB)) p++;
    const vs = p;
    let ve = p;
    let bits = 0;
    for (; p < end; p++) {
      c = buf[p];
      if (c > SP && c !== 0x7f) {
        ve = p + 1;
        bits |= c;
      } else if (c !== SP && c !== HTAB) break;
    }
    let lf: number;
    if (c === LF && p < end) lf = p;
    else if (c === CR && p + 1 < end && buf[p + 1] === LF) lf = p + 1;
    else return -1;
    this.#count(s, ne, vs, ve, p);
    this.#record(s - base, ne - base, vs - base, ve - base, up & 2);
    if (bits & 0x80) this.high = true;
    return lf + 1;
  }

  #record(ns: number, ne: number, vs: number, ve: number, up: number): void {
    const k = this.count;
    if (k === this.#upper.length) {
      const pos = new Int32Array(k * 8);
      pos.set(this.#pos);
      this.#pos = pos;
      const upper = new Uint8Array(k * 2);
      upper.set(this.#upper);
      this.#upper = upper;
    }
    const j = k * 4;
    const pos = this.#pos;
    pos[j] = ns;
    pos[j + 1] = ne;
    pos[j + 2] = vs;
    pos[j + 3] = ve;
    this.#upper[k] = up;
    this.count = k + 1;
  }
}
