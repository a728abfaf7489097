/**
 * The contract between `rateLimit()` and the place its counters live.
 *
 * @module
 */

import type { GcraParams, GcraResult } from "./gcra.ts";

/** What a limiter allows: `limit` units per `windowMs`, `burst` at once. */
export type RateLimitParams = GcraParams;

/** The outcome of one {@linkcode RateLimitStore.check}. */
export type RateLimitResult = GcraResult;

/** What a limiter does when its store fails: let the request through, or refuse it with 503. */
export type StoreFailureMode = "open" | "closed";

/**
 * Where rate-limit counters live: in process ({@linkcode memoryStore}) or
 * shared by many instances ({@linkcode redisStore}, {@linkcode kvStore}).
 * Implement it to keep counters elsewhere.
 *
 * @example A store that allows everything
 * ```ts
 * import type { RateLimitStore } from "@palisade/server/middleware";
 * const everything: RateLimitStore = {
 *   name: "none",
 *   onError: "open",
 *   check: () => ({ allowed: true, remaining: 1, resetMs: 0, retryAfterMs: 0 }),
 * };
 * ```
 */
export interface RateLimitStore {
  /** Short name, the `store` label of `palisade_rate_limit_store_duration_seconds`. */
  readonly name: string;
  /**
   * What a limiter does when {@linkcode RateLimitStore.check} throws or
   * rejects: `"open"` lets the request through without rate-limit fields,
   * `"closed"` answers 503. Either way the error is counted in
   * `palisade_rate_limit_store_errors_total{limiter}` and logged (at most
   * once per 10 s per limiter).
   */
  readonly onError: StoreFailureMode;
  /**
   * Atomically runs one GCRA check for `key` at `now` (epoch ms) and, when
   * allowed, counts `cost` units: concurrent checks of one key, from one
   * process or many, must never both take the last unit. See `gcra.ts` for
   * the algorithm every store implements.
   */
  check(
    key: string,
    cost: number,
    params: RateLimitParams,
    now: number,
  ): RateLimitResult | Promise<RateLimitResult>;
}
