/**
 * A streaming `multipart/form-data` parser (RFC 7578 over RFC 2046 framing):
 * parts are produced as their bytes arrive, file contents are handed on
 * chunk by chunk without being buffered, and every size and count limit is
 * enforced before more than the limit is read.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import type { RejectReason } from "../http/limits.ts";
import { latin1Decode } from "../internal/text.ts";
import { malformed, parsePartHead, validateLimits } from "./multipart_head.ts";
import { concat, indexOfBytes, join, partialStart } from "./multipart_scan.ts";
import type { RejectHook } from "./limited.ts";
import type { MultipartLimits, Part } from "./multipart_types.ts";

export { MAX_FILENAME_BYTES, safeFilename } from "./safe_filename.ts";
export type {
  FieldPart,
  FilePart,
  MultipartLimits,
  Part,
} from "./multipart_types.ts";

// RFC 2046 §5.1.1: bchars := bcharsnospace / " "
const BCHAR = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const EMPTY = new Uint8Array(0);
const CRLF = new Uint8Array([CR, LF]);
const utf8 = new TextDecoder();
/** Most transport padding (spaces, tabs) accepted after a boundary. */
const MAX_PADDING = 256;

/** The part whose content is being read. */
interface Current {
  kind: "field" | "file" | "preamble";
  read: number;
  ended: boolean;
  controller: ReadableStreamDefaultController<Uint8Array> | null;
}

function newPart(kind: Current["kind"]): Current {
  return { kind, read: 0, ended: false, controller: null };
}

