/**
 * The upstream request target: the upstream's base path joined with the
 * route's wildcard value (the whole path on a route without a wildcard),
 * re-encoded from the App's decoded, normalised path — or the `rewritePath`
 * result — plus the client's query string.
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import { rawQuery } from "../context/internal.ts";

/** Characters a path may carry unescaped (RFC 3986 pchar and "/"). */
const PATH_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/**
 * Percent-encodes a decoded path for a request target: pchar and `/` stay,
 * everything else (including `%`, `?` and `#`) is UTF-8 percent-encoded.
 */
export function encodePath(path: string): string {
  if (PATH_SAFE.test(path)) return path;
  let out = "";
  for (const ch of path) {
    out += PATH_SAFE.test(ch) ? ch : encodeURIComponent(ch);
  }
  return out;
}

/** A proxied request's target, resolved once for all its attempts. */
export interface Target {
  /** The encoded path: relative to the upstream's base path, or rooted. */
  path: string;
  /** Whether `path` replaces the upstream's base path (`rewritePath`). */
  rooted: boolean;
  /** The query string with its `?`, or `""`. */
  query: string;
}

/** The client's query string with its `?`, or `""`, verbatim. */
function queryOf(ctx: Context): string {
  const q = rawQuery(ctx);
  return q === "" ? "" : "?" + q;
}

/**
 * The target of `ctx`: by default the route's wildcard value (the whole
 * path on a route without a wildcard), encoded, relative to each upstream's
 * base path; with `rewrite`, its result.
 *
 * @throws {TypeError} when `rewrite` returns something that is not a path.
 */
export function targetOf(
  ctx: Context,
  rewrite: ((ctx: Context) => string) | null,
): Target {
  if (rewrite === null) {
    const rest = ctx.params["*"] ?? ctx.path.slice(1);
    return { path: encodePath(rest), rooted: false, query: queryOf(ctx) };
  }
  const path = rewrite(ctx);
  if (
    typeof path !== "string" || path.charCodeAt(0) !== 0x2f ||
    /[\s#]/.test(path)
  ) {
    throw new TypeError(
      `Option rewritePath must return a path starting with "/", got ${
        JSON.stringify(path)
      }`,
    );
  }
  const q = path.indexOf("?");
  return q === -1
    ? { path, rooted: true, query: queryOf(ctx) }
    : { path: path.slice(0, q), rooted: true, query: path.slice(q) };
}

/** The upstream URL of `target` on the upstream at `origin` with `base` path. */
export function upstreamUrl(origin: string, base: string, t: Target): string {
  if (t.rooted) return origin + t.path + t.query;
  if (t.path === "") return origin + (base === "" ? "/" : base) + t.query;
  return origin + base + "/" + t.path + t.query;
}
