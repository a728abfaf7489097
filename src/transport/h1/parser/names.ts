/**
 * Interned lower-case names of common request fields, so the parser can
 * return a constant instead of slicing and lower-casing a new string for
 * each of them.
 *
 * @module
 */

const NAMES = [
  "host",
  "connection",
  "keep-alive",
  "user-agent",
  "accept",
  "accept-encoding",
  "accept-language",
  "accept-charset",
  "authorization",
  "cache-control",
  "content-type",
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "te",
  "trailer",
  "cookie",
  "referer",
  "origin",
  "pragma",
  "upgrade",
  "expect",
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "x-request-id",
  "x-requested-with",
  "traceparent",
  "tracestate",
  "priority",
  "dnt",
  "upgrade-insecure-requests",
  "sec-fetch-site",
  "sec-fetch-mode",
  "sec-fetch-dest",
  "sec-fetch-user",
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "access-control-request-method",
  "access-control-request-headers",
];

/** Known names indexed by length. */
const BY_LENGTH: string[][] = [];
for (const name of NAMES) (BY_LENGTH[name.length] ??= []).push(name);

/**
 * Returns the interned lower-case name equal, ignoring ASCII case, to
 * `str[start, end)`, or null when the name is not a common one. `str` must
 * hold a valid field name (tchar only) in that range.
 *
 * @example Usage
 * ```ts
 * import { knownName } from "./names.ts";
 * knownName("Content-Type: x", 0, 12); // "content-type"
 * knownName("X-Custom: y", 0, 8); // null
 * ```
 */
export function knownName(
  str: string,
  start: number,
  end: number,
): string | null {
  const bucket = BY_LENGTH[end - start];
  if (bucket === undefined) return null;
  outer: for (let b = 0; b < bucket.length; b++) {
    const name = bucket[b];
    // For tchar input, `c | 0x20` equals a lower-case letter, digit or "-"
    // of `name` only when `c` is that character in either case.
    for (let i = start, j = 0; i < end; i++, j++) {
      if ((str.charCodeAt(i) | 0x20) !== name.charCodeAt(j)) continue outer;
    }
    return name;
  }
  return null;
}