/** The incremental parser behind {@linkcode parseMultipartStream}. */
class MultipartParser implements AsyncIterableIterator<Part> {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #limits: MultipartLimits;
  #onReject: RejectHook | undefined;
  /** CRLF "--" boundary: every delimiter (the first one gets a virtual CRLF). */
  #delim: Uint8Array;
  /** Unconsumed bytes are `#buf[#pos..]`. */
  #buf: Uint8Array = CRLF;
  #pos = 0;
  #total = 0;
  #parts = 0;
  #files = 0;
  /** Set once the closing delimiter was read, the parse failed or was closed. */
  #finished = false;
  #current: Current = newPart("preamble");
  #failed: unknown = null;
  /** Serialises reads of the source between the iterator and part streams. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    stream: ReadableStream<Uint8Array>,
    boundary: string,
    limits: MultipartLimits,
    onReject: RejectHook | undefined,
  ) {
    validateLimits(limits);
    this.#limits = limits;
    this.#onReject = onReject;
    this.#reader = stream.getReader();
    const delim = new Uint8Array(boundary.length + 4);
    delim.set([CR, LF, DASH, DASH]);
    for (let k = 0; k < boundary.length; k++) {
      delim[k + 4] = boundary.charCodeAt(k);
    }
    this.#delim = delim;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Part> {
    return this;
  }

  next(): Promise<IteratorResult<Part>> {
    return this.#exclusive(() => this.#next());
  }

  return(): Promise<IteratorResult<Part>> {
    return this.#exclusive(() => {
      if (!this.#finished) {
        this.#finished = true;
        this.#endCurrent(new TypeError("The multipart iterator was closed"));
        this.#reader.cancel().catch(() => {});
      }
      return Promise.resolve({ done: true, value: undefined });
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #next(): Promise<IteratorResult<Part>> {
    if (this.#failed !== null) throw this.#failed;
    if (this.#finished) return { done: true, value: undefined };
    try {
      if (!this.#current.ended) {
        // Skip the rest of a part (or the preamble) nobody read.
        while ((await this.#content()) !== null) { /* dropped */ }
        this.#endCurrent(
          new TypeError(
            "The part was skipped: the iterator moved on before its stream was read",
          ),
        );
      }
      if (!(await this.#afterDelimiter())) {
        await this.#drainEpilogue();
        this.#finished = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: await this.#part() };
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Reads the next source chunk, counted against `bodyBytes`; null at the end. */
  async #read(): Promise<Uint8Array | null> {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await this.#reader.read();
    } catch (cause) {
      if (cause instanceof HttpError) throw cause; // reported by its source
      const detail = "Request body ended before it was complete";
      this.#onReject?.("body_incomplete", 400, detail);
      throw new HttpError(400, detail, { cause, reason: "body_incomplete" });
    }
    if (result.done) return null;
    const chunk = result.value;
    const max = this.#limits.bodyBytes;
    if (this.#total + chunk.length > max) {
      throw this.#limit(
        "body_too_large",
        `Multipart body exceeds the bodyBytes limit of ${max} bytes`,
      );
    }
    this.#total += chunk.length;
    return chunk;
  }

  /** Appends the next chunk to the unconsumed bytes; false at the end. */
  async #more(): Promise<boolean> {
    const chunk = await this.#read();
    if (chunk === null) return false;
    const rest = this.#buf.subarray(this.#pos);
    this.#buf = rest.length === 0 ? chunk : concat(rest, chunk);
    this.#pos = 0;
    return true;
  }

  /**
   * The next piece of the current part's content (a view of the chunk it
   * arrived in, never a copy of more than one delimiter's length), or null
   * once the delimiter after it has been consumed.
   */
  async #content(): Promise<Uint8Array | null> {
    const cur = this.#current;
    const delim = this.#delim;
    while (!cur.ended) {
      const buf = this.#buf;
      const pos = this.#pos;
      const at = indexOfBytes(buf, delim, pos);
      if (at !== -1) {
        this.#pos = at + delim.length;
        cur.ended = true;
        if (at > pos) return this.#count(buf.subarray(pos, at));
        return null;
      }
      const keep = partialStart(buf, delim, pos);
      if (keep > pos) {
        this.#pos = keep;
        return this.#count(buf.subarray(pos, keep));
      }
      // What is left (under one delimiter long) may start a delimiter.
      const chunk = await this.#read();
      if (chunk === null) throw malformed("missing closing boundary");
      const rest = buf.subarray(pos);
      if (rest.length === 0 || chunk.length < delim.length) {
        this.#buf = rest.length === 0 ? chunk : concat(rest, chunk);
        this.#pos = 0;
        continue;
      }
      // Look for a delimiter across the edge without copying the chunk.
      const edge = concat(rest, chunk.subarray(0, delim.length - 1));
      const cross = indexOfBytes(edge, delim, 0);
      this.#buf = chunk;
      if (cross !== -1) {
        this.#pos = cross + delim.length - rest.length;
        cur.ended = true;
        if (cross > 0) return this.#count(rest.subarray(0, cross));
        return null;
      }
      this.#pos = 0;
      return this.#count(rest);
    }
    return null;
  }

  /** Counts `piece` against the limit of the current part. */
  #count(piece: Uint8Array): Uint8Array {
    const cur = this.#current;
    cur.read += piece.length;
    if (cur.kind === "file" && cur.read > this.#limits.fileBytes) {
      throw this.#limit(
        "file_too_large",
        `Multipart file part exceeds the fileBytes limit of ${this.#limits.fileBytes} bytes`,
      );
    }
    if (cur.kind === "field" && cur.read > this.#limits.fieldBytes) {
      throw this.#limit(
        "field_too_large",
        `Multipart field exceeds the fieldBytes limit of ${this.#limits.fieldBytes} bytes`,
      );
    }
    return piece;
  }

  /**
   * After a delimiter: true when a part follows (transport padding and CRLF
   * consumed), false for the closing delimiter (`--` consumed).
   */
  async #afterDelimiter(): Promise<boolean> {
    while (true) {
      const buf = this.#buf;
      let i = this.#pos;
      if (buf.length - i >= 2 && buf[i] === DASH && buf[i + 1] === DASH) {
        this.#pos = i + 2;
        return false;
      }
      while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
      if (i - this.#pos > MAX_PADDING) {
        throw malformed("too much padding after a boundary");
      }
      if (buf.length - i >= 2) {
        if (buf[i] !== CR || buf[i + 1] !== LF) {
          throw malformed("unexpected bytes after a boundary");
        }
        this.#pos = i + 2;
        return true;
      }
      if (buf.length - i === 1 && buf[i] !== CR && buf[i] !== DASH) {
        throw malformed("unexpected bytes after a boundary");
      }
      if (!(await this.#more())) throw malformed("missing closing boundary");
    }
  }

  /** Reads and drops what follows the closing delimiter. */
  async #drainEpilogue(): Promise<void> {
    this.#buf = EMPTY;
    this.#pos = 0;
    while ((await this.#read()) !== null) { /* dropped */ }
  }

  /** Parses a part's headers and returns the part. */
  async #part(): Promise<Part> {
    const limits = this.#limits;
    if (++this.#parts > limits.formFields) {
      throw this.#limit(
        "too_many_form_fields",
        `Multipart body exceeds the formFields limit of ${limits.formFields} parts`,
      );
    }
    const { headers, name, filename, type } = parsePartHead(
      await this.#headerBlock(),
    );
    if (filename === undefined) {
      this.#current = newPart("field");
      // Copy the pieces: a short value must not keep whole chunks alive.
      const pieces: Uint8Array[] = [];
      let piece: Uint8Array | null;
      while ((piece = await this.#content()) !== null) {
        pieces.push(piece.slice());
      }
      return { kind: "field", name, value: utf8.decode(join(pieces)) };
    }
    if (++this.#files > limits.files) {
      throw this.#limit(
        "too_many_files",
        `Multipart body exceeds the files limit of ${limits.files} files`,
      );
    }
    const current = newPart("file");
    this.#current = current;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        current.controller = controller;
      },
      pull: (controller) =>
        this.#exclusive(async () => {
          if (current.controller === null) return;
          if (this.#current !== current) {
            controller.error(new TypeError("The part was skipped"));
            return;
          }
          try {
            const piece = await this.#content();
            if (piece === null) {
              current.controller = null;
              controller.close();
            } else controller.enqueue(piece);
          } catch (error) {
            this.#fail(error);
          }
        }),
      cancel: () => {
        current.controller = null; // skipped when the iterator advances
      },
    }, { highWaterMark: 0 });
    return {
      kind: "file",
      name,
      filename,
      type: type ?? "application/octet-stream",
      headers,
      stream,
    };
  }

  /**
   * The header block up to and including its last CRLF ("" for none).
   * Bytes are copied into one buffer of at most `partHeaderBytes + 4`
   * bytes and searched once each, so a block sent a byte at a time costs
   * linear time.
   */
  async #headerBlock(): Promise<string> {
    const max = this.#limits.partHeaderBytes;
    const cap = max + 4;
    let acc = new Uint8Array(Math.min(cap, 256));
    let len = 0;
    let src = this.#buf;
    let off = this.#pos;
    while (true) {
      const take = Math.min(src.length - off, cap - len);
      if (len + take > acc.length) {
        const grown = new Uint8Array(
          Math.min(cap, Math.max(acc.length * 2, len + take)),
        );
        grown.set(acc.subarray(0, len));
        acc = grown;
      }
      acc.set(src.subarray(off, off + take), len);
      const from = Math.max(0, len - 3);
      len += take;
      off += take;
      if (len >= 2 && acc[0] === CR && acc[1] === LF) {
        this.#buf = src;
        this.#pos = off - (len - 2);
        return "";
      }
      const end = indexOfBytes(acc.subarray(0, len), CRLFCRLF, from);
      if (end !== -1 && end + 2 <= max) {
        // What follows the block came from `src`, just before `off`.
        this.#buf = src;
        this.#pos = off - (len - (end + 4));
        return latin1Decode(acc, 0, end + 2);
      }
      if (end !== -1 || len >= max + 2) {
        throw this.#limit(
          "part_headers_too_large",
          `Multipart part headers exceed the partHeaderBytes limit of ${max} bytes`,
        );
      }
      const chunk = await this.#read();
      if (chunk === null) throw malformed("part headers do not end");
      src = chunk;
      off = 0;
    }
  }

  /** Ends the current part's stream (if someone holds it) with `reason`. */
  #endCurrent(reason: unknown): void {
    const cur = this.#current;
    cur.ended = true;
    const controller = cur.controller;
    cur.controller = null;
    if (controller !== null) {
      try {
        controller.error(reason);
      } catch { /* already closed */ }
    }
  }

  #limit(reason: RejectReason, detail: string): HttpError {
    const error = new HttpError(413, detail, { reason });
    this.#onReject?.(reason, 413, detail);
    return error;
  }

  /** Fails the parse once: reports, cancels the source, errors the part stream. */
  #fail(error: unknown): unknown {
    if (this.#failed !== null) return this.#failed;
    const out = error instanceof HttpError ? error : new HttpError(
      400,
      "Malformed multipart body",
      { cause: error, reason: "form_malformed" },
    );
    // Limits and short bodies were reported where they were found.
    if (out.reason === "form_malformed") {
      this.#onReject?.("form_malformed", 400, out.message);
    }
    this.#failed = out;
    this.#finished = true;
    this.#endCurrent(out);
    this.#reader.cancel(out).catch(() => {});
    return out;
  }
}

