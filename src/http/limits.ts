/**
 * Request limits: defaults, validation and per-route merging.
 *
 * @module
 */

/**
 * Size and count limits applied to every request. Each limit is enforced the
 * same way on every transport and through `app.request()`.
 */
export interface Limits {
  /**
   * Longest request target (path and query) in bytes. Default 8 KiB. Over the
   * limit the request is answered 414 before routing.
   */
  urlBytes: number;
  /**
   * Most bytes of header fields (names plus values) in one request. Default
   * 16 KiB. Over the limit the request is answered 431 before routing.
   */
  headerBytes: number;
  /**
   * Most header fields in one request. Default 100. Over the limit the request
   * is answered 431 before routing.
   */
  headerCount: number;
  /**
   * Largest request body in bytes, declared by `Content-Length` or counted as
   * it streams. Default 1 MiB. A declared length over the limit is answered
   * 413 before a byte is read; a streamed body errors with 413 before the
   * handler sees a byte over the limit.
   */
  bodyBytes: number;
  /**
   * Deepest nesting of arrays and objects in a JSON body. Default 64. Deeper
   * input is answered 400.
   */
  jsonDepth: number;
  /**
   * Most fields (urlencoded pairs or multipart parts) in a form body. Default
   * 1000. More fields are answered 413.
   */
  formFields: number;
  /**
   * Most query parameters parsed by `ctx.query`. Default 1000. More are
   * answered 400.
   */
  queryParams: number;
  /**
   * Largest file of a multipart body, in bytes. Default 0, which means the
   * `bodyBytes` limit. A file part over it is answered 413 before a byte
   * over it is read.
   */
  fileBytes: number;
  /**
   * Most file parts in a multipart body. Default 100. One more is answered
   * 413 before its content is read.
   */
  files: number;
}

/**
 * The default limits of every App.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_LIMITS } from "@palisade/server";
 * DEFAULT_LIMITS.bodyBytes; // 1048576
 * ```
 */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  urlBytes: 8 * 1024,
  headerBytes: 16 * 1024,
  headerCount: 100,
  bodyBytes: 1024 * 1024,
  jsonDepth: 64,
  formFields: 1000,
  queryParams: 1000,
  fileBytes: 0,
  files: 100,
});

/**
 * Why a request was rejected; passed to the `onReject` hook and used as the
 * `reason` label of `palisade_rejections_total`.
 */
export type RejectReason =
  | "url_too_long"
  | "headers_too_large"
  | "too_many_headers"
  | "body_too_large"
  | "body_incomplete"
  | "json_too_deep"
  | "json_malformed"
  | "too_many_form_fields"
  | "too_many_files"
  | "file_too_large"
  | "field_too_large"
  | "part_headers_too_large"
  | "form_malformed"
  | "too_many_query_params"
  | "unsupported_media_type"
  | "bad_path"
  | "deadline"
  | "bad_request"
  | "bad_host"
  | "header_timeout"
  | "body_timeout"
  | "unsupported_transfer_encoding"
  | "unsupported_version"
  | "connection_limit"
  | "tls_handshake"
  | "overloaded"
  | "websocket_handshake";

/**
 * Merges `override` onto `base` and validates every value: each limit must be
 * a positive safe integer (`fileBytes` may be 0: the `bodyBytes` limit).
 *
 * @throws {TypeError} naming the option when a value is invalid.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_LIMITS, resolveLimits } from "./limits.ts";
 * const limits = resolveLimits(DEFAULT_LIMITS, { bodyBytes: 1024 });
 * limits.bodyBytes; // 1024
 * ```
 */
export function resolveLimits(
  base: Readonly<Limits>,
  override?: Partial<Limits>,
): Readonly<Limits> {
  if (override === undefined) return base;
  const out: Limits = { ...base };
  for (const key of Object.keys(override) as (keyof Limits)[]) {
    if (!(key in DEFAULT_LIMITS)) {
      throw new TypeError(`Unknown limit "${key}"`);
    }
    const value = override[key];
    if (value === undefined) continue;
    const min = key === "fileBytes" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new TypeError(
        `Limit "${key}" must be a ${
          min === 0 ? "non-negative" : "positive"
        } integer, got ${String(value)}`,
      );
    }
    out[key] = value;
  }
  return Object.freeze(out);
}
