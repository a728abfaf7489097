/**
 * Types of the streaming multipart parser: its limits and its parts.
 *
 * @module
 */

/** Limits of {@linkcode parseMultipartStream}; each must be a positive integer. */
export interface MultipartLimits {
  /** Largest content of one file part, in bytes. Over it: 413. */
  fileBytes: number;
  /** Most file parts (parts with a `filename`). One more: 413. */
  files: number;
  /** Most parts of any kind (fields and files). One more: 413. */
  formFields: number;
  /** Largest value of one non-file field, in bytes. Over it: 413. */
  fieldBytes: number;
  /**
   * Largest header block of one part (its header lines with their CRLFs,
   * without the empty line that ends them), in bytes. Over it: 413.
   */
  partHeaderBytes: number;
  /** Largest whole body, preamble and epilogue included, in bytes. Over it: 413. */
  bodyBytes: number;
}

/** A non-file part: its name and its value decoded as UTF-8. */
export interface FieldPart {
  /** Tells fields from files. */
  readonly kind: "field";
  /** The `name` of its `Content-Disposition`. */
  readonly name: string;
  /** The value, UTF-8 (invalid bytes become U+FFFD). */
  readonly value: string;
}

/** A file part, whose content is read from `stream`. */
export interface FilePart {
  /** Tells files from fields. */
  readonly kind: "file";
  /** The `name` of its `Content-Disposition`. */
  readonly name: string;
  /**
   * The `filename` as the client sent it (UTF-8), unsanitised: pass it
   * through `safeFilename` before using it on a file system.
   */
  readonly filename: string;
  /** Its `Content-Type`, default `application/octet-stream`. */
  readonly type: string;
  /** Every header field of the part. */
  readonly headers: Headers;
  /**
   * The content, in the chunks it arrived in. It must be read (or
   * cancelled) before the iterator moves on; a part left unread is skipped
   * (read and dropped, limits still enforced) when the iterator advances,
   * and the stream then errors with a `TypeError`.
   */
  readonly stream: ReadableStream<Uint8Array>;
}

/** One part of a multipart body. */
export type Part = FieldPart | FilePart;
