/**
 * Limited request body readers: `bytes`, `text`, `json`, `form` and
 * `stream`, each enforcing `bodyBytes` (and `jsonDepth` / `formFields`) the
 * same way on every transport.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import type { Limits, RejectReason } from "../http/limits.ts";
import { isJsonType, type MediaType, parseMediaType } from "./content_type.ts";
import { parseJson } from "./json.ts";
import { parseMultipart, parseUrlEncoded } from "./form.ts";

/** Options of every body reader. */
export interface BodyReadOptions {
  /**
   * Largest body in bytes for this read, overriding the `bodyBytes` limit of
   * the App or route. Must be a positive integer. A declared
   * `Content-Length` over it is answered 413 before a byte is read; a
   * streamed body errors with 413 before a byte over it is returned.
   */
  maxBytes?: number;
}

/** Options of {@linkcode Body.prototype.json}. */
export interface JsonReadOptions extends BodyReadOptions {
  /**
   * Deepest nesting of arrays and objects, overriding the `jsonDepth` limit.
   * Deeper input is answered 400.
   */
  maxDepth?: number;
}

/** Options of {@linkcode Body.prototype.form}. */
export interface FormReadOptions extends BodyReadOptions {
  /**
   * Most urlencoded pairs or multipart parts, overriding the `formFields`
   * limit. More are answered 413.
   */
  maxFields?: number;
}

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
 * What a {@linkcode Body} reads from: a `Request`, or a transport's
 * `RequestSource` (its `header()` is used when present, to avoid building
 * `Headers`).
 */
export interface BodySource {
  /** The request header fields. */
  readonly headers: Headers;
  /** The request body, or null when the request has none. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Optional fast header lookup by lower-case name. */
  header?(name: string): string | null;
}

const ALREADY_READ = "Request body has already been read";
const utf8 = new TextDecoder();
const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);
const DIGITS = /^[0-9]+$/;

function noop(): void {}

function validateOption(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
    throw new TypeError(
      `Option "${name}" must be a positive integer, got ${String(value)}`,
    );
  }
}

/**
 * The request body, readable once through one of its limited readers. The
 * App exposes it as `ctx.body`.
 *
 * Every reader enforces `bodyBytes`: a declared `Content-Length` over the
 * limit is rejected with 413 before any byte is read; a body of unknown
 * length (chunked) is counted as it arrives and the read fails with 413 as
 * soon as the next chunk would pass the limit, without returning any of it
 * and without pulling more from the client (the source is cancelled). A
 * body that ends before its declared `Content-Length`, or that the
 * transport reports as broken, is a 400; an invalid `Content-Length` value
 * (not only digits) is a 400. Every rejection is an {@linkcode HttpError}
 * and is reported once through the `onReject` hook.
 *
 * Reading a second time (or after something else consumed the request's
 * stream) throws `TypeError("Request body has already been read")`: it is a
 * programming error, rendered as a generic 500.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * const app = new App();
 * app.post("/items", async (ctx) => {
 *   const item = await ctx.body.json<{ name: string }>();
 *   return ctx.json({ name: item.name }, { status: 201 });
 * });
 * ```
 */
export class Body {
  #source: BodySource;
  #limits: Readonly<Limits>;
  #onReject: RejectHook | undefined;
  #used = false;
  /** The source is finished: fully read, failed or cancelled. */
  #done = false;
  /** cancel() was called by the App (or a rejection cancelled the source). */
  #cancelled = false;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;

  /**
   * Wraps `source` with the limits of its route.
   *
   * @param source A `Request` or a transport's request source.
   * @param limits The effective limits (`bodyBytes`, `jsonDepth`, `formFields`).
   * @param onReject Called once per rejection at the moment it is detected,
   * so the App counts it even if the handler catches the error.
   */
  constructor(
    source: BodySource,
    limits: Readonly<Limits>,
    onReject?: RejectHook,
  ) {
    this.#source = source;
    this.#limits = limits;
    this.#onReject = onReject;
  }

  /**
   * True once any reader was called (even one that was rejected).
   *
   * @example Usage
   * ```ts
   * import { Body, DEFAULT_LIMITS } from "@palisade/server";
   * const body = new Body(new Request("http://x/", { method: "POST", body: "hi" }), DEFAULT_LIMITS);
   * body.used; // false
   * await body.text();
   * body.used; // true
   * ```
   */
  get used(): boolean {
    return this.#used;
  }

