/**
 * Middleware composition, done once per route at registration.
 *
 * @module
 */

import type { Context, Handler } from "../context/context.ts";
import { problem } from "../http/errors.ts";
import { hasImmutableHeaders } from "../internal/deno.ts";
import { hasPathPrefix } from "../router/path.ts";

/** A composed route chain: what the App calls per request. */
export type Chain = (ctx: Context) => Response | Promise<Response>;

/**
 * How a middleware bound to `prefix` relates to every path that `pattern`
 * matches: it applies to all of them, to none, or it depends on the values of
 * the pattern's parameters (checked per request).
 */
export function prefixRelation(
  pattern: string,
  prefix: string,
): "always" | "never" | "maybe" {
  if (prefix === "/") return "always";
  const want = prefix.split("/");
  const have = pattern.split("/");
  for (let i = 1; i < want.length; i++) {
    const seg = have[i];
    if (seg === undefined) return "never";
    if (seg.startsWith(":") || seg === "*") return "maybe";
    if (seg !== want[i]) return "never";
  }
  return "always";
}

/** Wraps `mw` so it runs only for paths under `prefix`. */
export function guard(prefix: string, mw: Handler): Handler {
  return (ctx, next) =>
    hasPathPrefix(ctx.path, prefix) ? mw(ctx, next) : next();
}

function terminal(): Promise<Response> {
  return Promise.reject(
    new Error("next() was called by the last handler of the chain"),
  );
}

/**
 * Returns `res` with mutable headers: a copy when its headers are immutable
 * (`fetch()` results, `Response.redirect`), so middleware can set headers
 * after `next()`. The common case (mutable) costs one internal field read.
 */
function mutable(res: Response): Response {
  if (!(res instanceof Response) || !hasImmutableHeaders(res)) return res;
  // `Response.error()` (status 0) is a network error: a generic 500.
  return res.status === 0 ? problem(500) : new Response(res.body, res);
}

/**
 * Composes `fns` into one chain. Each function but the last receives a `next`
 * that runs the rest and resolves to a response whose headers it may set;
 * the last one's `next` rejects, since nothing follows. A single handler
 * costs nothing extra per request.
 */
export function compose(fns: readonly Handler[]): Chain {
  const last = fns.length - 1;
  if (last === 0) {
    const fn = fns[0];
    return (ctx) => fn(ctx, terminal);
  }
  function run(ctx: Context, i: number): Response | Promise<Response> {
    if (i === last) return fns[i](ctx, terminal);
    let called = false;
    return fns[i](ctx, () => {
      if (called) {
        return Promise.reject(new Error("next() called more than once"));
      }
      called = true;
      try {
        const res = run(ctx, i + 1);
        return res instanceof Promise
          ? res.then(mutable)
          : Promise.resolve(mutable(res));
      } catch (e) {
        return Promise.reject(e);
      }
    });
  }
  return (ctx) => run(ctx, 0);
}
