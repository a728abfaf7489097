/**
 * The buffered multipart parser the project used before the streaming one:
 * kept here only as an independent oracle for differential tests of
 * `parseMultipartStream`.
 *
 * @module
 */

import { HttpError } from "../../src/http/errors.ts";
import {
  parseContentDisposition,
  parseMediaType,
} from "../../src/body/content_type.ts";
import { latin1Decode } from "../../src/internal/text.ts";
import { indexOfBytes } from "../../src/body/multipart_scan.ts";

const utf8 = new TextDecoder();

function tooManyFields(maxFields: number): HttpError {
  return new HttpError(
    413,
    `Form exceeds the formFields limit of ${maxFields} fields`,
  );
}

const BCHAR = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

function malformed(detail: string): HttpError {
  return new HttpError(400, `Malformed multipart body: ${detail}`, {
    reason: "form_malformed",
  });
}

/**
 * Parses a `multipart/form-data` body (RFC 7578 over RFC 2046 framing) into
 * a `FormData`. Parts with a `filename` become `File` objects carrying that
 * name and the part's `Content-Type` (default `application/octet-stream`);
 * other parts become UTF-8 strings (invalid bytes become U+FFFD).
 *
 * The caller bounds the whole body by `bodyBytes` before calling, so no part
 * can bypass the size limit. A preamble before the first boundary and an
 * epilogue after the closing one are ignored, as RFC 2046 requires.
 *
 * @param bytes The whole body.
 * @param boundary The `boundary` parameter of the `Content-Type`.
 * @param maxFields Most parts allowed (the `formFields` limit).
 * @returns The fields and files in order.
 * @throws {HttpError} 400 for an invalid boundary, bad framing, a missing
 * closing boundary, or a part without `Content-Disposition: form-data;
 * name=...`; 413 when there are more than `maxFields` parts.
 *
 * @example Usage
 * ```ts
 * import { parseMultipart } from "./form.ts";
 * const body = "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--X--\r\n";
 * const form = parseMultipart(new TextEncoder().encode(body), "X", 1000);
 * form.get("a"); // "1"
 * ```
 */
export function parseMultipart(
  bytes: Uint8Array,
  boundary: string,
  maxFields: number,
): FormData {
  if (!BCHAR.test(boundary)) throw malformed("invalid boundary parameter");
  // Every delimiter after the first is CRLF "--" boundary.
  const delimiter = new Uint8Array(boundary.length + 4);
  delimiter[0] = 0x0d;
  delimiter[1] = 0x0a;
  delimiter[2] = delimiter[3] = 0x2d;
  for (let k = 0; k < boundary.length; k++) {
    delimiter[k + 4] = boundary.charCodeAt(k);
  }
  const n = bytes.length;
  // The first delimiter may open the body without a leading CRLF.
  let pos: number; // index just past the boundary of the current delimiter
  if (startsWithAt(bytes, delimiter, 2, 0)) {
    pos = delimiter.length - 2;
  } else {
    const at = indexOfBytes(bytes, delimiter, 0);
    if (at === -1) throw malformed("no boundary found");
    pos = at + delimiter.length;
  }
  const form = new FormData();
  let parts = 0;
  while (true) {
    // After a boundary: "--" closes the body; else transport padding, CRLF.
    if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d) return form;
    while (pos < n && (bytes[pos] === 0x20 || bytes[pos] === 0x09)) pos++;
    if (pos >= n) throw malformed("missing closing boundary");
    if (bytes[pos] !== 0x0d || bytes[pos + 1] !== 0x0a) {
      throw malformed("unexpected bytes after a boundary");
    }
    pos += 2;
    if (++parts > maxFields) throw tooManyFields(maxFields);
    // Part headers end at the first empty line.
    let headersEnd: number;
    if (bytes[pos] === 0x0d && bytes[pos + 1] === 0x0a) {
      headersEnd = pos; // no header fields
    } else {
      headersEnd = indexOfBytes(bytes, CRLFCRLF, pos);
      if (headersEnd === -1) throw malformed("part headers do not end");
      headersEnd += 2;
    }
    const next = indexOfBytes(bytes, delimiter, headersEnd + 2);
    if (next === -1) throw malformed("missing closing boundary");
    addPart(form, bytes, pos, headersEnd, headersEnd + 2, next);
    pos = next + delimiter.length;
  }
}

const CRLFCRLF = new Uint8Array([0x0d, 0x0a, 0x0d, 0x0a]);

function startsWithAt(
  hay: Uint8Array,
  needle: Uint8Array,
  needleFrom: number,
  at: number,
): boolean {
  const len = needle.length - needleFrom;
  if (at + len > hay.length) return false;
  for (let k = 0; k < len; k++) {
    if (hay[at + k] !== needle[needleFrom + k]) return false;
  }
  return true;
}

/**
 * Parses the header lines in `bytes[headStart, headEnd)` (each ending CRLF)
 * and appends the part whose content is `bytes[bodyStart, bodyEnd)`.
 */
function addPart(
  form: FormData,
  bytes: Uint8Array,
  headStart: number,
  headEnd: number,
  bodyStart: number,
  bodyEnd: number,
): void {
  // Latin-1 keeps one char per byte; UTF-8 names are re-decoded below.
  const head = latin1Decode(bytes, headStart, headEnd);
  let disposition: string | null = null;
  let contentType: string | null = null;
  for (const line of head.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed("invalid part header line");
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1);
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name) || /[\0\r\n]/.test(value)) {
      throw malformed("invalid part header line");
    }
    if (name === "content-disposition") {
      if (disposition !== null) throw malformed("repeated Content-Disposition");
      disposition = value;
    } else if (name === "content-type") {
      if (contentType !== null) throw malformed("repeated Content-Type");
      contentType = value.trim();
    }
  }
  if (disposition === null) throw malformed("part without Content-Disposition");
  const d = parseContentDisposition(disposition);
  if (d === null || d.type !== "form-data" || d.params.name === undefined) {
    throw malformed("part without a valid form-data Content-Disposition");
  }
  const name = fromLatin1(d.params.name);
  const body = bytes.subarray(bodyStart, bodyEnd);
  const filename = d.params.filename;
  if (filename === undefined) {
    if (contentType !== null && parseMediaType(contentType) === null) {
      throw malformed("invalid part Content-Type");
    }
    form.append(name, utf8.decode(body));
    return;
  }
  let type = "application/octet-stream";
  if (contentType !== null) {
    if (parseMediaType(contentType) === null) {
      throw malformed("invalid part Content-Type");
    }
    type = contentType;
  }
  // Blob copies the bytes; the body buffer is never shared memory.
  const part = body as Uint8Array<ArrayBuffer>;
  form.append(name, new File([part], fromLatin1(filename), { type }));
}

/** Re-decodes a Latin-1 string (one char per byte) as UTF-8. */
function fromLatin1(s: string): string {
  // deno-lint-ignore no-control-regex
  if (!/[^\x00-\x7f]/.test(s)) return s;
  const b = new Uint8Array(s.length);
  for (let k = 0; k < s.length; k++) b[k] = s.charCodeAt(k);
  return utf8.decode(b);
}
