/**
 * The body readers of `ctx.body`: `bytes`, `text`, `json`, `form` and
 * `stream`, each on the limited-read core, so `bodyBytes` (and `jsonDepth` /
 * `formFields`) are enforced the same way on every transport.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import type { Limits, RejectReason } from "../http/limits.ts";
import { positiveInt } from "../internal/validate.ts";
import { isJsonType, type MediaType, parseMediaType } from "./content_type.ts";
import type { BodyCoding } from "./encoding.ts";
import { parseUrlEncoded } from "./form.ts";
import { formFromParts } from "./multipart_form.ts";
import { parseJson } from "./json.ts";
import { parseMultipartStream } from "./multipart_stream.ts";
import type { Part } from "./multipart_types.ts";
import {
  ALREADY_READ,
  type BodySource,
  LimitedSource,
  type RejectHook,
} from "./limited.ts";

export type { BodySource, RejectHook } from "./limited.ts";

/** Options of every body reader. */
export interface BodyReadOptions {
  /**
   * Largest body in bytes for this read, a positive integer. A declared
   * `Content-Length` over it is answered 413 before a byte is read; a
   * streamed body errors with 413 before a byte over it is returned.
   *
   * @default {the bodyBytes limit of the App or route}
   */
  maxBytes?: number;
}

/** Options of {@linkcode Body.prototype.json}. */
export interface JsonReadOptions extends BodyReadOptions {
  /**
   * Deepest nesting of arrays and objects; deeper input is answered 400.
   *
   * @default {the jsonDepth limit}
   */
  maxDepth?: number;
}

/** Options of {@linkcode Body.prototype.parts}. */
export interface PartsReadOptions extends FormReadOptions {
  /**
   * Largest file part, in bytes; over it: 413 before a byte over is read.
   *
   * @default {the fileBytes limit (0 there: bodyBytes)}
   */
  maxFileBytes?: number;
  /** Most file parts; one more: 413. @default {the files limit} */
  maxFiles?: number;
  /**
   * Largest value of one non-file field, in bytes; over it: 413.
   *
   * @default {64 KiB, at most bodyBytes}
   */
  maxFieldBytes?: number;
  /**
   * Largest header block of one part, in bytes; over it: 413.
   *
   * @default {the headerBytes limit}
   */
  maxPartHeaderBytes?: number;
}

/** Options of {@linkcode Body.prototype.form}. */
export interface FormReadOptions extends BodyReadOptions {
  /**
   * Most urlencoded pairs or multipart parts; more are answered 413.
   *
   * @default {the formFields limit}
   */
  maxFields?: number;
}

