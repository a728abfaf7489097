/**
 * Counting request header fields against `headerCount` and `headerBytes`
 * without the sort-and-combine pass that iterating `Headers` performs.
 *
 * Iterating a `Headers` object sorts and combines its fields, which costs
 * about a third of a hello-world request on `Deno.serve` (measured: +4.6 µs on
 * 11 µs). Deno keeps the raw field list behind internal symbols; when they are
 * present we walk that list as it is (duplicates stay separate, as they
 * arrived). When they are not (another runtime or Deno version), we fall back
 * to iteration, which counts combined fields.
 *
 * @module
 */

import { headerPairs } from "../internal/deno.ts";
import type { Limits } from "./limits.ts";

/**
 * Checks `headers` against the limits: null when within them,
 * `"too_many_headers"` when there are more than `maxCount` fields,
 * `"headers_too_large"` when names plus values exceed `maxBytes`.
 *
 * @example Usage
 * ```ts
 * import { checkHeaderLimits } from "./header_limits.ts";
 * checkHeaderLimits(new Headers({ a: "1" }), 100, 16384); // null
 * ```
 */
export function checkHeaderLimits(
  headers: Headers,
  maxCount: number,
  maxBytes: number,
): "too_many_headers" | "headers_too_large" | null {
  let count = 0;
  let bytes = 0;
  const pairs = headerPairs(headers);
  if (pairs !== null) {
    count = pairs.length;
    for (let i = 0; i < count; i++) {
      const p = pairs[i];
      bytes += p[0].length + p[1].length;
    }
  } else {
    for (const [name, value] of headers) {
      count++;
      bytes += name.length + value.length;
    }
  }
  return count > maxCount
    ? "too_many_headers"
    : bytes > maxBytes
    ? "headers_too_large"
    : null;
}

/** A request refused by its URL or header limits. */
export interface LimitRejection {
  readonly reason: "url_too_long" | "too_many_headers" | "headers_too_large";
  readonly status: 414 | 431;
  readonly detail: string;
}

/**
 * Checks a request target of `targetBytes` and its `headers` against the
 * URL and header limits: null when within them.
 *
 * @example Usage
 * ```ts
 * import { checkRequestLimits } from "./header_limits.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * checkRequestLimits(9000, new Headers(), DEFAULT_LIMITS)?.status; // 414
 * ```
 */
export function checkRequestLimits(
  targetBytes: number,
  headers: Headers,
  limits: Readonly<Limits>,
): LimitRejection | null {
  if (targetBytes > limits.urlBytes) {
    return {
      reason: "url_too_long",
      status: 414,
      detail:
        `Request target exceeds the urlBytes limit of ${limits.urlBytes} bytes`,
    };
  }
  const reason = checkHeaderLimits(
    headers,
    limits.headerCount,
    limits.headerBytes,
  );
  if (reason === null) return null;
  return {
    reason,
    status: 431,
    detail: reason === "too_many_headers"
      ? `Request has more than the headerCount limit of ${limits.headerCount} header fields`
      : `Request header fields exceed the headerBytes limit of ${limits.headerBytes} bytes`,
  };
}
