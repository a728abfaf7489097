/**
 * The limited-read core under every body reader: the declared
 * `Content-Length` checked before a byte is read, streamed bytes counted
 * against the limit as they arrive, short and broken bodies told apart, and
 * every rejection reported once with its reason.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import type { RejectReason } from "../http/limits.ts";
import { type BodyCoding, decodeBody } from "./encoding.ts";

/**
 * Called once per body rejection, at the moment it is detected, with the
 * reason, the status the client gets and the error detail. Must not throw.
 */
export type RejectHook = (
  reason: RejectReason,
  status: number,
  detail: string,
) => void;

/**
 * What a body is read from: a `Request`, or a transport's `RequestSource`
 * (its `header()` is used when present, to avoid building `Headers`).
 */
export interface BodySource {
  /** The request header fields. */
  readonly headers: Headers;
  /** The request body, or null when the request has none. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Optional fast header lookup by lower-case name. */
  header?(name: string): string | null;
}

/** The message of a second read of one body. */
export const ALREADY_READ = "Request body has already been read";
const EMPTY = new Uint8Array(0);
const DIGITS = /^[0-9]+$/;

function noop(): void {}

/** One request body, read at most once within a byte limit. */
export class LimitedSource {
  /** Body bytes delivered so far. */
  bytesRead = 0;
  readonly #source: BodySource;
  readonly #onReject: RejectHook | undefined;
  /** The source is finished: fully read, failed or cancelled. */
  #done = false;
  /** cancel() was called (by the App, or by a rejection). */
  #cancelled = false;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;

  readonly #encodings: readonly BodyCoding[];

  /**
   * Wraps `source`; `encodings` are the `Content-Encoding`s decoded (their
   * decoded bytes count against the limit), any other is answered 415.
   */
  constructor(
    source: BodySource,
    onReject?: RejectHook,
    encodings: readonly BodyCoding[] = [],
  ) {
    this.#source = source;
    this.#onReject = onReject;
    this.#encodings = encodings;
  }

