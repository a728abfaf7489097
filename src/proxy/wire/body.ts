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
import type { ResponseHead } from "./response_head.ts";
import { headerPairs } from "../../internal/deno.ts";

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

/** What relaying a response takes: its framing and reuse. */
export interface Relay {
  /** How its body is delimited. */
  readonly framing: Framing;
  /**
   * Whether the connection may carry another request once the body has
   * been read whole: HTTP/1.1, no `Connection: close`, and not both
   * `Transfer-Encoding` and `Content-Length` (a message that could be read
   * two ways).
   */
  readonly keepAlive: boolean;
  /** The lower-case names `Connection` lists, or null without one. */
  readonly named: ReadonlySet<string> | null;
}

/**
 * The framing (RFC 9112 §6.3) and reuse of `head`, the answer to a
 * `method` request, in one pass over its fields.
 *
 * @throws {WireError} `protocol` for an invalid `Content-Length`.
 */
export function relayOf(head: ResponseHead, method: string): Relay {
  const f = head.fields;
  let te: string | null = null;
  let cl: string | null = null;
  let connection: string | null = null;
  for (let i = 0; i < f.length; i += 2) {
    switch (f[i]) {
      case "connection":
        connection = connection === null
          ? f[i + 1]
          : connection + "," + f[i + 1];
        break;
      case "transfer-encoding":
        te = te === null ? f[i + 1] : te + "," + f[i + 1];
        break;
      case "content-length":
        cl = cl === null ? f[i + 1] : cl + "," + f[i + 1];
        break;
    }
  }
  let keepAlive = !head.http10 && (te === null || cl === null);
  let named: Set<string> | null = null;
  if (connection !== null) {
    named = new Set<string>();
    for (const t of connection.split(",")) named.add(t.trim().toLowerCase());
    if (named.has("close")) keepAlive = false;
  }
  const framing = framingOf(head.status, method, te, cl);
  if (framing.kind === "close") keepAlive = false;
  return { framing, keepAlive, named };
}

/**
 * Appends the end-to-end fields of `fields` (`[lowerName, value, ...]` as
 * the response head parser left them: names tokens, values valid and
 * trimmed) to `headers`: hop-by-hop ones and those in `named` are dropped.
 * Straight into Deno's field list when it can be reached (the values were
 * validated while parsing; `append` would check them again), else with
 * `append`.
 */
export function copyEndToEnd(
  fields: readonly string[],
  named: ReadonlySet<string> | null,
  headers: Headers,
): void {
  const list = headerPairs(headers);
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    switch (name) {
      case "connection":
      case "keep-alive":
      case "proxy-connection":
      case "proxy-authenticate":
      case "proxy-authorization":
      case "te":
      case "trailer":
      case "transfer-encoding":
      case "upgrade":
        continue;
    }
    if (named !== null && named.has(name)) continue;
    if (list !== null) list.push([name, fields[i + 1]]);
    else headers.append(name, fields[i + 1]);
  }
}

function framingOf(
  status: number,
  method: string,
  te: string | null,
  cl: string | null,
): Framing {
  if (
    method === "HEAD" || status < 200 || status === 204 || status === 304
  ) {
    return NONE;
  }
  if (te !== null) {
    const codings = te.split(",");
    return codings[codings.length - 1].trim().toLowerCase() === "chunked"
      ? CHUNKED
      : CLOSE;
  }
  if (cl === null) return CLOSE;
  const length = contentLength(cl);
  return length === 0 ? NONE : { kind: "length", length };
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

/**
 * The body `reader` reads from `c`, as a stream the client pulls piece by
 * piece (no read ahead): a failed read closes `c`, a cancel closes it, and
 * `onEnd` runs once the last piece was read.
 */
export function bodyStream(
  reader: BodyReader,
  c: UpstreamConn,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      let piece: Uint8Array | null;
      try {
        piece = await reader.next();
      } catch (error) {
        c.close();
        throw error;
      }
      if (piece !== null) controller.enqueue(piece);
      else {
        controller.close();
        onEnd();
      }
    },
    cancel: () => c.close(),
  }, { highWaterMark: 0 });
}