const CRLFCRLF = new Uint8Array([CR, LF, CR, LF]);

/**
 * Parses a `multipart/form-data` body incrementally, yielding each part as
 * soon as its headers (for files) or its whole value (for fields) have
 * arrived. File contents are passed on chunk by chunk as they arrive
 * (boundaries are found across chunk edges with at most one delimiter's
 * length copied); nothing beyond the current chunk is buffered except field
 * values, which `fieldBytes` bounds.
 *
 * Limits (see {@linkcode MultipartLimits}) are checked as bytes arrive: a
 * chunk that would pass `bodyBytes` is refused before any of it is parsed;
 * a file or field is refused with the piece that would pass its limit; a
 * part beyond `formFields` or `files` is refused once its headers are read
 * (before its content). Each is an `HttpError` 413 naming the limit and its
 * value; framing errors (bad boundary, missing closing boundary, invalid
 * part headers, a part without `Content-Disposition: form-data; name=…`)
 * are 400. The error rejects `next()` or errors the part stream being
 * read, is reported once through `onReject`, and cancels `stream`. Errors
 * of `stream` itself pass through when they are `HttpError`s (such as the
 * 413 of `ctx.body.stream()`), else become 400.
 *
 * The preamble and epilogue are read and dropped. Breaking out of the loop
 * (`return()`) cancels `stream`.
 *
 * @param stream The request body, e.g. `ctx.body.stream()`.
 * @param boundary The `boundary` parameter of the `Content-Type`.
 * @param limits Size and count limits; each a positive integer.
 * @param onReject Called once per rejection, with its reason and detail.
 * @returns An async iterator of parts.
 * @throws {HttpError} 400 at once for an invalid boundary.
 * @throws {TypeError} when a limit is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { parseMultipartStream, safeFilename } from "./multipart_stream.ts";
 * const body = new Blob([
 *   '--X\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\n\r\nhello\r\n--X--\r\n',
 * ]).stream();
 * const limits = { fileBytes: 1 << 20, files: 10, formFields: 100, fieldBytes: 1 << 16, partHeaderBytes: 8192, bodyBytes: 2 << 20 };
 * for await (const part of parseMultipartStream(body, "X", limits)) {
 *   if (part.kind === "file") {
 *     const text = await new Response(part.stream).text(); // "hello"
 *     safeFilename(part.filename); // "a.txt"
 *   }
 * }
 * ```
 */
export function parseMultipartStream(
  stream: ReadableStream<Uint8Array>,
  boundary: string,
  limits: MultipartLimits,
  onReject?: RejectHook,
): AsyncIterableIterator<Part> {
  if (typeof boundary !== "string" || !BCHAR.test(boundary)) {
    const error = malformed("invalid boundary parameter");
    onReject?.("form_malformed", 400, error.message);
    stream.cancel(error).catch(() => {});
    throw error;
  }
  return new MultipartParser(stream, boundary, limits, onReject);
}