  /**
   * The body to read: the source, or its decoding when it has a
   * `Content-Encoding` (decoded bytes counted against `limit`).
   *
   * @throws {HttpError} 415 for a coding that is not decoded.
   */
  #body(limit: number): ReadableStream<Uint8Array> | null {
    const raw = this.#source.body;
    const coding = this.header("content-encoding");
    if (raw === null || coding === null) return raw;
    try {
      return decodeBody(raw, coding, {
        limit,
        allowed: this.#encodings,
        onReject: this.#onReject,
      });
    } catch (error) {
      this.cancel();
      throw error;
    }
  }

  /** Whether the body is sent with a content coding (not `identity`). */
  #encoded(): boolean {
    const coding = this.header("content-encoding");
    return coding !== null && coding.trim().toLowerCase() !== "identity" &&
      coding.trim() !== "";
  }

  /** A request header, by lower-case name. */
  header(name: string): string | null {
    const source = this.#source;
    return source.header !== undefined
      ? source.header(name)
      : source.headers.get(name);
  }

  /** The declared Content-Length, or null; rejects invalid and over-limit values. */
  declaredLength(limit: number): number | null {
    const value = this.header("content-length");
    if (value === null) return null;
    if (!DIGITS.test(value)) {
      throw this.reject(400, "bad_request", "Invalid Content-Length header");
    }
    const declared = Number(value);
    if (declared > limit) throw this.tooLarge(limit);
    return declared;
  }

  /** Reads the whole body; rejects (never throws synchronously). */
  readAll(limit: number): Promise<Uint8Array> {
    let declared: number | null;
    try {
      declared = this.declaredLength(limit);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#encoded()) return this.#readStream(limit, null);
    return declared !== null && this.#source instanceof Request
      ? this.#readDeclaredRequest(this.#source, declared)
      : this.#readStream(limit, declared);
  }

  /**
   * The body as a stream counted against `limit`; see `Body.stream`. Throws
   * at once for a declared length over the limit or invalid.
   */
  stream(limit: number): ReadableStream<Uint8Array> {
    let declared = this.declaredLength(limit);
    if (this.#encoded()) declared = null; // it declares the encoded length
    const source = this.#body(limit);
    if (source === null) {
      if (declared !== null && declared > 0) {
        throw this.#incomplete(0, declared);
      }
      this.#done = true;
      return new ReadableStream({ start: (c) => c.close() });
    }
    const reader = this.#acquire(source);
    return new ReadableStream<Uint8Array>({
      pull: async (controller): Promise<void> => {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          controller.error(this.#broken(error));
          return;
        }
        if (result.done) {
          const error = this.#atEnd(declared);
          if (error !== null) controller.error(error);
          else controller.close();
          return;
        }
        const chunk = result.value;
        const error = this.#checkChunk(chunk.length, limit, declared);
        if (error !== null) {
          controller.error(error);
          return;
        }
        this.bytesRead += chunk.length;
        controller.enqueue(chunk);
      },
      cancel: (reason): void => {
        this.#done = true;
        reader.cancel(reason).catch(noop);
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Cancels the source body unless it was read to the end, so an unread (or
   * partly read) upload stops being pulled. Never throws.
   */
  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.#cancelled = true;
    try {
      if (this.#reader !== null) {
        this.#reader.cancel().catch(noop);
      } else {
        const body = this.#source.body;
        if (body !== null && !body.locked) body.cancel().catch(noop);
      }
    } catch {
      // Never throws: the body may belong to someone else already.
    }
  }

  /** Builds the error, cancels the source and reports the rejection. */
  reject(
    status: number,
    reason: RejectReason,
    detail: string,
    cause?: unknown,
  ): HttpError {
    const error = new HttpError(status, detail, { cause, reason });
    this.cancel();
    this.report(error);
    return error;
  }

  /** The rejection hook, for parsers that report on their own. */
  get onReject(): RejectHook | undefined {
    return this.#onReject;
  }

  /** Reports `error` through the hook when it carries a rejection reason. */
  report(error: HttpError): void {
    if (error.reason !== undefined) {
      this.#onReject?.(
        error.reason,
        error.status,
        error.detail ?? error.message,
      );
    }
  }

  /** The 413 for `limit`. */
  tooLarge(limit: number): HttpError {
    return this.reject(
      413,
      "body_too_large",
      `Request body exceeds the bodyBytes limit of ${limit} bytes`,
    );
  }

  #acquire(
    stream: ReadableStream<Uint8Array>,
  ): ReadableStreamDefaultReader<Uint8Array> {
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    try {
      reader = stream.getReader();
    } catch {
      throw new TypeError(ALREADY_READ);
    }
    this.#reader = reader;
    return reader;
  }

  async #readStream(
    limit: number,
    declared: number | null,
  ): Promise<Uint8Array> {
    const source = this.#body(limit);
    if (source === null) {
      if (declared !== null && declared > 0) {
        throw this.#incomplete(0, declared);
      }
      this.#done = true;
      return EMPTY;
    }
    const reader = this.#acquire(source);
    // With a declared length, copy into one pre-sized buffer (or keep the
    // single chunk that is the whole body); otherwise collect and concat once.
    let buffer: Uint8Array | null = null;
    let single: Uint8Array | null = null;
    const chunks: Uint8Array[] = [];
    while (true) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        throw this.#broken(error);
      }
      if (result.done) break;
      const chunk = result.value;
      const length = chunk.length;
      if (length === 0) continue;
      const error = this.#checkChunk(length, limit, declared);
      if (error !== null) throw error;
      const total = this.bytesRead;
      if (declared === null) {
        chunks.push(chunk);
      } else if (total === 0 && length === declared) {
        single = chunk;
      } else {
        buffer ??= new Uint8Array(declared);
        buffer.set(chunk, total);
      }
      this.bytesRead += length;
    }
    const error = this.#atEnd(declared);
    if (error !== null) throw error;
    if (declared !== null) return single ?? buffer ?? EMPTY;
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(this.bytesRead);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  /**
   * Reads a `Request` whose declared length is within the limit through the
   * platform's one-shot `arrayBuffer()`, several times cheaper than a
   * reader loop on `Deno.serve` requests. Safe because the transport frames
   * the body by that length: Deno.serve (HTTP/1.1 and HTTP/2) never delivers
   * more than `Content-Length` bytes and answers 400 itself to a request
   * with both `Content-Length` and `Transfer-Encoding` or conflicting
   * lengths. A length mismatch from a hand-built `Request` is still a 400.
   * It never touches `req.body`: on Deno.serve that getter builds a stream
   * and turns `arrayBuffer()` into the slow path.
   */
  async #readDeclaredRequest(
    req: Request,
    declared: number,
  ): Promise<Uint8Array> {
    if (req.bodyUsed) throw new TypeError(ALREADY_READ);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await req.arrayBuffer());
    } catch (error) {
      throw this.#broken(error);
    }
    if (this.#cancelled) {
      throw new HttpError(400, "Request body was cancelled");
    }
    const error = this.#checkChunk(bytes.length, Infinity, declared);
    if (error !== null) throw error;
    this.bytesRead = bytes.length;
    if (bytes.length < declared) throw this.#incomplete(bytes.length, declared);
    this.#done = true;
    return bytes;
  }

  /** The error at the end of the source, or null when the body is whole. */
  #atEnd(declared: number | null): HttpError | null {
    if (this.#cancelled) {
      return new HttpError(400, "Request body was cancelled");
    }
    if (declared !== null && this.bytesRead < declared) {
      return this.#incomplete(this.bytesRead, declared);
    }
    this.#done = true;
    return null;
  }

  /** The error for a next chunk of `length`, or null. */
  #checkChunk(
    length: number,
    limit: number,
    declared: number | null,
  ): HttpError | null {
    const total = this.bytesRead + length;
    if (total > limit) return this.tooLarge(limit);
    if (declared !== null && total > declared) {
      return this.reject(
        400,
        "bad_request",
        `Request body is longer than its Content-Length of ${declared} bytes`,
      );
    }
    return null;
  }

  #incomplete(received: number, declared: number): HttpError {
    return this.reject(
      400,
      "body_incomplete",
      `Request body ended after ${received} of the ${declared} bytes declared by Content-Length`,
    );
  }

  /** Maps a failure of the source stream; HttpErrors from the transport pass through. */
  #broken(cause: unknown): HttpError {
    this.#done = true;
    if (cause instanceof HttpError) return cause;
    if (this.#cancelled) {
      return new HttpError(400, "Request body was cancelled");
    }
    return this.reject(
      400,
      "body_incomplete",
      "Request body ended before it was complete",
      cause,
    );
  }
}
