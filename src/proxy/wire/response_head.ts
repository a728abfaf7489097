/**
 * Strict parsing of an upstream's HTTP/1.x response head: the status line
 * (`HTTP/1.1 200 OK`, HTTP/1.0 accepted), then field lines held to the same
 * rules as request heads (the h1 engine's scanner: CRLF only, no obs-fold,
 * no whitespace before the colon, no control characters), within
 * {@linkcode MAX_RESPONSE_FIELD_BYTES} and {@linkcode MAX_RESPONSE_FIELDS}.
 * Anything else is a `protocol` failure (502 for the client).
 *
 * @module
 */

import { HOP_BY_HOP_FIELDS } from "../../http/hop_by_hop.ts";
import { HeadScanner } from "../../transport/h1/parser/scan.ts";
import { type UpstreamConn, WireError } from "./conn.ts";

/** Most bytes of field names plus values in a response head: 32 KiB. */
export const MAX_RESPONSE_FIELD_BYTES = 32 * 1024;
/** Most field lines in a response head. */
export const MAX_RESPONSE_FIELDS = 200;
/** Longest status line, its CRLF included. */
const MAX_STATUS_LINE = 1024;

const LF = 0x0a;
const CR = 0x0d;

/** A parsed response head. */
export interface ResponseHead {
  /** The status code, 100 to 599. */
  status: number;
  /** Whether the upstream spoke HTTP/1.0. */
  http10: boolean;
  /** Field lines as `[lowerName, value, ...]`, in order. */
  fields: string[];
}

/** Reusable parsing state of one connection. */
export class HeadReader {
  readonly #scanner = new HeadScanner({
    headerBytes: MAX_RESPONSE_FIELD_BYTES,
    headerCount: MAX_RESPONSE_FIELDS,
    strictCrlf: true,
  });

  /**
   * Reads one response head from `c`, leaving `c.start` just past it. An
   * end of stream before any byte is a `reset` (a keep-alive connection the
   * upstream closed), within the head a `protocol` failure.
   *
   * @throws {WireError} when the head is invalid or the connection ends.
   */
  async read(c: UpstreamConn): Promise<ResponseHead> {
    // The status line.
    let lf = -1;
    for (;;) {
      lf = c.buf.subarray(c.start, c.end).indexOf(LF);
      if (lf >= 0) break;
      if (c.buffered >= MAX_STATUS_LINE) {
        throw invalid("Status line too long");
      }
      const before = c.buffered;
      if (!(await c.fill())) {
        throw before === 0
          ? new WireError(
            "reset",
            "The upstream server closed the connection before it answered",
          )
          : invalid("Response head cut short");
      }
    }
    const buf = c.buf;
    const s = c.start;
    const e = s + lf;
    if (lf > MAX_STATUS_LINE || e === s || buf[e - 1] !== CR) {
      throw invalid("Status line must end with CRLF");
    }
    const { status, http10 } = statusLine(buf, s, e - 1);
    c.start = e + 1;

    // The field lines.
    const scanner = this.#scanner;
    scanner.reset();
    try {
      for (;;) {
        const next = c.start < c.end
          ? scanner.feed(buf.subarray(0, c.end), c.start)
          : -1;
        if (next >= 0) {
          // Decoded before the buffer is read into again.
          const fields = scanner.fields(scanner.decode());
          c.start = next;
          return { status, http10, fields };
        }
        c.start = c.end;
        if (!(await c.fill())) throw invalid("Response head cut short");
      }
    } catch (error) {
      if (error instanceof WireError) throw error;
      throw invalid("Invalid response head", error);
    }
  }
}

/** Parses `HTTP/1.x SSS[ reason]` in `buf[s, e)`. */
function statusLine(
  buf: Uint8Array,
  s: number,
  e: number,
): { status: number; http10: boolean } {
  // "HTTP/1." digit SP 3DIGIT
  if (
    e - s < 12 || buf[s] !== 0x48 || buf[s + 1] !== 0x54 ||
    buf[s + 2] !== 0x54 || buf[s + 3] !== 0x50 || buf[s + 4] !== 0x2f ||
    buf[s + 5] !== 0x31 || buf[s + 6] !== 0x2e ||
    (buf[s + 7] !== 0x31 && buf[s + 7] !== 0x30) || buf[s + 8] !== 0x20
  ) {
    throw invalid("Not an HTTP/1.x status line");
  }
  let status = 0;
  for (let i = s + 9; i < s + 12; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) throw invalid("Invalid status code");
    status = status * 10 + d;
  }
  if (status < 100 || status > 599) throw invalid("Invalid status code");
  if (e > s + 12) {
    if (buf[s + 12] !== 0x20) throw invalid("Invalid status line");
    for (let i = s + 13; i < e; i++) {
      const c = buf[i];
      // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
        throw invalid("Invalid character in the reason phrase");
      }
    }
  }
  return { status, http10: buf[s + 7] === 0x30 };
}

function invalid(message: string, cause?: unknown): WireError {
  return new WireError("protocol", message, { cause });
}

/** The value of field `name` (lower case) in `fields`, several joined by ", "; null when absent. */
export function fieldValue(
  fields: readonly string[],
  name: string,
): string | null {
  let out: string | null = null;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === name) {
      out = out === null ? fields[i + 1] : out + ", " + fields[i + 1];
    }
  }
  return out;
}

/** Whether the comma-separated `value` lists `token` (case-insensitive). */
export function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  for (const part of value.split(",")) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

const HOP_BY_HOP: ReadonlySet<string> = new Set(HOP_BY_HOP_FIELDS);

/**
 * The end-to-end fields of a response head as pairs for a `Response`:
 * hop-by-hop fields and those its `Connection` names are dropped.
 */
export function endToEnd(fields: readonly string[]): [string, string][] {
  const connection = fieldValue(fields, "connection");
  let named: Set<string> | null = null;
  if (connection !== null) {
    named = new Set();
    for (const t of connection.split(",")) named.add(t.trim().toLowerCase());
  }
  const out: [string, string][] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (HOP_BY_HOP.has(name) || (named !== null && named.has(name))) continue;
    out.push([name, fields[i + 1]]);
  }
  return out;
}