const utf8 = new TextDecoder();
const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

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
 * carrying its reason, and is reported once through the `onReject` hook.
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
  #source: LimitedSource;
  #limits: Readonly<Limits>;
  #used = false;

  /**
   * Wraps `source` with the limits of its route.
   *
   * @param source A `Request` or a transport's request source.
   * @param limits The effective limits (`bodyBytes`, `jsonDepth`, `formFields`).
   * @param onReject Called once per rejection at the moment it is detected,
   * so the App counts it even if the handler catches the error.
   * @param encodings The request `Content-Encoding`s to decode (the App's
   * `requestEncodings`); a body sent with any other is answered 415.
   */
  constructor(
    source: BodySource,
    limits: Readonly<Limits>,
    onReject?: RejectHook,
    encodings?: readonly BodyCoding[],
  ) {
    this.#source = new LimitedSource(source, onReject, encodings);
    this.#limits = limits;
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
   * Body bytes read so far (what the access log reports as `bytesIn`).
   *
   * @example Usage
   * ```ts
   * import { Body, DEFAULT_LIMITS } from "@palisade/server";
   * const body = new Body(new Request("http://x/", { method: "POST", body: "hi" }), DEFAULT_LIMITS);
   * await body.text();
   * body.bytesRead; // 2
   * ```
   */
  get bytesRead(): number {
    return this.#source.bytesRead;
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
    return await this.#source.readAll(this.#maxBytes(options));
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
    const bytes = await this.#source.readAll(this.#maxBytes(options));
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
    const maxDepth = options?.maxDepth === undefined
      ? this.#limits.jsonDepth
      : positiveInt("maxDepth", options.maxDepth);
    const mt = this.#mediaType();
    if (mt === null || !isJsonType(mt)) {
      throw this.#unsupported("application/json", mt);
    }
    const bytes = await this.#source.readAll(maxBytes);
    const text = this.#decode(bytes, "json_malformed");
    return this.#parse(() => parseJson(text, maxDepth)) as T;
  }

  /**
   * Reads a form body, within `bodyBytes` and `formFields`:
   * `application/x-www-form-urlencoded` or `multipart/form-data` (file parts
   * become `File` objects, read with the limits of
   * {@linkcode Body.prototype.parts}). A multipart body is one body under
   * `bodyBytes`: the parts share that budget. Every field and file is held
   * in memory (about the body's size); stream big uploads with `parts()`
   * instead. Other types are answered 415 before the body is read.
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
    const maxFields = options?.maxFields === undefined
      ? this.#limits.formFields
      : positiveInt("maxFields", options.maxFields);
    const mt = this.#mediaType();
    if (mt?.essence === "application/x-www-form-urlencoded") {
      const bytes = await this.#source.readAll(maxBytes);
      return this.#parse(() => parseUrlEncoded(bytes, maxFields));
    }
    if (mt?.essence === "multipart/form-data") {
      return await formFromParts(
        this.#parts({ ...options, maxFields }, mt),
      );
    }
    throw this.#unsupported(
      "application/x-www-form-urlencoded or multipart/form-data",
      mt,
    );
  }

  /**
   * Reads a `multipart/form-data` body part by part, as the bytes arrive:
   * fields as `{ kind: "field", name, value }`, files as `{ kind: "file",
   * name, filename, type, headers, stream }`. Nothing is buffered but the
   * current chunk; a file part's `stream` not read before the iterator
   * moves on is skipped (read and dropped, limits still applied). Each
   * limit (`bodyBytes`, `fileBytes`, `files`, `formFields`, field value and
   * part-header sizes) is a 413 naming it, raised before more than the
   * limit is read; malformed framing is 400; another `Content-Type` 415.
   * Filenames are as sent: pass them through `safeFilename()`.
   *
   * @throws {HttpError} 415 for another `Content-Type`, 400 for a missing
   * boundary, at once; the others while iterating.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.post("/upload", { limits: { bodyBytes: 100 << 20 } }, async (ctx) => {
   *   let bytes = 0;
   *   for await (const part of ctx.body.parts()) {
   *     if (part.kind === "file") {
   *       for await (const chunk of part.stream) bytes += chunk.length;
   *     }
   *   }
   *   return ctx.json({ bytes });
   * });
   * ```
   */
  parts(options?: PartsReadOptions): AsyncIterableIterator<Part> {
    this.#begin();
    return this.#parts(options, this.#mediaType());
  }

  #parts(
    options: PartsReadOptions | undefined,
    mt: MediaType | null,
  ): AsyncIterableIterator<Part> {
    const limits = this.#limits;
    const bodyBytes = this.#maxBytes(options);
    if (mt?.essence !== "multipart/form-data") {
      throw this.#unsupported("multipart/form-data", mt);
    }
    const boundary = mt.params.boundary;
    if (boundary === undefined) {
      throw this.#source.reject(
        400,
        "form_malformed",
        "Multipart Content-Type has no boundary parameter",
      );
    }
    const opt = (name: string, v: number | undefined, d: number): number =>
      v === undefined ? d : positiveInt(name, v);
    return parseMultipartStream(this.#source.stream(bodyBytes), boundary, {
      bodyBytes,
      fileBytes: opt(
        "maxFileBytes",
        options?.maxFileBytes,
        limits.fileBytes === 0 ? bodyBytes : limits.fileBytes,
      ),
      files: opt("maxFiles", options?.maxFiles, limits.files),
      formFields: opt("maxFields", options?.maxFields, limits.formFields),
      fieldBytes: opt(
        "maxFieldBytes",
        options?.maxFieldBytes,
        Math.min(64 * 1024, bodyBytes),
      ),
      partHeaderBytes: opt(
        "maxPartHeaderBytes",
        options?.maxPartHeaderBytes,
        limits.headerBytes,
      ),
    }, this.#source.onReject);
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
    return this.#source.stream(this.#maxBytes(options));
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
    this.#source.cancel();
  }

  #begin(): void {
    if (this.#used) throw new TypeError(ALREADY_READ);
    this.#used = true;
  }

  #maxBytes(options: BodyReadOptions | undefined): number {
    const maxBytes = options?.maxBytes;
    return maxBytes === undefined
      ? this.#limits.bodyBytes
      : positiveInt("maxBytes", maxBytes);
  }

  #mediaType(): MediaType | null {
    const value = this.#source.header("content-type");
    return value === null ? null : parseMediaType(value);
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
        reason,
      });
      this.#source.report(error);
      throw error;
    }
  }

  /** Runs a parser; reports the rejection an HttpError it throws carries. */
  #parse<T>(parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      if (error instanceof HttpError) this.#source.report(error);
      throw error;
    }
  }

  #unsupported(expected: string, mt: MediaType | null): HttpError {
    const got = mt !== null
      ? mt.essence
      : this.#source.header("content-type") === null
      ? "no Content-Type"
      : "a malformed Content-Type";
    return this.#source.reject(
      415,
      "unsupported_media_type",
      `Expected ${expected}, got ${got}`,
    );
  }
}
