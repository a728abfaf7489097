/**
 * The Generic Cell Rate Algorithm (GCRA), in exact integer arithmetic.
 *
 * A limiter allows `limit` units per `windowMs` with a burst of `burst`
 * units. Each unit has an emission interval `T = windowMs / limit`; the burst
 * tolerance is `burst × T`. Per key the algorithm keeps one value, the
 * theoretical arrival time (TAT): the moment at which the key would be back
 * to a full burst if it sent nothing more. A request of `cost` units at time
 * `now`:
 *
 * 1. `tat = max(TAT, now)`; `next = tat + cost × T`.
 * 2. If `next − now ≤ burst × T` the request is allowed and `TAT = next`;
 *    otherwise it is refused, TAT is unchanged, and it would be allowed after
 *    `next − now − burst × T` ms (`retryAfterMs`).
 * 3. `remaining = floor((burst × T − (TAT − now)) / T)` units may be spent at
 *    once right now; `resetMs = TAT − now` is when the key is back to a full
 *    burst.
 *
 * So over any interval of `t` ms a key gets at most `burst + floor(t / T)`
 * units (with the default `burst = limit`: a full window's worth at once,
 * then one unit every `T`), and a refused request costs nothing.
 *
 * `T` is rarely a whole number of milliseconds (60 000 ms / 7), so a TAT is
 * kept as a rational `ms + frac / limit` with integer `ms` and
 * `0 ≤ frac < limit`, and every comparison is made on integers in units of
 * `1 / limit` ms: no rounding drift, the boundary is exact. The Redis script
 * in `redis_store.ts` is the same computation in Lua.
 *
 * @module
 */

/** What a limiter allows; the same for every key of that limiter. */
export interface GcraParams {
  /** Units per window: a positive integer. */
  readonly limit: number;
  /** Window length in ms: a positive integer. */
  readonly windowMs: number;
  /** Most units spent at once: a positive integer. */
  readonly burst: number;
}

/** A key's theoretical arrival time: `ms + frac / limit` (epoch ms). */
export interface Tat {
  /** Whole milliseconds. */
  ms: number;
  /** Fraction of a millisecond in units of `1 / limit`, `0 ≤ frac < limit`. */
  frac: number;
}

/** The outcome of one check; see the module doc for each field. */
export interface GcraResult {
  /** Whether the request may proceed (its cost was counted). */
  allowed: boolean;
  /** Units that may be spent at once now, after this request. */
  remaining: number;
  /** Ms until the key is back to a full burst (rounded up). */
  resetMs: number;
  /** Ms until this request would be allowed (rounded up); 0 when allowed. */
  retryAfterMs: number;
}

/**
 * Runs one GCRA check against a key's TAT `tat` and, when the request is
 * allowed, advances `tat` in place. An unknown key is `{ ms: 0, frac: 0 }`
 * (any TAT in the past counts as "now"). `now` is epoch ms, rounded down.
 *
 * `cost` must be a non-negative integer; `cost > burst` is never allowed
 * (callers refuse it before checking, since no wait would help).
 *
 * @example Usage
 * ```ts ignore
 * const tat = { ms: 0, frac: 0 };
 * gcra(tat, 1, { limit: 10, windowMs: 1000, burst: 10 }, Date.now()).allowed; // true
 * ```
 */
export function gcra(
  tat: Tat,
  cost: number,
  params: GcraParams,
  now: number,
): GcraResult {
  const { limit, windowMs, burst } = params;
  now = Math.floor(now);
  // A TAT is in the past exactly when its whole ms are (frac / limit < 1).
  if (tat.ms < now) {
    tat.ms = now;
    tat.frac = 0;
  }
  // Below, in units of 1 / limit ms: one unit of cost is windowMs of them.
  const tolerance = burst * windowMs;
  const current = (tat.ms - now) * limit + tat.frac;
  const used = current + cost * windowMs;
  if (used <= tolerance) {
    const f = tat.frac + cost * windowMs;
    tat.ms += Math.floor(f / limit);
    tat.frac = f % limit;
    return {
      allowed: true,
      remaining: Math.floor((tolerance - used) / windowMs),
      resetMs: Math.ceil(used / limit),
      retryAfterMs: 0,
    };
  }
  return {
    allowed: false,
    // Negative only if the key was filled under a smaller burst.
    remaining: Math.max(0, Math.floor((tolerance - current) / windowMs)),
    resetMs: Math.ceil(current / limit),
    retryAfterMs: Math.ceil((used - tolerance) / limit),
  };
}
