/**
 * The Deno KV rate-limit store: optimistic atomic checks over `Deno.Kv`.
 *
 * @module
 */

import { gcra, type Tat } from "./gcra.ts";
import type {
  RateLimitParams,
  RateLimitResult,
  RateLimitStore,
  StoreFailureMode,
} from "./store.ts";

/** Options of {@linkcode kvStore}. */
export interface KvStoreOptions {
  /** Key prefix: every entry is `[...prefix, key]`. Default `["palisade", "rl"]`. */
  prefix?: Deno.KvKeyPart[];
  /**
   * What the limiter does when KV fails: `"open"` (default) lets the request
   * through, `"closed"` answers 503.
   */
  onError?: StoreFailureMode;
  /**
   * Most attempts of one check when other writers change the key between
   * its read and its commit. Default 8; past it the check fails (and
   * `onError` applies). Must be a positive integer.
   */
  maxAttempts?: number;
}

/** The stored value: `[ms, frac]` of the TAT. */
type Stored = [number, number];

/**
 * A {@linkcode RateLimitStore} in Deno KV, shared by every isolate of a
 * Deno Deploy app or every process on one KV database. A check reads the
 * key's TAT, decides, and commits the new TAT with
 * `kv.atomic().check(entry).set(...)`; when another writer got there first
 * the commit fails and the check starts over, at most `maxAttempts` times.
 * A refusal writes nothing. Entries expire (`expireIn`) when their client is
 * back to a full burst.
 *
 * Outside Deno Deploy, `Deno.openKv` needs the `--unstable-kv` flag.
 *
 * @throws {TypeError} when an option is invalid, naming it.
 *
 * @example Usage
 * ```ts ignore
 * // deno run --unstable-kv server.ts
 * import { kvStore, rateLimit } from "@palisade/server/middleware";
 * const kv = await Deno.openKv();
 * app.use(rateLimit({ limit: 100, windowMs: 60_000, store: kvStore(kv) }));
 * ```
 */
export function kvStore(
  kv: Deno.Kv,
  options: KvStoreOptions = {},
): RateLimitStore {
  if (typeof kv?.atomic !== "function") {
    throw new TypeError("Argument kv must be a Deno.Kv");
  }
  const prefix = options.prefix ?? ["palisade", "rl"];
  if (!Array.isArray(prefix)) {
    throw new TypeError("Option prefix must be an array of key parts");
  }
  const onError = options.onError ?? "open";
  if (onError !== "open" && onError !== "closed") {
    throw new TypeError(
      `Option onError must be "open" or "closed", got ${String(onError)}`,
    );
  }
  const maxAttempts = options.maxAttempts ?? 8;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError(
      `Option maxAttempts must be a positive integer, got ${
        String(maxAttempts)
      }`,
    );
  }

  return {
    name: "kv",
    onError,
    async check(
      key: string,
      cost: number,
      params: RateLimitParams,
      now: number,
    ): Promise<RateLimitResult> {
      const k = [...prefix, key];
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        const entry = await kv.get<Stored>(k);
        const v = entry.value;
        const tat: Tat = Array.isArray(v)
          ? { ms: Number(v[0]), frac: Number(v[1]) }
          : { ms: 0, frac: 0 };
        const result = gcra(tat, cost, params, now);
        if (!result.allowed || cost === 0) return result;
        const stored: Stored = [tat.ms, tat.frac];
        const commit = await kv.atomic().check(entry).set(k, stored, {
          expireIn: Math.max(1, result.resetMs),
        }).commit();
        if (commit.ok) return result;
      }
      throw new Error(
        `Deno KV rate-limit check of one key lost ${maxAttempts} races in a row`,
      );
    },
  };
}
