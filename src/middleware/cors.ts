/**
 * `cors()`: Cross-Origin Resource Sharing (the Fetch standard's CORS
 * protocol) — answers preflights and adds the CORS response headers.
 *
 * @module
 */

import type { Context, Middleware } from "../context/context.ts";
import { renderHttpError } from "./_errors.ts";
import { isSerializedOrigin } from "./_origin.ts";

/**
 * Decides per request whether `origin` may read the response: `true` allows
 * it (its value is echoed in `Access-Control-Allow-Origin`), `false` or `""`
 * refuses it, and another string is sent as `Access-Control-Allow-Origin` as
 * is (except `"*"` with `credentials: true`, which counts as a refusal).
 */
export type CorsOriginFunction = (
  origin: string,
  ctx: Context,
) => boolean | string;

/** Options of {@linkcode cors}. */
export interface CorsOptions {
  /**
   * Which origins may read responses:
   * - `"*"`: any origin, answered `Access-Control-Allow-Origin: *`
   *   (the answer does not depend on the request, so no `Vary: Origin`);
   * - an origin string or a list of them, compared exactly with the
   *   request's `Origin` (write them as browsers send them:
   *   `"https://a.example"`, lower case, no trailing slash; `"null"` is
   *   refused because any sandboxed frame or `file:` page sends it);
   * - a RegExp tested against the `Origin` value (anchor it: `/^https:\/\/[a-z]+\.example$/`;
   *   the `g` and `y` flags are refused, origins over 1024 characters never match);
   * - a function, see {@linkcode CorsOriginFunction}.
   *
   * Whenever the answer depends on the origin, responses carry
   * `Vary: Origin`, also those to requests without an `Origin`.
   *
   * @default {"*"}
   */
  origin?: string | readonly string[] | RegExp | CorsOriginFunction;
  /**
   * Methods a preflight may ask for (`Access-Control-Allow-Methods`). A
   * preflight for any other method gets no CORS headers. `[]` refuses every
   * preflight.
   *
   * @default {["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]}
   */
  allowMethods?: readonly string[];
  /**
   * Request headers a preflight may ask for (`Access-Control-Allow-Headers`),
   * compared case-insensitively: a preflight asking for a header outside the
   * list gets no CORS headers. When unset, the headers a preflight asks for
   * are reflected (after checking that each is a valid field name, at most
   * 64 of them) and the answer carries `Vary: Access-Control-Request-Headers`:
   * convenient, but it lets pages send any header, so list them for APIs that
   * take credentials. `[]` allows only CORS-safelisted headers.
   *
   * @default {undefined}
   */
  allowHeaders?: readonly string[];
  /**
   * Response headers pages may read besides the CORS-safelisted ones
   * (`Access-Control-Expose-Headers`).
   *
   * @default {[]}
   */
  exposeHeaders?: readonly string[];
  /**
   * Allow credentialed requests (cookies, HTTP auth):
   * `Access-Control-Allow-Credentials: true`. Combining it with origin `"*"`
   * throws a `TypeError` at factory time: reflecting every origin with
   * credentials would let any site act as the user, so list the origins or
   * decide with a function.
   *
   * @default {false}
   */
  credentials?: boolean;
  /**
   * Seconds a browser may cache a preflight answer
   * (`Access-Control-Max-Age`). Chromium caps it at 7200, Firefox at 86400;
   * 0 tells browsers not to cache preflights.
   *
   * @default {600}
   */
  maxAge?: number;
  /**
   * Answer Private Network Access preflights (`Access-Control-Request-Private-Network: true`,
   * sent when a public page calls a private or local address) with
   * `Access-Control-Allow-Private-Network: true`. When false such preflights
   * get no such header and the browser blocks the request.
   *
   * @default {false}
   */
  allowPrivateNetwork?: boolean;
}

const MAX_ORIGIN = 1024;
const MAX_REQUEST_HEADERS = 64;
const DEFAULT_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"];

/** Returns the `Access-Control-Allow-Origin` value for `origin`, or null. */
type Match = (origin: string, ctx: Context) => string | null;