  /**
   * Reads the whole body as bytes, within `bodyBytes`.
   *
   * @throws {HttpError} 413 over the limit, 400 for a broken or short body or
   * an invalid `Content-Length`.
   * @throws {TypeError} when the body was already read.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.put("/blob", async (ctx) => {
   *   const bytes = await ctx.body.bytes({ maxBytes: 10 << 20 });
   *   return ctx.json({ size: bytes.length });
   * });
   * ```
   */
  async bytes(options?: BodyReadOptions): Promise<Uint8Array> {
    this.#begin();
    return await this.#readAll(this.#maxBytes(options));
  }

  /**
   * Reads the whole body as UTF-8 text (a leading BOM is dropped), within
   * `bodyBytes`. The `Content-Type` is not checked.
   *
   * @throws {HttpError} 400 when the bytes are not valid UTF-8, plus the
   * errors of {@linkcode Body.prototype.bytes}.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.post("/echo", async (ctx) => ctx.text(await ctx.body.text()));
   * ```
   */
  async text(options?: BodyReadOptions): Promise<string> {
    this.#begin();
    const bytes = await this.#readAll(this.#maxBytes(options));
    return this.#decode(bytes, "bad_request");
  }

  /**
   * Reads and parses a JSON body, within `bodyBytes` and `jsonDepth`. The
   * `Content-Type` must be `application/json` or end in `+json` (any
   * `charset` parameter is ignored: RFC 8259 JSON is UTF-8), else 415
   * before the body is read. Keys named `__proto__`, `constructor` and
   * `prototype` are removed from the result (see `parseJson`).
   *
   * @throws {HttpError} 415 for another or a malformed `Content-Type`; 400
   * for malformed JSON (the detail names the position), nesting over
   * `jsonDepth` or invalid UTF-8; plus the errors of
   * {@linkcode Body.prototype.bytes}.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.post("/users", async (ctx) => {
   *   const user = await ctx.body.json<{ name: string }>({ maxDepth: 8 });
   *   return ctx.json(user, { status: 201 });
   * });
   * ```
   */
  async json<T = unknown>(options?: JsonReadOptions): Promise<T> {
    this.#begin();
    const maxBytes = this.#maxBytes(options);
    validateOption("maxDepth", options?.maxDepth);
    const maxDepth = options?.maxDepth ?? this.#limits.jsonDepth;
    const mt = this.#mediaType();
    if (mt === null || !isJsonType(mt)) {
      throw this.#unsupported("application/json", mt);
    }
    const text = this.#decode(await this.#readAll(maxBytes), "json_malformed");
    try {
      return parseJson(text, maxDepth) as T;
    } catch (error) {
      if (error instanceof HttpError) {
        const reason = error.message.startsWith("JSON nesting")
          ? "json_too_deep"
          : "json_malformed";
        this.#report(reason, error);
      }
      throw error;
    }
  }

