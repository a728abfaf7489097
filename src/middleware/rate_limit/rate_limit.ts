/**
 * `rateLimit()`: GCRA rate limits per client key, with the IETF RateLimit
 * header fields, over an in-process or shared store.
 *
 * @module
 */

import type { Context } from "../../context/context.ts";
import { metricsOf } from "../../context/internal.ts";
import type { Middleware, Next } from "../../context/context.ts";
import { problem } from "../../http/errors.ts";
import { formatIp, isV4, parseIp } from "../../net/ip.ts";
import type { Counter, Histogram, Metrics } from "../../observe/metrics.ts";
import { createHash } from "node:crypto";
import {
  policyOf,
  record,
  seconds,
  sfString,
  writeFields,
  writePolicy,
} from "./headers.ts";
import { memoryStore } from "./memory_store.ts";
import type {
  RateLimitParams,
  RateLimitResult,
  RateLimitStore,
} from "./store.ts";

/** Options of {@linkcode rateLimit}. */
export interface RateLimitOptions {
  /**
   * Units (requests, at the default cost of 1) allowed per `windowMs`, the
   * sustained rate. Required; a positive integer. Over the limit a request
   * is answered 429 with `Retry-After`.
   */
  limit: number;
  /** The window of `limit`, in ms. Required; a positive integer. */
  windowMs: number;
  /**
   * Most units a client may spend at once (the GCRA burst tolerance).
   * Default `limit`: a fresh client may use a whole window's worth at once,
   * then one unit every `windowMs / limit`. 1 spaces every request evenly.
   * Must be a positive integer.
   */
  burst?: number;
  /**
   * The client key. Default: the client address (`ctx.remote.hostname`,
   * after trusted proxies), IPv4-mapped IPv6 as IPv4, other IPv6 grouped by
   * `ipv6Subnet`. Keys longer than 200 characters are hashed (SHA-256), so a
   * key taken from a header cannot grow the store's memory.
   */
  key?: (ctx: Context) => string;
  /**
   * Prefix length grouping IPv6 clients under the default `key`. Default
   * 64: one end site usually owns a whole /64, so per-address limits would
   * not hold it. 0 = each address alone; at most 128.
   */
  ipv6Subnet?: number;
  /**
   * Units a request costs. Default 1. Must return a non-negative integer (0
   * = free: checked and reported, never refused); a cost above `burst` can
   * never be allowed and is answered 429 without `Retry-After`.
   */
  cost?: (ctx: Context) => number;
  /** Requests for which this returns true are not limited. Default none. */
  skip?: (ctx: Context) => boolean;
  /**
   * The limiter's name: the policy name in the RateLimit fields, the
   * `limiter` label of the metrics, and part of the store key, so limiters
   * sharing a store must have different names. Default `"default"`.
   * Printable ASCII, 1–64 characters.
   */
  name?: string;
  /** Where counters live. Default a new `memoryStore()` for this limiter. */
  store?: RateLimitStore;
  /** The clock, epoch ms. Default `Date.now`; tests pass a fake one. */
  now?: () => number;
}

/** The longest key kept as it is; longer keys are hashed. */
const MAX_KEY = 200;
/** At most one store-error log line per limiter per this many ms. */
const LOG_INTERVAL_MS = 10_000;
/** Buckets of the store latency histogram, in seconds (100 µs … 1 s). */
const STORE_BUCKETS: readonly number[] = Object.freeze([
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
]);

interface Families {
  limited: Counter;
  errors: Counter;
  duration: Histogram;
}

const families = new WeakMap<Metrics, Families>();

function familiesOf(metrics: Metrics): Families {
  let f = families.get(metrics);
  if (f === undefined) {
    f = {
      limited: metrics.counter(
        "palisade_rate_limited_total",
        "Requests refused by a rate limiter.",
        { labels: ["limiter"] },
      ),
      errors: metrics.counter(
        "palisade_rate_limit_store_errors_total",
        "Rate-limit checks whose store failed.",
        { labels: ["limiter"] },
      ),
      duration: metrics.histogram(
        "palisade_rate_limit_store_duration_seconds",
        "Duration of asynchronous rate-limit store checks.",
        { labels: ["store"], buckets: STORE_BUCKETS },
      ),
    };
    families.set(metrics, f);
  }
  return f;
}