/**
 * Creates a CORS middleware. Preflights (OPTIONS with
 * `Access-Control-Request-Method` and `Origin`) are answered 204 here and
 * never reach the route; an allowed preflight gets
 * `Access-Control-Allow-Origin`, `-Methods`, `-Headers`, `-Max-Age` and,
 * when set, `-Credentials` and `-Private-Network`; a refused one gets a 204
 * without them (the browser then blocks the request). Other requests run the
 * route and get `Access-Control-Allow-Origin` (plus `-Credentials` and
 * `-Expose-Headers`) when their origin is allowed. An `HttpError` thrown
 * further down the chain is rendered here, so the page can read the error.
 *
 * Put `cors()` before authentication middleware: preflights carry no
 * credentials.
 *
 * @throws {TypeError} at factory time when an option is invalid, naming it.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { cors } from "@palisade/server/middleware";
 * const app = new App();
 * app.use("/api", cors({
 *   origin: ["https://app.example", "https://admin.example"],
 *   credentials: true,
 *   allowHeaders: ["content-type", "x-requested-with"],
 *   exposeHeaders: ["x-request-id"],
 * }));
 * app.put("/api/items/:id", (ctx) => ctx.json({ id: ctx.params.id }));
 * ```
 */
export function cors(options: CorsOptions = {}): Middleware {
  const credentials = options.credentials ?? false;
  if (typeof credentials !== "boolean") {
    throw new TypeError(
      `Option credentials must be a boolean, got ${String(credentials)}`,
    );
  }
  const { match, wildcard } = matcher(options.origin ?? "*", credentials);
  const methods = tokenList(
    "allowMethods",
    options.allowMethods ?? DEFAULT_METHODS,
    false,
  );
  const methodSet = new Set(methods);
  const allowHeaders = options.allowHeaders === undefined
    ? undefined
    : tokenList("allowHeaders", options.allowHeaders, true);
  const headerSet = new Set(allowHeaders);
  const expose = tokenList("exposeHeaders", options.exposeHeaders ?? [], true)
    .join(", ");
  const maxAge = options.maxAge ?? 600;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) {
    throw new TypeError(
      `Option maxAge must be a non-negative integer, got ${String(maxAge)}`,
    );
  }
  const privateNetwork = options.allowPrivateNetwork ?? false;
  if (typeof privateNetwork !== "boolean") {
    throw new TypeError(
      `Option allowPrivateNetwork must be a boolean, got ${
        String(privateNetwork)
      }`,
    );
  }
  const allowMethods = methods.join(", ");
  const allowHeadersValue = allowHeaders?.join(", ");
  const maxAgeValue = String(maxAge);
  const preflightVary = wildcard
    ? (allowHeaders === undefined ? "Access-Control-Request-Headers" : null)
    : (allowHeaders === undefined
      ? "Origin, Access-Control-Request-Headers"
      : "Origin");

  function preflight(ctx: Context, origin: string, method: string): Response {
    const headers: [string, string][] = [];
    if (preflightVary !== null) headers.push(["vary", preflightVary]);
    const allowed = match(origin, ctx);
    if (allowed === null || !methodSet.has(method)) {
      return new Response(null, { status: 204, headers });
    }
    const requested = ctx.header("access-control-request-headers");
    let allowedHeaders: string | null | undefined = allowHeadersValue;
    if (requested !== null) {
      const names = parseHeaderNames(requested);
      if (names === null) return new Response(null, { status: 204, headers });
      if (allowHeaders === undefined) allowedHeaders = names.join(", ");
      else {
        for (const n of names) {
          if (!headerSet.has(n)) {
            return new Response(null, { status: 204, headers });
          }
        }
      }
    }
    headers.push(["access-control-allow-origin", allowed]);
    if (credentials) headers.push(["access-control-allow-credentials", "true"]);
    headers.push(["access-control-allow-methods", allowMethods]);
    if (allowedHeaders) {
      headers.push(["access-control-allow-headers", allowedHeaders]);
    }
    headers.push(["access-control-max-age", maxAgeValue]);
    if (
      privateNetwork &&
      ctx.header("access-control-request-private-network") === "true"
    ) {
      headers.push(["access-control-allow-private-network", "true"]);
    }
    return new Response(null, { status: 204, headers });
  }

  return async function corsMiddleware(ctx, next) {
    const origin = ctx.header("origin");
    if (origin !== null && ctx.method === "OPTIONS") {
      const method = ctx.header("access-control-request-method");
      if (method !== null) return preflight(ctx, origin, method);
    }
    let res: Response;
    try {
      res = await next();
    } catch (e) {
      res = renderHttpError(e);
    }
    const h = res.headers;
    if (wildcard) {
      h.set("access-control-allow-origin", "*");
      if (expose) h.set("access-control-expose-headers", expose);
      return res;
    }
    addVary(h, "Origin");
    if (origin === null) return res;
    const allowed = match(origin, ctx);
    if (allowed === null) return res;
    h.set("access-control-allow-origin", allowed);
    if (credentials) h.set("access-control-allow-credentials", "true");
    if (expose) h.set("access-control-expose-headers", expose);
    return res;
  };
}

