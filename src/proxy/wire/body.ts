/**
 * Framing and reading of an upstream's HTTP/1.x response body (RFC 9112
 * §6.3): none (HEAD, 1xx, 204, 304), `Content-Length`, chunked (trailers
 * read and dropped) or, without either, until the connection closes. The
 * reader hands out buffers of their own, one read at a time, so a consumer
 * that stops pulling stops the reads (backpressure).
 *
 * @module
 */

import {
  CHUNK_DATA,
  CHUNK_END,
  ChunkedDecoder,
} from "../../transport/h1/parser/chunked.ts";
import { type UpstreamConn, WireError } from "./conn.ts";
import { fieldValue, hasToken, type ResponseHead } from "./response_head.ts";

/** How a response body is delimited. */
export type Framing =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  | { readonly kind: "close" };

const NONE: Framing = Object.freeze({ kind: "none" });
const CHUNKED: Framing = Object.freeze({ kind: "chunked" });
const CLOSE: Framing = Object.freeze({ kind: "close" });

/** Largest buffer a body read allocates. */
const MAX_READ_BYTES = 64 * 1024;

/** Limits of a chunked response body's trailers and extensions. */
const CHUNKED_LIMITS = {
  headerBytes: 16 * 1024,
  headerCount: 100,
  chunkExtensionBytes: 4096,
};

/**
 * The framing of the body of `head`, the answer to a `method` request.
 *
 * @throws {WireError} `protocol` for an invalid `Content-Length`.
 */
export function framingOf(head: ResponseHead, method: string): Framing {
  const status = head.status;
  if (
    method === "HEAD" || status < 200 || status === 204 || status === 304
  ) {
    return NONE;
  }
  const te = fieldValue(head.fields, "transfer-encoding");
  if (te !== null) {
    const codings = te.split(",");
    return codings[codings.length - 1].trim().toLowerCase() === "chunked"
      ? CHUNKED
      : CLOSE;
  }
  const cl = fieldValue(head.fields, "content-length");
  if (cl === null) return CLOSE;
  const length = contentLength(cl);
  return length === 0 ? NONE : { kind: "length", length };
}

/**
 * Whether the connection may carry another request once the body of
 * `head` has been read whole: HTTP/1.1, no `Connection: close`, and not
 * both `Transfer-Encoding` and `Content-Length` (a message that could be
 * read two ways).
 */
export function keepsAlive(head: ResponseHead, framing: Framing): boolean {
  if (head.http10 || framing.kind === "close") return false;
  const fields = head.fields;
  if (hasToken(fieldValue(fields, "connection"), "close")) return false;
  return fieldValue(fields, "transfer-encoding") === null ||
    fieldValue(fields, "content-length") === null;
}

/** A `Content-Length` value: digits, or a list of one repeated value. */
function contentLength(value: string): number {
  let length = -1;
  for (const part of value.split(",")) {
    const v = part.trim();
    if (!/^[0-9]{1,15}$/.test(v)) {
      throw new WireError("protocol", "Invalid Content-Length");
    }
    const n = Number(v);
    if (length !== -1 && n !== length) {
      throw new WireError("protocol", "Conflicting Content-Length values");
    }
    length = n;
  }
  return length;
}

/** Reads one response body from a connection, piece by piece. */
export class BodyReader {
  readonly #c: UpstreamConn;
  readonly #kind: Framing["kind"];
  /** Bytes still expected for `length` framing. */
  #left: number;
  #chunks: ChunkedDecoder | null = null;
  #done: boolean;

  /** Reads the body framed by `framing` that follows the head in `c`. */
  constructor(c: UpstreamConn, framing: Framing) {
    this.#c = c;
    this.#kind = framing.kind;
    this.#left = framing.kind === "length" ? framing.length : 0;
    this.#done = framing.kind === "none";
  }

  /** Whether the whole body has been read. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * The next piece of the body in a buffer of its own, or null at its end.
   *
   * @throws {WireError} `reset` when the connection ends early, `protocol`
   * for bad chunked framing.
   */
  async next(): Promise<Uint8Array | null> {
    if (this.#done) return null;
    switch (this.#kind) {
      case "length":
        return await this.#raw(false);
      case "close":
        return await this.#raw(true);
      default:
        return await this.#chunked();
    }
  }

  async #raw(untilClose: boolean): Promise<Uint8Array | null> {
    const c = this.#c;
    const want = untilClose ? MAX_READ_BYTES : this.#left;
    if (c.buffered > 0) {
      const n = Math.min(c.buffered, want);
      const piece = c.buf.slice(c.start, c.start + n);
      c.start += n;
      this.#took(n);
      return piece;
    }
    // Nothing buffered: read straight into a buffer of its own.
    const buf = new Uint8Array(Math.min(want, MAX_READ_BYTES));
    let n: number | null;
    try {
      n = await c.conn.read(buf);
    } catch (error) {
      throw new WireError("reset", "The upstream connection failed", {
        cause: error,
      });
    }
    if (n === null) {
      if (untilClose) {
        this.#done = true;
        return null;
      }
      throw new WireError("reset", "The upstream response body was cut short");
    }
    this.#took(n);
    return buf.subarray(0, n);
  }

  #took(n: number): void {
    if (this.#kind === "length" && (this.#left -= n) === 0) this.#done = true;
  }

  async #chunked(): Promise<Uint8Array | null> {
    const c = this.#c;
    const d = this.#chunks ??= new ChunkedDecoder(CHUNKED_LIMITS);
    for (;;) {
      if (c.buffered > 0) {
        let r: number;
        try {
          r = d.next(c.buf.subarray(0, c.end), c.start);
        } catch (error) {
          throw new WireError("protocol", "Invalid chunked response body", {
            cause: error,
          });
        }
        c.start = d.offset;
        if (r === CHUNK_DATA) return d.data.slice();
        if (r === CHUNK_END) {
          this.#done = true;
          return null;
        }
      }
      if (!(await c.fill())) {
        throw new WireError(
          "reset",
          "The upstream response body was cut short",
        );
      }
    }
  }
}
