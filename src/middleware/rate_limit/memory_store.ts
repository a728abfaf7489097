/**
 * The in-process rate-limit store: a bounded map of GCRA states with
 * least-recently-used eviction.
 *
 * @module
 */

import { gcra, type Tat } from "./gcra.ts";
import type {
  RateLimitParams,
  RateLimitResult,
  RateLimitStore,
} from "./store.ts";

/** Options of {@linkcode memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys kept. Default 100 000 (roughly 15 MB at the limit with
   * address keys). When a new key would exceed it, the least recently used
   * key is forgotten, so a flood of unique keys keeps memory flat; a
   * forgotten key starts again with a full burst, so size it above the
   * number of clients active within one window. Must be a positive integer.
   */
  maxKeys?: number;
}

/**
 * A {@linkcode RateLimitStore} in process memory: exact and synchronous, but
 * each process counts alone (use {@linkcode redisStore} or
 * {@linkcode kvStore} for counts shared by several instances). Keys live in
 * a `Map` in least-recently-used order (each check moves its key to the
 * end); at `maxKeys` the oldest key is evicted. Expired keys need no sweep:
 * a key whose TAT has passed is the same as an unknown one, and it ages out
 * under LRU.
 *
 * The returned store also has `size`, the number of keys held.
 *
 * @throws {TypeError} when `maxKeys` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { memoryStore, rateLimit } from "@palisade/server/middleware";
 * const app = new App();
 * app.use(rateLimit({ limit: 100, windowMs: 60_000, store: memoryStore({ maxKeys: 10_000 }) }));
 * ```
 */
export function memoryStore(
  options: MemoryStoreOptions = {},
): RateLimitStore & { readonly size: number } {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new TypeError(
      `Option maxKeys must be a positive integer, got ${String(maxKeys)}`,
    );
  }
  const map = new Map<string, Tat>();
  // One long-lived iterator finds the oldest key: everything behind it has
  // been evicted or moved to the end, so each hole left by a delete is
  // stepped over once, not once per eviction as with a fresh map.keys().
  let oldest = map.keys();
  return {
    name: "memory",
    onError: "open",
    get size(): number {
      return map.size;
    },
    check(
      key: string,
      cost: number,
      params: RateLimitParams,
      now: number,
    ): RateLimitResult {
      let tat = map.get(key);
      if (tat !== undefined) {
        map.delete(key);
      } else {
        tat = { ms: 0, frac: 0 };
        if (map.size >= maxKeys) {
          let first = oldest.next();
          if (first.done) first = (oldest = map.keys()).next();
          map.delete(first.value!);
        }
      }
      map.set(key, tat);
      return gcra(tat, cost, params, now);
    },
  };
}