function matcher(
  origin: CorsOptions["origin"],
  credentials: boolean,
): { match: Match; wildcard: boolean } {
  if (origin === "*") {
    if (credentials) {
      throw new TypeError(
        'Option origin "*" cannot be combined with credentials: true; list the allowed origins or pass a function',
      );
    }
    return { match: () => "*", wildcard: true };
  }
  if (typeof origin === "string") {
    const one = checkOrigin(origin);
    return { match: (o) => (o === one ? one : null), wildcard: false };
  }
  if (origin instanceof RegExp) {
    if (origin.global || origin.sticky) {
      throw new TypeError(
        `Option origin must be a RegExp without the g or y flag, got ${
          String(origin)
        }`,
      );
    }
    return {
      match: (o) => (o.length <= MAX_ORIGIN && origin.test(o) ? o : null),
      wildcard: false,
    };
  }
  if (typeof origin === "function") {
    return {
      match: (o, ctx) => {
        const r = origin(o, ctx);
        if (r === true) return o;
        // Browsers refuse "*" on credentialed requests: send nothing instead.
        return typeof r === "string" && r !== "" && !(credentials && r === "*")
          ? r
          : null;
      },
      wildcard: false,
    };
  }
  if (Array.isArray(origin)) {
    const set = new Set<string>(origin.map(checkOrigin));
    return { match: (o) => (set.has(o) ? o : null), wildcard: false };
  }
  throw new TypeError(
    `Option origin must be a string, an array of strings, a RegExp or a function, got ${
      String(origin)
    }`,
  );
}

function checkOrigin(o: unknown): string {
  if (typeof o !== "string" || !isSerializedOrigin(o)) {
    throw new TypeError(
      `Option origin must list origins as browsers send them (scheme://host[:port], lower case, no path), got ${
        JSON.stringify(o)
      }`,
    );
  }
  return o;
}

/** Validates a list option of tokens (methods, field names). */
function tokenList(
  name: string,
  list: readonly string[],
  lower: boolean,
): string[] {
  if (!Array.isArray(list)) {
    throw new TypeError(
      `Option ${name} must be an array of strings, got ${String(list)}`,
    );
  }
  return list.map((v) => {
    if (typeof v !== "string" || !isToken(v, 0, v.length)) {
      throw new TypeError(
        `Option ${name} must list HTTP tokens, got ${JSON.stringify(v)}`,
      );
    }
    return lower ? v.toLowerCase() : v;
  });
}

/**
 * Parses `Access-Control-Request-Headers` (comma-separated field names) into
 * lower-case names; null when a name is not a token or there are too many.
 */
function parseHeaderNames(value: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && isOws(value.charCodeAt(i))) i++;
    let j = value.indexOf(",", i);
    if (j === -1) j = n;
    let end = j;
    while (end > i && isOws(value.charCodeAt(end - 1))) end--;
    if (end > i) {
      if (!isToken(value, i, end) || out.length === MAX_REQUEST_HEADERS) {
        return null;
      }
      out.push(value.slice(i, end).toLowerCase());
    }
    i = j + 1;
  }
  return out;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** RFC 9110 tchar: `!#$%&'*+-.^_`|~`, digits and letters. */
function isToken(s: string, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (
      !((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x30 && c <= 0x39) || "!#$%&'*+-.^_`|~".includes(s[i]))
    ) return false;
  }
  return true;
}

/** Adds `token` to the response's `Vary` unless it is there (or `Vary: *`). */
function addVary(h: Headers, token: string): void {
  const v = h.get("vary");
  if (v === null) {
    h.set("vary", token);
    return;
  }
  const lower = token.toLowerCase();
  for (const part of v.split(",")) {
    const p = part.trim().toLowerCase();
    if (p === "*" || p === lower) return;
  }
  h.set("vary", `${v}, ${token}`);
}
