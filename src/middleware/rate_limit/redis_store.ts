/**
 * The Redis rate-limit store: one atomic Lua script per check, over the
 * user's own Redis client.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type {
  RateLimitParams,
  RateLimitResult,
  RateLimitStore,
  StoreFailureMode,
} from "./store.ts";

/**
 * The GCRA of `gcra.ts` in Lua. KEYS[1] holds the TAT as `"ms:frac"`;
 * ARGV: now, cost, limit, windowMs, burst. Returns
 * `{allowed, remaining, resetMs, retryAfterMs}`. Numbers are Lua doubles:
 * exact for the integers involved (validated below 2^53), and written back
 * with `%.0f` so no exponent form loses digits.
 */
const SCRIPT = `local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local tolerance = tonumber(ARGV[5]) * window
local ms, frac = now, 0
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, ':', 1, true)
  if sep then
    local m = tonumber(string.sub(v, 1, sep - 1))
    if m and m >= now then
      ms = m
      frac = tonumber(string.sub(v, sep + 1)) or 0
    end
  end
end
local current = (ms - now) * limit + frac
local used = current + cost * window
if used <= tolerance then
  if cost > 0 then
    local f = frac + cost * window
    local nms = ms + math.floor(f / limit)
    redis.call('SET', KEYS[1], string.format('%.0f:%.0f', nms, f % limit),
      'PX', math.max(1, math.ceil(used / limit)))
  end
  return {1, math.floor((tolerance - used) / window), math.ceil(used / limit), 0}
end
return {0, math.max(0, math.floor((tolerance - current) / window)),
  math.ceil(current / limit), math.ceil((used - tolerance) / limit)}
`;

const SHA = createHash("sha1").update(SCRIPT).digest("hex");

/** Options of {@linkcode redisStore}. */
export interface RedisStoreOptions {
  /**
   * Sends one raw command to Redis and resolves with its reply, e.g.
   * `(args) => client.sendCommand(args)` for `npm:redis` or
   * `(args) => client.call(...args)` for `npm:ioredis`. It must reject on a
   * Redis error reply. Required.
   */
  sendCommand: (args: string[]) => Promise<unknown>;
  /** Prefix of every key. Default `"palisade:rl:"`. */
  prefix?: string;
  /**
   * What the limiter does when Redis fails or is too slow: `"open"`
   * (default) lets the request through, `"closed"` answers 503.
   */
  onError?: StoreFailureMode;
  /**
   * Most ms a check may take before it counts as a failure. Default 500; 0 =
   * wait as long as the client does. A client with an offline queue (both
   * `npm:redis` and `npm:ioredis` by default) holds commands while Redis is
   * down; this bound is what turns that into a fast failure (or disable the
   * client's offline queue).
   */
  timeoutMs?: number;
}

/**
 * A {@linkcode RateLimitStore} in Redis, shared by every instance that uses
 * the same Redis and prefix. Each check is one `EVALSHA` of a Lua script
 * that reads the key's TAT, decides and writes it back atomically (one
 * round trip; after a Redis restart or `SCRIPT FLUSH` the first check falls
 * back to `EVAL`, which loads the script again). Keys expire (`PX`) when
 * their client is back to a full burst. The check uses the caller's clock,
 * so instances need synchronised clocks (NTP): a skew of s ms shifts a
 * client's allowance by s ms.
 *
 * Any client works: pass its raw command function.
 *
 * @throws {TypeError} when an option is invalid, naming it.
 *
 * @example With npm:redis
 * ```ts ignore
 * import { createClient } from "npm:redis@4";
 * import { rateLimit, redisStore } from "@palisade/server/middleware";
 * const client = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
 * app.use(rateLimit({ limit: 100, windowMs: 60_000,
 *   store: redisStore({ sendCommand: (args) => client.sendCommand(args) }) }));
 * ```
 *
 * @example With npm:ioredis, failing closed
 * ```ts ignore
 * import Redis from "npm:ioredis@5";
 * const redis = new Redis(6379, "127.0.0.1");
 * const store = redisStore({ sendCommand: (args) => redis.call(...args), onError: "closed" });
 * ```
 */
export function redisStore(options: RedisStoreOptions): RateLimitStore {
  const send = options?.sendCommand;
  if (typeof send !== "function") {
    throw new TypeError("Option sendCommand must be a function");
  }
  const prefix = options.prefix ?? "palisade:rl:";
  if (typeof prefix !== "string") {
    throw new TypeError(`Option prefix must be a string, got ${typeof prefix}`);
  }
  const onError = options.onError ?? "open";
  if (onError !== "open" && onError !== "closed") {
    throw new TypeError(
      `Option onError must be "open" or "closed", got ${String(onError)}`,
    );
  }
  const timeoutMs = options.timeoutMs ?? 500;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) {
    throw new TypeError(
      `Option timeoutMs must be a non-negative integer, got ${
        String(timeoutMs)
      }`,
    );
  }

  async function run(args: string[]): Promise<RateLimitResult> {
    let reply: unknown;
    try {
      reply = await send(["EVALSHA", SHA, ...args]);
    } catch (e) {
      if (!String((e as Error)?.message ?? e).includes("NOSCRIPT")) throw e;
      reply = await send(["EVAL", SCRIPT, ...args]);
    }
    if (!Array.isArray(reply) || reply.length !== 4) {
      throw new TypeError(
        `Redis rate-limit script returned an unexpected reply: ${
          JSON.stringify(reply)
        }`,
      );
    }
    return {
      allowed: Number(reply[0]) === 1,
      remaining: Number(reply[1]),
      resetMs: Number(reply[2]),
      retryAfterMs: Number(reply[3]),
    };
  }

  return {
    name: "redis",
    onError,
    check(
      key: string,
      cost: number,
      params: RateLimitParams,
      now: number,
    ): Promise<RateLimitResult> {
      const checked = run([
        "1",
        prefix + key,
        String(Math.floor(now)),
        String(cost),
        String(params.limit),
        String(params.windowMs),
        String(params.burst),
      ]);
      return timeoutMs === 0 ? checked : within(checked, timeoutMs);
    },
  };
}

/** `promise`, or a rejection after `ms` (the late outcome is dropped). */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`Redis rate-limit check took longer than ${ms} ms`));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
