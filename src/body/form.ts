/**
 * The `application/x-www-form-urlencoded` parser, over bytes whose size the
 * caller has already bounded (multipart bodies are parsed as a stream, by
 * `multipart_stream.ts`).
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";

const utf8 = new TextDecoder();

function tooManyFields(maxFields: number): HttpError {
  return new HttpError(
    413,
    `Form exceeds the formFields limit of ${maxFields} fields`,
    { reason: "too_many_form_fields" },
  );
}

/**
 * Parses an `application/x-www-form-urlencoded` body into a `FormData` of
 * string fields, following the WHATWG URL parser (`+` is a space, invalid
 * percent escapes and invalid UTF-8 are kept leniently, empty pairs between
 * `&` are skipped).
 *
 * Fields are counted before any is decoded, so an over-limit body costs one
 * byte scan.
 *
 * @param bytes The whole body.
 * @param maxFields Most fields allowed (the `formFields` limit).
 * @returns The fields in order.
 * @throws {HttpError} 413 when there are more than `maxFields` fields.
 *
 * @example Usage
 * ```ts
 * import { parseUrlEncoded } from "./form.ts";
 * const form = parseUrlEncoded(new TextEncoder().encode("a=1&b=x+y"), 1000);
 * form.get("b"); // "x y"
 * ```
 */
export function parseUrlEncoded(
  bytes: Uint8Array,
  maxFields: number,
): FormData {
  let fields = 0;
  let start = 0;
  while (start <= bytes.length) {
    let amp = bytes.indexOf(0x26, /* & */ start);
    if (amp === -1) amp = bytes.length;
    if (amp > start && ++fields > maxFields) throw tooManyFields(maxFields);
    start = amp + 1;
  }
  const form = new FormData();
  if (fields === 0) return form;
  for (const [name, value] of new URLSearchParams(utf8.decode(bytes))) {
    form.append(name, value);
  }
  return form;
}

// RFC 2046 §5.1.1: bchars := bcharsnospace / " "