function positiveInteger(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new TypeError(
      `Option ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value as number;
}

/**
 * The default key: the client address, with IPv6 outside IPv4-mapped space
 * cut to its first `bits` bits (`"2001:db8::/64"`). Unparseable hostnames
 * (no socket address) are used as they are.
 */
function addressKey(hostname: string, bits: number): string {
  const ip = parseIp(hostname);
  if (ip === null) return hostname;
  if (isV4(ip)) return formatIp(ip);
  if (bits === 0 || bits === 128) return formatIp(ip);
  for (let i = 0; i < 8; i++) {
    const keep = bits - i * 16;
    if (keep <= 0) ip[i] = 0;
    else if (keep < 16) ip[i] &= (0xffff << (16 - keep)) & 0xffff;
  }
  return `${formatIp(ip)}/${bits}`;
}

/**
 * Limits how often each client may call the routes it guards, with the
 * Generic Cell Rate Algorithm (exact; see `gcra.ts`): `limit` units per
 * `windowMs`, at most `burst` at once. A request over the limit gets 429
 * `application/problem+json` with `Retry-After` in whole seconds, rounded
 * up, so that waiting that long succeeds (if the client sends nothing
 * else). Every answer carries `RateLimit-Policy` and `RateLimit`
 * (draft-ietf-httpapi-ratelimit-headers-11); several limiters on one route
 * compose and the tightest one is reported. A refused request is not
 * counted; a request refused by an inner limiter has been counted by the
 * outer ones. Answers rendered from an error thrown below the limiter
 * (`throw new HttpError(...)`) do not carry the fields.
 *
 * Counted in `palisade_rate_limited_total{limiter}`. When the store fails,
 * the store's `onError` applies (`"open"`: the request proceeds without the
 * fields; `"closed"`: 503), counted in
 * `palisade_rate_limit_store_errors_total{limiter}` and logged at most once
 * per 10 s. Asynchronous stores are timed in
 * `palisade_rate_limit_store_duration_seconds{store}` (from their second
 * check on: the first tells the limiter the store is asynchronous).
 *
 * @throws {TypeError} when an option is invalid, naming it.
 *
 * @example Per client address, and a tighter limit for logins
 * ```ts
 * import { App } from "@palisade/server";
 * import { rateLimit } from "@palisade/server/middleware";
 * const app = new App({ trustProxy: { proxies: ["10.0.0.1"] } });
 * app.use("/api", rateLimit({ limit: 100, windowMs: 60_000 }));
 * app.post("/login", rateLimit({ name: "login", limit: 5, windowMs: 60_000, burst: 2 }), (ctx) => ctx.text("ok"));
 * ```
 *
 * @example Shared by every instance through Redis (any client)
 * ```ts ignore
 * import { createClient } from "npm:redis@4";
 * const redis = await createClient({ disableOfflineQueue: true }).connect();
 * app.use("/api", rateLimit({
 *   limit: 100,
 *   windowMs: 60_000,
 *   key: (ctx) => ctx.header("x-api-key") ?? ctx.remote.hostname,
 *   store: redisStore({ sendCommand: (args) => redis.sendCommand(args) }),
 * }));
 * ```
 */
export function rateLimit(options: RateLimitOptions): Middleware {
  const limit = positiveInteger("limit", options.limit);
  const windowMs = positiveInteger("windowMs", options.windowMs);
  const burst = positiveInteger("burst", options.burst ?? limit);
  // GCRA works in units of 1 / limit ms, up to 2 × burst × windowMs of them.
  if (2 * burst * windowMs > Number.MAX_SAFE_INTEGER) {
    throw new TypeError(
      `Options burst and windowMs must have 2 × burst × windowMs at most 2^53 − 1, got burst ${burst} and windowMs ${windowMs}`,
    );
  }
  const bits = options.ipv6Subnet ?? 64;
  if (!Number.isInteger(bits) || bits < 0 || bits > 128) {
    throw new TypeError(
      `Option ipv6Subnet must be an integer from 0 to 128, got ${String(bits)}`,
    );
  }
  const name = options.name ?? "default";
  if (
    typeof name !== "string" || name.length < 1 || name.length > 64 ||
    sfString(name) === null
  ) {
    throw new TypeError(
      `Option name must be 1 to 64 printable ASCII characters, got ${
        JSON.stringify(name)
      }`,
    );
  }
  for (const fn of ["key", "cost", "skip", "now"] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== "function") {
      throw new TypeError(`Option ${fn} must be a function`);
    }
  }
  const store = options.store ?? memoryStore();
  if (typeof store?.check !== "function") {
    throw new TypeError("Option store must be a RateLimitStore");
  }
  const params: RateLimitParams = Object.freeze({ limit, windowMs, burst });
  const policy = policyOf(name, limit, windowMs);
  const keyOf = options.key ??
    ((ctx: Context) => addressKey(ctx.remote.hostname, bits));
  const costOf = options.cost;
  const skip = options.skip;
  const now = options.now ?? Date.now;
  const labels = Object.freeze({ limiter: name });
  const storeLabels = Object.freeze({ store: store.name });
  const prefix = name + ":";
  let timed = false;
  let lastLog = -Infinity;
  let unlogged = 0;

  function decide(
    ctx: Context,
    next: Next,
    result: RateLimitResult,
  ): Response | Promise<Response> {
    const first = record(ctx, policy, result);
    if (!result.allowed) {
      const metrics = metricsOf(ctx);
      if (metrics !== undefined) familiesOf(metrics).limited.inc(labels);
      const wait = seconds(result.retryAfterMs);
      const res = problem(
        429,
        `Rate limit "${name}" of ${limit} per ${windowMs} ms exceeded; retry in ${wait} s`,
        { "retry-after": String(wait) },
      );
      writeFields(ctx, res.headers);
      return res;
    }
    if (!first) return next();
    return next().then((res) => {
      writeFields(ctx, res.headers);
      return res;
    });
  }

  function failed(
    ctx: Context,
    next: Next,
    error: unknown,
  ): Response | Promise<Response> {
    const metrics = metricsOf(ctx);
    if (metrics !== undefined) familiesOf(metrics).errors.inc(labels);
    const t = now();
    if (t - lastLog >= LOG_INTERVAL_MS) {
      console.error(
        `Palisade: rate limiter "${name}" store "${store.name}" failed${
          unlogged > 0 ? ` (and ${unlogged} more times since the last log)` : ""
        }; failing ${store.onError === "closed" ? "closed" : "open"}:`,
        error,
      );
      lastLog = t;
      unlogged = 0;
    } else {
      unlogged++;
    }
    if (store.onError === "closed") {
      return problem(503, "Rate limit store is unavailable");
    }
    return next();
  }

  return function rateLimitMiddleware(ctx, next) {
    if (skip !== undefined && skip(ctx)) return next();
    const cost = costOf === undefined ? 1 : costOf(ctx);
    if (!Number.isSafeInteger(cost) || cost < 0) {
      throw new TypeError(
        `Rate limiter "${name}" cost must return a non-negative integer, got ${
          String(cost)
        }`,
      );
    }
    if (cost > burst) {
      const res = problem(
        429,
        `Request cost of ${cost} exceeds the burst of ${burst} of rate limit "${name}"`,
      );
      writePolicy(res.headers, policy);
      return res;
    }
    let key = keyOf(ctx);
    if (typeof key !== "string") {
      throw new TypeError(
        `Rate limiter "${name}" key must return a string, got ${typeof key}`,
      );
    }
    if (key.length > MAX_KEY) {
      key = createHash("sha256").update(key).digest("base64url");
    }
    // performance.now() costs ~200 ns: only asynchronous stores are timed,
    // from their second check on.
    const start = timed ? performance.now() : 0;
    let result: RateLimitResult | Promise<RateLimitResult>;
    try {
      result = store.check(prefix + key, cost, params, now());
    } catch (e) {
      return failed(ctx, next, e);
    }
    if (!(result instanceof Promise)) return decide(ctx, next, result);
    const measured = timed;
    timed = true;
    return result.then(
      (r) => {
        const metrics = metricsOf(ctx);
        if (metrics !== undefined && measured) {
          familiesOf(metrics).duration.observe(
            (performance.now() - start) / 1000,
            storeLabels,
          );
        }
        return decide(ctx, next, r);
      },
      (e) => failed(ctx, next, e),
    );
  };
}
