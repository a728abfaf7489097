/**
 * The IETF RateLimit header fields in the syntax of
 * draft-ietf-httpapi-ratelimit-headers-11 (May 2026), where both fields are
 * Structured Fields Lists of Items whose value is a String naming the
 * policy:
 *
 * - `RateLimit-Policy: "name";q=100;w=60` — a Structured Fields List of
 *   quota policies: the policy name as an sf-string, `q` the quota, `w` the
 *   window in whole seconds (left out when the window is not a whole number
 *   of seconds: the draft has no sub-second windows).
 * - `RateLimit: "name";r=42;t=17` — the service limit: `r` units available
 *   now, `t` seconds until the quota is fully restored.
 *
 * Several limiters on one request compose through a module-private
 * `WeakMap<Context, …>`: `RateLimit-Policy` lists every limiter that
 * checked the request (first by name wins), and `RateLimit` carries the one
 * tightest service limit — a refusal before any allowance, then the lowest
 * `r`, then the longest `t`. The outermost limiter writes the fields on the
 * way out.
 *
 * @module
 */

import type { Context } from "../../context/context.ts";
import type { RateLimitResult } from "./store.ts";

/** One limiter's fixed description, built once per factory. */
export interface Policy {
  /** The limiter name. */
  readonly name: string;
  /** `"name";q=…;w=…`, a member of `RateLimit-Policy`. */
  readonly item: string;
  /** `"name"`, the start of a `RateLimit` member. */
  readonly label: string;
}

/** What the limiters of one request have found so far. */
interface Found {
  /** The `RateLimit-Policy` value. */
  policy: string;
  /** Names in `policy` after the first one; made when a second limiter runs. */
  names: string[] | undefined;
  /** The first limiter's name. */
  first: string;
  /** The tightest limit seen. */
  denied: boolean;
  remaining: number;
  resetSec: number;
  label: string;
}

const found = new WeakMap<Context, Found>();

/**
 * Serialises `value` as a Structured Fields String (RFC 9651): printable
 * ASCII only, `"` and `\` escaped. Returns null for other characters.
 */
export function sfString(value: string): string | null {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return null;
    if (c === 0x22 || c === 0x5c) out += "\\";
    out += value[i];
  }
  return out + '"';
}

/** Builds the fixed description of a limiter whose name is a valid sf-string. */
export function policyOf(
  name: string,
  limit: number,
  windowMs: number,
): Policy {
  const label = sfString(name)!;
  const w = windowMs % 1000 === 0 ? `;w=${windowMs / 1000}` : "";
  return { name, item: `${label};q=${limit}${w}`, label };
}

/** Seconds for `ms`, rounded up. */
export function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/**
 * Records `result` of `policy` for `ctx`. Returns true when this is the
 * first limiter of the request: that one writes the fields when done.
 */
export function record(
  ctx: Context,
  policy: Policy,
  result: RateLimitResult,
): boolean {
  // On a refusal `t` is the wait: r units (0 for a unit cost) are all the
  // client may use until then, and Retry-After is not before its end.
  const resetSec = seconds(
    result.allowed ? result.resetMs : result.retryAfterMs,
  );
  const f = found.get(ctx);
  if (f === undefined) {
    found.set(ctx, {
      policy: policy.item,
      names: undefined,
      first: policy.name,
      denied: !result.allowed,
      remaining: result.remaining,
      resetSec,
      label: policy.label,
    });
    return true;
  }
  if (policy.name !== f.first && !f.names?.includes(policy.name)) {
    (f.names ??= []).push(policy.name);
    f.policy += ", " + policy.item;
  }
  const denied = !result.allowed;
  if (
    denied !== f.denied ? denied : result.remaining < f.remaining ||
      (result.remaining === f.remaining && resetSec > f.resetSec)
  ) {
    f.denied = denied;
    f.remaining = result.remaining;
    f.resetSec = resetSec;
    f.label = policy.label;
  }
  return false;
}

/** Writes `RateLimit-Policy` and `RateLimit` for `ctx` onto `headers`. */
export function writeFields(ctx: Context, headers: Headers): void {
  const f = found.get(ctx);
  if (f === undefined) return;
  headers.set("ratelimit-policy", f.policy);
  headers.set("ratelimit", `${f.label};r=${f.remaining};t=${f.resetSec}`);
}

/** Writes only the `RateLimit-Policy` of `policy` (a request no wait can admit). */
export function writePolicy(headers: Headers, policy: Policy): void {
  headers.set("ratelimit-policy", policy.item);
}
