/**
 * `csrf()`: cross-site request forgery protection by Fetch Metadata and
 * `Origin`, following Go 1.25's `http.CrossOriginProtection`. No tokens.
 *
 * @module
 */

import type { Context, Middleware } from "../context/context.ts";
import { HttpError } from "../http/errors.ts";
import { hasPathPrefix } from "../router/path.ts";
import { isSerializedOrigin, originHost } from "./_origin.ts";

/** Options of {@linkcode csrf}. */
export interface CsrfOptions {
  /**
   * Origins allowed to send unsafe cross-origin requests, compared exactly
   * with the `Origin` header: `"https://app.example"` (scheme://host[:port],
   * lower case, no path — anything else throws a `TypeError`).
   *
   * @default {[]}
   */
  trustedOrigins?: readonly string[];
  /**
   * Requests that skip the check although they look cross-origin: path
   * prefixes (matched on whole segments: `"/hooks"` covers `/hooks` and
   * `/hooks/github`, not `/hooksmith`) or a function returning true to let a
   * request through. Meant for webhooks and other endpoints that other sites
   * call on purpose; such endpoints must authenticate requests themselves.
   *
   * @default {[]}
   */
  bypass?: readonly string[] | ((ctx: Context) => boolean);
}

/**
 * Creates a middleware that refuses cross-origin browser requests with
 * unsafe methods (anything but GET, HEAD and OPTIONS) with 403, the
 * algorithm of Go 1.25's `http.CrossOriginProtection`:
 *
 * 1. GET, HEAD and OPTIONS pass: they must not change state.
 * 2. `Sec-Fetch-Site: same-origin` or `none` (typed URL, bookmark) passes;
 *    any other value (`same-site`, `cross-site`) is refused unless the
 *    request is trusted (below).
 * 3. Without `Sec-Fetch-Site` (browsers before 2023, plain HTTP to a
 *    non-trustworthy origin), the host of `Origin` must equal `Host`;
 *    otherwise the request is refused unless trusted.
 * 4. Without either header the request is not from a browser (or is
 *    same-origin from an old one) and passes.
 *
 * Trusted: the `Origin` is in `trustedOrigins`, or `bypass` covers the
 * request. The 403 is `application/problem+json` naming the reason. Like
 * Go's, step 3 cannot tell `http://` from `https://` on the same host: use
 * HSTS.
 *
 * @throws {TypeError} at factory time when an option is invalid, naming it.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { csrf } from "@palisade/server/middleware";
 * const app = new App();
 * app.use(csrf({
 *   trustedOrigins: ["https://admin.example"],
 *   bypass: ["/hooks"],
 * }));
 * app.post("/transfer", (ctx) => ctx.json({ ok: true }));
 * ```
 */
export function csrf(options: CsrfOptions = {}): Middleware {
  const trustedList = options.trustedOrigins ?? [];
  if (!Array.isArray(trustedList)) {
    throw new TypeError(
      `Option trustedOrigins must be an array of origins, got ${
        String(trustedList)
      }`,
    );
  }
  for (const o of trustedList) {
    if (typeof o !== "string" || !isSerializedOrigin(o)) {
      throw new TypeError(
        `Option trustedOrigins must list origins (scheme://host[:port], lower case, no path), got ${
          JSON.stringify(o)
        }`,
      );
    }
  }
  const trusted = new Set<string>(trustedList);
  const bypass = bypassOf(options.bypass ?? []);

  function exempt(ctx: Context, origin: string | null): boolean {
    return (origin !== null && trusted.has(origin)) || bypass(ctx);
  }

  return function csrfMiddleware(ctx, next) {
    const m = ctx.method;
    if (m === "GET" || m === "HEAD" || m === "OPTIONS") return next();
    const site = ctx.header("sec-fetch-site");
    const origin = ctx.header("origin");
    if (site !== null && site !== "") {
      if (site === "same-origin" || site === "none" || exempt(ctx, origin)) {
        return next();
      }
      throw new HttpError(
        403,
        site === "same-site" || site === "cross-site"
          ? `Cross-origin request refused: Sec-Fetch-Site is ${site}`
          : "Cross-origin request refused: Sec-Fetch-Site is not same-origin or none",
      );
    }
    if (origin === null || origin === "") return next();
    const host = ctx.header("host") ?? ctx.url.host;
    if (originHost(origin) === host.toLowerCase() || exempt(ctx, origin)) {
      return next();
    }
    throw new HttpError(
      403,
      "Cross-origin request refused: Sec-Fetch-Site is missing and Origin does not match Host",
    );
  };
}

function bypassOf(
  bypass: NonNullable<CsrfOptions["bypass"]>,
): (ctx: Context) => boolean {
  if (typeof bypass === "function") return (ctx) => bypass(ctx) === true;
  if (!Array.isArray(bypass)) {
    throw new TypeError(
      `Option bypass must be an array of path prefixes or a function, got ${
        String(bypass)
      }`,
    );
  }
  const prefixes = bypass.map((p: unknown) => {
    if (typeof p !== "string" || !p.startsWith("/")) {
      throw new TypeError(
        `Option bypass must list path prefixes starting with "/", got ${
          JSON.stringify(p)
        }`,
      );
    }
    return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
  });
  if (prefixes.length === 0) return () => false;
  return (ctx) => prefixes.some((p) => hasPathPrefix(ctx.path, p));
}
