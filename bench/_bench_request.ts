/**
 * The typical request the micro-benchmarks feed through `App.fetch`: a
 * browser-like GET with 8 header fields.
 *
 * @module
 */

/** Header fields of the typical GET (8 fields). */
export const TYPICAL_HEADERS: readonly [string, string][] = [
  ["host", "example.com"],
  [
    "user-agent",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  ],
  ["accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
  ["accept-language", "en-US,en;q=0.5"],
  ["accept-encoding", "gzip, deflate, br, zstd"],
  ["cookie", "session=3f2a9c1e8b7d4e6f; theme=dark"],
  ["referer", "https://example.com/dashboard"],
  ["x-forwarded-for", "203.0.113.7"],
];

/**
 * Builds a fresh typical GET for `path`, as a transport would for every
 * request.
 *
 * @example Usage
 * ```ts
 * import { typicalGet } from "./_bench_request.ts";
 * const req = typicalGet("/users/42");
 * ```
 */
export function typicalGet(path: string): Request {
  return new Request(`http://example.com${path}`, {
    headers: TYPICAL_HEADERS as [string, string][],
  });
}
