/**
 * The one strict RFC 9110 §8.3.1 media type parser shared by every body
 * reader, and the matching `Content-Disposition` parser used by multipart
 * forms.
 *
 * @module
 */

/** A parsed media type such as `application/json; charset=utf-8`. */
export interface MediaType {
  /** Top-level type, lower-case, e.g. `"application"`. */
  type: string;
  /** Subtype, lower-case, e.g. `"json"` or `"vnd.api+json"`. */
  subtype: string;
  /** `"type/subtype"`, lower-case. */
  essence: string;
  /** Parameters with lower-case names and unquoted values (case kept); null-prototype. */
  params: Record<string, string>;
}

/** A parsed `Content-Disposition` field value (RFC 6266, RFC 7578 §4.2). */
export interface Disposition {
  /** Disposition type, lower-case, e.g. `"form-data"`. */
  type: string;
  /** Parameters with lower-case names and unquoted values (case kept); null-prototype. */
  params: Record<string, string>;
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Index of the first non-tchar at or after `i`. */
function tokenEnd(value: string, i: number): number {
  while (i < value.length && isTchar(value.charCodeAt(i))) i++;
  return i;
}

/**
 * Parses `*( OWS ";" OWS [ parameter ] ) OWS` from `i` to the end of `value`
 * into `params`. Returns false when anything does not match the grammar or a
 * parameter name repeats.
 */
function parseParameters(
  value: string,
  i: number,
  params: Record<string, string>,
): boolean {
  const end = value.length;
  while (true) {
    while (i < end && isOws(value.charCodeAt(i))) i++;
    if (i === end) return true;
    if (value.charCodeAt(i) !== 0x3b /* ; */) return false;
    i++;
    while (i < end && isOws(value.charCodeAt(i))) i++;
    // An empty parameter (`a/b;` or `a/b; ;`) is allowed by the grammar.
    if (i === end || value.charCodeAt(i) === 0x3b) continue;
    const nameStart = i;
    i = tokenEnd(value, i);
    if (i === nameStart || i === end || value.charCodeAt(i) !== 0x3d /* = */) {
      return false;
    }
    const name = value.slice(nameStart, i).toLowerCase();
    i++;
    let paramValue: string;
    if (i < end && value.charCodeAt(i) === 0x22 /* " */) {
      // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
      i++;
      let out = "";
      let runStart = i;
      let closed = false;
      while (i < end) {
        const c = value.charCodeAt(i);
        if (c === 0x22) {
          out += value.slice(runStart, i);
          i++;
          closed = true;
          break;
        }
        if (c === 0x5c /* \ */) {
          // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
          const next = i + 1 < end ? value.charCodeAt(i + 1) : -1;
          if (next !== 0x09 && (next < 0x20 || next === 0x7f || next > 0xff)) {
            return false;
          }
          out += value.slice(runStart, i);
          runStart = i + 1;
          i += 2;
          continue;
        }
        // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
        if (c !== 0x09 && (c < 0x20 || c === 0x7f || c > 0xff)) return false;
        i++;
      }
      if (!closed) return false;
      paramValue = out;
    } else {
      const valueStart = i;
      i = tokenEnd(value, i);
      if (i === valueStart) return false;
      paramValue = value.slice(valueStart, i);
    }
    if (Object.hasOwn(params, name)) return false;
    params[name] = paramValue;
  }
}

/**
 * Parses a `Content-Type` value as an RFC 9110 §8.3.1 media type; returns
 * null for malformed input and never throws.
 *
 * Optional whitespace (SP or HTAB) is allowed around the value and around each
 * `;`, but not around `/` or `=`. Type, subtype and parameter names are
 * tokens and are lower-cased; parameter values are tokens or quoted strings
 * (with `\` quoted-pairs), returned unquoted with their case kept. A
 * parameter without `=`, an unterminated quoted string, control characters
 * (including NUL), trailing garbage and a repeated parameter name all make
 * the value malformed.
 *
 * @example Usage
 * ```ts
 * import { parseMediaType } from "./content_type.ts";
 * const mt = parseMediaType('Text/HTML; Charset="utf-8"');
 * mt?.essence; // "text/html"
 * mt?.params.charset; // "utf-8"
 * parseMediaType("application/json garbage"); // null
 * ```
 */
export function parseMediaType(value: string): MediaType | null {
  const end = value.length;
  let i = 0;
  while (i < end && isOws(value.charCodeAt(i))) i++;
  const typeStart = i;
  i = tokenEnd(value, i);
  if (i === typeStart || i === end || value.charCodeAt(i) !== 0x2f /* / */) {
    return null;
  }
  const type = value.slice(typeStart, i).toLowerCase();
  const subtypeStart = ++i;
  i = tokenEnd(value, i);
  if (i === subtypeStart) return null;
  const subtype = value.slice(subtypeStart, i).toLowerCase();
  const params: Record<string, string> = Object.create(null);
  if (!parseParameters(value, i, params)) return null;
  return { type, subtype, essence: type + "/" + subtype, params };
}

/**
 * Parses a `Content-Disposition` value (`form-data; name="a"; filename="b"`)
 * with the same token and quoted-string rules as {@linkcode parseMediaType};
 * returns null for malformed input and never throws.
 *
 * Multipart part headers carry UTF-8 file names as raw bytes, so pass the
 * header decoded as Latin-1 (one char per byte) and re-decode the values you
 * need as UTF-8.
 *
 * @example Usage
 * ```ts
 * import { parseContentDisposition } from "./content_type.ts";
 * const d = parseContentDisposition('form-data; name="avatar"; filename="me.png"');
 * d?.params.filename; // "me.png"
 * ```
 */
export function parseContentDisposition(value: string): Disposition | null {
  const end = value.length;
  let i = 0;
  while (i < end && isOws(value.charCodeAt(i))) i++;
  const typeStart = i;
  i = tokenEnd(value, i);
  if (i === typeStart) return null;
  const type = value.slice(typeStart, i).toLowerCase();
  const params: Record<string, string> = Object.create(null);
  if (!parseParameters(value, i, params)) return null;
  return { type, params };
}

/**
 * Returns true for `application/json` and for any media type with a `+json`
 * structured syntax suffix (RFC 6839), such as `application/problem+json`.
 *
 * @example Usage
 * ```ts
 * import { isJsonType, parseMediaType } from "./content_type.ts";
 * isJsonType(parseMediaType("application/vnd.api+json")!); // true
 * isJsonType(parseMediaType("application/jsonx")!); // false
 * ```
 */
export function isJsonType(mt: MediaType): boolean {
  if (mt.essence === "application/json") return true;
  const s = mt.subtype;
  return s.length > 5 && s.endsWith("+json");
}