  /**
   * Reads a form body, within `bodyBytes` and `formFields`:
   * `application/x-www-form-urlencoded` or `multipart/form-data` (file parts
   * become `File` objects). A multipart body is one body under `bodyBytes`:
   * the parts share that budget. Other types are answered 415 before the
   * body is read.
   *
   * @throws {HttpError} 415 for another or a malformed `Content-Type`; 413
   * for more than `formFields` fields; 400 for a malformed multipart body or
   * a missing boundary; plus the errors of {@linkcode Body.prototype.bytes}.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.post("/upload", async (ctx) => {
   *   const form = await ctx.body.form();
   *   const file = form.get("avatar");
   *   return ctx.json({ size: file instanceof File ? file.size : 0 });
   * });
   * ```
   */
  async form(options?: FormReadOptions): Promise<FormData> {
    this.#begin();
    const maxBytes = this.#maxBytes(options);
    validateOption("maxFields", options?.maxFields);
    const maxFields = options?.maxFields ?? this.#limits.formFields;
    const mt = this.#mediaType();
    if (mt?.essence === "application/x-www-form-urlencoded") {
      const bytes = await this.#readAll(maxBytes);
      return this.#parseForm(() => parseUrlEncoded(bytes, maxFields));
    }
    if (mt?.essence === "multipart/form-data") {
      const boundary = mt.params.boundary;
      if (boundary === undefined) {
        throw this.#reject(
          400,
          "form_malformed",
          "Multipart Content-Type has no boundary parameter",
        );
      }
      const bytes = await this.#readAll(maxBytes);
      return this.#parseForm(() => parseMultipart(bytes, boundary, maxFields));
    }
    throw this.#unsupported(
      "application/x-www-form-urlencoded or multipart/form-data",
      mt,
    );
  }

  /**
   * Returns the body as a stream that counts bytes against `bodyBytes`. A
   * declared `Content-Length` over the limit (or an invalid one) throws at
   * once, before any byte is read. Otherwise the stream errors with
   * `HttpError` 413 instead of delivering a chunk that would pass the limit
   * (none of that chunk is delivered) and cancels the source; it errors
   * with 400 when the body ends before its `Content-Length`. Cancelling the
   * returned stream (e.g. `break` in `for await`) cancels the source. It
   * pulls from the client only as fast as it is read.
   *
   * @throws {HttpError} 413 or 400 at once for a declared length over the
   * limit or invalid.
   * @throws {TypeError} when the body was already read.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.post("/upload", { limits: { bodyBytes: 100 << 20 } }, async (ctx) => {
   *   let size = 0;
   *   for await (const chunk of ctx.body.stream()) size += chunk.length;
   *   return ctx.json({ size });
   * });
   * ```
   */
  stream(options?: BodyReadOptions): ReadableStream<Uint8Array> {
    this.#begin();
    const limit = this.#maxBytes(options);
    const declared = this.#declaredLength(limit);
    const source = this.#source.body;
    if (source === null) {
      if (declared !== null && declared > 0) {
        throw this.#incomplete(0, declared);
      }
      this.#done = true;
      return new ReadableStream({ start: (c) => c.close() });
    }
    const reader = this.#acquire(source);
    let total = 0;
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
          if (this.#cancelled) {
            controller.error(new HttpError(400, "Request body was cancelled"));
          } else if (declared !== null && total < declared) {
            controller.error(this.#incomplete(total, declared));
          } else {
            this.#done = true;
            controller.close();
          }
          return;
        }
        const chunk = result.value;
        const error = this.#checkChunk(total, chunk.length, limit, declared);
        if (error !== null) {
          controller.error(error);
          return;
        }
        total += chunk.length;
        controller.enqueue(chunk);
      },
      cancel: (reason): void => {
        this.#done = true;
        reader.cancel(reason).catch(noop);
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Cancels the source body unless it was read to the end. The App calls it
   * when the response is sent, so an unread (or partly read) upload stops
   * being pulled. Never throws.
   *
   * @example Usage
   * ```ts
   * import { Body, DEFAULT_LIMITS } from "@palisade/server";
   * const body = new Body(new Request("http://x/", { method: "POST", body: "unread" }), DEFAULT_LIMITS);
   * body.cancel();
   * ```
   */
  cancel(): void {
    this.#cancelSource();
  }

  #begin(): void {
    if (this.#used) throw new TypeError(ALREADY_READ);
    this.#used = true;
  }

  #maxBytes(options: BodyReadOptions | undefined): number {
    const maxBytes = options?.maxBytes;
    if (maxBytes === undefined) return this.#limits.bodyBytes;
    validateOption("maxBytes", maxBytes);
    return maxBytes;
  }

  #header(name: string): string | null {
    const source = this.#source;
    return source.header !== undefined
      ? source.header(name)
      : source.headers.get(name);
  }

  #mediaType(): MediaType | null {
    const value = this.#header("content-type");
    return value === null ? null : parseMediaType(value);
  }

  /** The declared Content-Length, or null; rejects invalid and over-limit values. */
  #declaredLength(limit: number): number | null {
    const value = this.#header("content-length");
    if (value === null) return null;
    if (!DIGITS.test(value)) {
      throw this.#reject(400, "bad_request", "Invalid Content-Length header");
    }
    const declared = Number(value);
    if (declared > limit) throw this.#tooLarge(limit);
    return declared;
  }

  #acquire(stream: ReadableStream<Uint8Array>): ReadableStreamDefaultReader<
    Uint8Array
  > {
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    try {
      reader = stream.getReader();
    } catch {
      throw new TypeError(ALREADY_READ);
    }
    this.#reader = reader;
    return reader;
  }

  /** Reads the whole body; rejects (never throws synchronously). */
  #readAll(limit: number): Promise<Uint8Array> {
    let declared: number | null;
    try {
      declared = this.#declaredLength(limit);
    } catch (error) {
      return Promise.reject(error);
    }
    return declared !== null && this.#source instanceof Request
      ? this.#readDeclaredRequest(this.#source, declared)
      : this.#readStream(limit, declared);
  }

  async #readStream(
    limit: number,
    declared: number | null,
  ): Promise<Uint8Array> {
    const source = this.#source.body;
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
    let total = 0;
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
      const error = this.#checkChunk(total, length, limit, declared);
      if (error !== null) throw error;
      if (declared === null) {
        chunks.push(chunk);
      } else if (total === 0 && length === declared) {
        single = chunk;
      } else {
        buffer ??= new Uint8Array(declared);
        buffer.set(chunk, total);
      }
      total += length;
    }
    if (this.#cancelled) {
      throw new HttpError(400, "Request body was cancelled");
    }
    if (declared !== null && total < declared) {
      throw this.#incomplete(total, declared);
    }
    this.#done = true;
    if (declared !== null) return single ?? buffer ?? EMPTY;
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(total);
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
    const error = this.#checkChunk(0, bytes.length, Infinity, declared);
    if (error !== null) throw error;
    if (bytes.length < declared) throw this.#incomplete(bytes.length, declared);
    this.#done = true;
    return bytes;
  }

  /** The error for a chunk of `length` after `total` bytes, or null. */
  #checkChunk(
    total: number,
    length: number,
    limit: number,
    declared: number | null,
  ): HttpError | null {
    if (total + length > limit) return this.#tooLarge(limit);
    if (declared !== null && total + length > declared) {
      return this.#reject(
        400,
        "bad_request",
        `Request body is longer than its Content-Length of ${declared} bytes`,
      );
    }
    return null;
  }

  #decode(bytes: Uint8Array, reason: RejectReason): string {
    // The lenient decoder is ~10x faster than the fatal one; only text that
    // contains U+FFFD (an invalid sequence, or a real U+FFFD) is re-checked.
    const text = utf8.decode(bytes);
    if (!text.includes("\uFFFD")) return text;
    try {
      return fatalUtf8.decode(bytes);
    } catch (cause) {
      const error = new HttpError(400, "Request body is not valid UTF-8", {
        cause,
      });
      this.#report(reason, error);
      throw error;
    }
  }

  #parseForm(parse: () => FormData): FormData {
    try {
      return parse();
    } catch (error) {
      if (error instanceof HttpError) {
        this.#report(
          error.status === 413 ? "too_many_form_fields" : "form_malformed",
          error,
        );
      }
      throw error;
    }
  }

  #tooLarge(limit: number): HttpError {
    return this.#reject(
      413,
      "body_too_large",
      `Request body exceeds the bodyBytes limit of ${limit} bytes`,
    );
  }

  #incomplete(received: number, declared: number): HttpError {
    return this.#reject(
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
    return this.#reject(
      400,
      "body_incomplete",
      "Request body ended before it was complete",
      cause,
    );
  }

  #unsupported(expected: string, mt: MediaType | null): HttpError {
    const got = mt !== null
      ? mt.essence
      : this.#header("content-type") === null
      ? "no Content-Type"
      : "a malformed Content-Type";
    return this.#reject(
      415,
      "unsupported_media_type",
      `Expected ${expected}, got ${got}`,
    );
  }

  /** Builds the error, cancels the source and reports the rejection. */
  #reject(
    status: number,
    reason: RejectReason,
    detail: string,
    cause?: unknown,
  ): HttpError {
    const error = new HttpError(status, detail, { cause });
    this.#cancelSource();
    this.#report(reason, error);
    return error;
  }

  #report(reason: RejectReason, error: HttpError): void {
    this.#onReject?.(reason, error.status, error.detail ?? error.message);
  }

  #cancelSource(): void {
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
}
