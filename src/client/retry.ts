/**
 * Retry decisions: which methods and bodies may be sent again, the
 * full-jitter backoff, and `Retry-After`.
 *
 * @module
 */

import type { RetrySettings } from "./options.ts";

/** Methods RFC 9110 §9.2.2 defines as idempotent. */
const IDEMPOTENT: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "PUT",
  "DELETE",
]);

/**
 * Reports whether a request may be sent again at all: an idempotent method,
 * an `Idempotency-Key` header, or `retryNonIdempotent`.
 */
export function mayRepeat(
  method: string,
  headers: Headers,
  retry: RetrySettings,
): boolean {
  return IDEMPOTENT.has(method) || retry.retryNonIdempotent ||
    headers.has("idempotency-key");
}

/**
 * Reports whether `body` can be sent again after an attempt: fetch re-reads
 * strings, buffers, Blobs, URLSearchParams and FormData, but a stream (or
 * any other iterable) is consumed by the first attempt.
 */
export function isReplayable(body: BodyInit | null | undefined): boolean {
  return body === null || body === undefined || typeof body === "string" ||
    body instanceof Blob || body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) || body instanceof URLSearchParams ||
    body instanceof FormData;
}

/**
 * The wait before retry `n` (0 for the first retry): full jitter,
 * `random() * min(maxDelayMs, baseDelayMs * 2 ** n)`, in whole ms.
 */
export function backoffMs(n: number, retry: RetrySettings): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** n);
  const r = retry.random();
  return Math.floor((r >= 0 && r < 1 ? r : 0) * ceiling);
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date,
 * relative to `now` (epoch ms). Returns the delay in ms (0 for a date in
 * the past), or undefined when the value is absent or invalid.
 */
export function retryAfterMs(
  value: string | null,
  now: number,
): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at) || !/[a-z]/i.test(v)) return undefined;
  return Math.max(0, at - now);
}
