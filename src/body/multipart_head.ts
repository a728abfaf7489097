/**
 * Part headers of the streaming multipart parser (RFC 7578 §4): the header
 * lines, `Content-Disposition: form-data; name=…; filename=…` and
 * `Content-Type`, plus validation of the limits.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import { fromLatin1 } from "../internal/text.ts";
import { parseContentDisposition, parseMediaType } from "./content_type.ts";
import type { MultipartLimits } from "./multipart_types.ts";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;

/** The 400 for a framing or header error. */
export function malformed(detail: string): HttpError {
  return new HttpError(400, `Malformed multipart body: ${detail}`, {
    reason: "form_malformed",
  });
}

export function validateLimits(limits: MultipartLimits): void {
  for (
    const key of [
      "fileBytes",
      "files",
      "formFields",
      "fieldBytes",
      "partHeaderBytes",
      "bodyBytes",
    ] as const
  ) {
    const value = limits?.[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(
        `Limit "${key}" must be a positive integer, got ${String(value)}`,
      );
    }
  }
}

/** What a part's header block says. */
export interface PartHead {
  /** Every header field, names lower-case. */
  headers: Headers;
  /** The `name` parameter, as UTF-8. */
  name: string;
  /** The `filename` parameter as UTF-8, or undefined for a field. */
  filename: string | undefined;
  /** The `Content-Type` value, or null when absent. */
  type: string | null;
}

/**
 * Parses a header block (Latin-1 text, lines each ending CRLF, or "").
 *
 * @throws {HttpError} 400 for an invalid line, a repeated
 * `Content-Disposition` or `Content-Type`, an invalid media type, or a
 * missing or non-`form-data` disposition without `name`.
 */
export function parsePartHead(block: string): PartHead {
  const headers = new Headers();
  let disposition: string | null = null;
  let type: string | null = null;
  for (const line of block === "" ? [] : block.slice(0, -2).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed("invalid part header line");
    const name = line.slice(0, colon).toLowerCase();
    const raw = line.slice(colon + 1);
    if (!TOKEN.test(name) || BAD_VALUE.test(raw)) {
      throw malformed("invalid part header line");
    }
    const value = raw.replace(OWS_EDGES, "");
    if (name === "content-disposition") {
      if (disposition !== null) {
        throw malformed("repeated Content-Disposition");
      }
      disposition = value;
    } else if (name === "content-type") {
      if (type !== null) throw malformed("repeated Content-Type");
      if (parseMediaType(value) === null) {
        throw malformed("invalid part Content-Type");
      }
      type = value;
    }
    headers.append(name, value);
  }
  if (disposition === null) {
    throw malformed("part without Content-Disposition");
  }
  const d = parseContentDisposition(disposition);
  if (d === null || d.type !== "form-data" || d.params.name === undefined) {
    throw malformed("part without a valid form-data Content-Disposition");
  }
  const filename = d.params.filename;
  return {
    headers,
    name: fromLatin1(d.params.name),
    filename: filename === undefined ? undefined : fromLatin1(filename),
    type,
  };
}
