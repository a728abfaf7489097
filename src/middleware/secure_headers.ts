/**
 * `secureHeaders()`: the browser security response headers (HSTS, framing,
 * sniffing, referrer, cross-origin isolation, permissions) and an optional
 * Content-Security-Policy with a per-request nonce.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import type { Context, Middleware } from "../context/context.ts";
import { renderHttpError } from "./_errors.ts";
import {
  buildCsp,
  type CspDirectives,
  NONCE_MARK,
  type PermissionsPolicy,
  permissionsPolicy,
} from "./_policies.ts";

export type { CspDirectives, PermissionsPolicy };

/**
 * Options of {@linkcode secureHeaders}. Every header can be turned off with
 * `false`; `true` means the default value. The defaults equal Hono's
 * `secureHeaders()` or are stricter where noted.
 */
export interface SecureHeadersOptions {
  /**
   * `Strict-Transport-Security`, sent only on HTTPS requests (the request URL
   * scheme is `https:`) unless `hstsOnHttp` is set: browsers ignore it over
   * plain HTTP, and a TLS-terminating proxy should add it itself. The value
   * must start with `max-age=`. Stricter than Hono's 180 days: one year, the
   * minimum for the HSTS preload list.
   *
   * @default {"max-age=31536000; includeSubDomains"}
   */
  strictTransportSecurity?: boolean | string;
  /**
   * Also send `Strict-Transport-Security` on plain-HTTP requests, for apps
   * behind a proxy that terminates TLS and forwards plain HTTP.
   *
   * @default {false}
   */
  hstsOnHttp?: boolean;
  /** `X-Content-Type-Options: nosniff`. @default {true} */
  xContentTypeOptions?: boolean;
  /**
   * `X-Frame-Options` (`"DENY"` or `"SAMEORIGIN"`), and the matching CSP
   * `frame-ancestors` (`'none'` or `'self'`), which modern browsers obey
   * instead: added to `contentSecurityPolicy` unless it sets
   * `frame-ancestors` itself, or sent as a policy of its own when there is
   * no `contentSecurityPolicy`. Same as Hono's `SAMEORIGIN`.
   *
   * @default {"SAMEORIGIN"}
   */
  xFrameOptions?: boolean | "DENY" | "SAMEORIGIN";
  /**
   * `Referrer-Policy`: one policy or a fallback list, e.g.
   * `["no-referrer", "strict-origin-when-cross-origin"]`. Same as Hono.
   *
   * @default {"no-referrer"}
   */
  referrerPolicy?: boolean | string | readonly string[];
  /**
   * `Cross-Origin-Opener-Policy`: `"same-origin"`,
   * `"same-origin-allow-popups"`, `"noopener-allow-popups"` or
   * `"unsafe-none"`. Same as Hono.
   *
   * @default {"same-origin"}
   */
  crossOriginOpenerPolicy?: boolean | string;
  /**
   * `Cross-Origin-Resource-Policy`: `"same-origin"`, `"same-site"` or
   * `"cross-origin"` (use that one for public assets and APIs other sites
   * embed). Same as Hono.
   *
   * @default {"same-origin"}
   */
  crossOriginResourcePolicy?: boolean | string;
  /**
   * `Cross-Origin-Embedder-Policy`: `"require-corp"` (the value of `true`),
   * `"credentialless"` or `"unsafe-none"`. Off by default, as in Hono: it
   * breaks pages that embed cross-origin resources without CORP or CORS.
   *
   * @default {false}
   */
  crossOriginEmbedderPolicy?: boolean | string;
  /**
   * `Permissions-Policy`. Stricter than Hono (which sends none): camera,
   * geolocation, microphone, payment and USB are disabled. Give a whole
   * policy to replace the default; `{}` or `false` sends none.
   *
   * @default {{ camera: [], geolocation: [], microphone: [], payment: [], usb: [] }}
   */
  permissionsPolicy?: boolean | PermissionsPolicy;
  /** `X-DNS-Prefetch-Control: off`. Same as Hono. @default {true} */
  xDnsPrefetchControl?: boolean;
  /** `X-Download-Options: noopen` (old Internet Explorer). Same as Hono. @default {true} */
  xDownloadOptions?: boolean;
  /**
   * `X-Permitted-Cross-Domain-Policies`: `"none"`, `"master-only"`,
   * `"by-content-type"` or `"all"`. Same as Hono.
   *
   * @default {"none"}
   */
  xPermittedCrossDomainPolicies?: boolean | string;
  /** `Origin-Agent-Cluster: ?1`. Same as Hono. @default {true} */
  originAgentCluster?: boolean;
  /**
   * `X-XSS-Protection: 0`: turns off the legacy XSS auditor, which could be
   * abused to leak data. Same as Hono.
   *
   * @default {true}
   */
  xXssProtection?: boolean;
  /**
   * `Content-Security-Policy` directives. When unset, the only policy sent
   * is the `frame-ancestors` of `xFrameOptions` (and the nonce's, with
   * `nonce`).
   *
   * @default {undefined}
   */
  contentSecurityPolicy?: CspDirectives;
  /**
   * Generate a nonce per request (16 random bytes, base64) and add
   * `'nonce-…'` to each directive in `nonceDirectives`. A missing directive
   * is created with the sources of `default-src` (which it would have
   * inherited) plus the nonce. Read the nonce in handlers with
   * {@linkcode cspNonce}.
   *
   * @default {false}
   */
  nonce?: boolean;
  /**
   * Directives that get the nonce.
   *
   * @default {["script-src"]}
   */
  nonceDirectives?: readonly ("script-src" | "style-src")[];
  /** Delete an `X-Powered-By` header a handler or upstream set. Same as Hono. @default {true} */
  removePoweredBy?: boolean;
  /**
   * Replace a header the response already has. `false` keeps what a handler
   * set itself (a route that must be framed can send its own
   * `X-Frame-Options`).
   *
   * @default {true}
   */
  overwrite?: boolean;
}

const nonces = new WeakMap<Context, string>();

/**
 * Returns the CSP nonce `secureHeaders({ nonce: true })` made for this
 * request, or undefined when that middleware did not run for it. Put it in
 * `<script nonce="…">`.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { cspNonce, secureHeaders } from "@palisade/server/middleware";
 * const app = new App();
 * app.use(secureHeaders({
 *   contentSecurityPolicy: { defaultSrc: ["'self'"] },
 *   nonce: true,
 * }));
 * app.get("/", (ctx) =>
 *   ctx.html(`<script nonce="${cspNonce(ctx)}">console.log("hi")</script>`));
 * ```
 */
export function cspNonce(ctx: Context): string | undefined {
  return nonces.get(ctx);
}

const REFERRER_POLICIES = new Set([
  "no-referrer",
  "no-referrer-when-downgrade",
  "origin",
  "origin-when-cross-origin",
  "same-origin",
  "strict-origin",
  "strict-origin-when-cross-origin",
  "unsafe-url",
]);
/**
 * Creates a middleware that adds the security headers to every response,
 * including `HttpError` responses thrown further down the chain. Header
 * values are validated and built once, here; per request the middleware only
 * sets them (and makes the nonce when asked).
 *
 * @throws {TypeError} at factory time when an option is invalid, naming it.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { secureHeaders } from "@palisade/server/middleware";
 * const app = new App();
 * app.use(secureHeaders({
 *   xFrameOptions: "DENY",
 *   crossOriginResourcePolicy: "same-site",
 *   contentSecurityPolicy: {
 *     defaultSrc: ["'self'"],
 *     imgSrc: ["'self'", "data:"],
 *     upgradeInsecureRequests: true,
 *   },
 * }));
 * ```
 */
export function secureHeaders(options: SecureHeadersOptions = {}): Middleware {
  const fixed: [string, string][] = [];
  const add = (name: string, value: string | null) => {
    if (value !== null) fixed.push([name, value]);
  };
  const hsts = pick(
    "strictTransportSecurity",
    options.strictTransportSecurity,
    "max-age=31536000; includeSubDomains",
    (v) => /^max-age=\d+(\s*;\s*[A-Za-z]+)*$/i.test(v),
  );
  const hstsOnHttp = flag("hstsOnHttp", options.hstsOnHttp, false);
  if (flag("xContentTypeOptions", options.xContentTypeOptions, true)) {
    add("x-content-type-options", "nosniff");
  }
  const xfo = pick(
    "xFrameOptions",
    options.xFrameOptions,
    "SAMEORIGIN",
    (v) => v === "DENY" || v === "SAMEORIGIN",
  );
  add("x-frame-options", xfo);
  add("referrer-policy", referrerPolicy(options.referrerPolicy));
  add(
    "cross-origin-opener-policy",
    pick(
      "crossOriginOpenerPolicy",
      options.crossOriginOpenerPolicy,
      "same-origin",
      oneOf(
        "same-origin",
        "same-origin-allow-popups",
        "noopener-allow-popups",
        "unsafe-none",
      ),
    ),
  );
  add(
    "cross-origin-resource-policy",
    pick(
      "crossOriginResourcePolicy",
      options.crossOriginResourcePolicy,
      "same-origin",
      oneOf("same-origin", "same-site", "cross-origin"),
    ),
  );
  add(
    "cross-origin-embedder-policy",
    pick(
      "crossOriginEmbedderPolicy",
      options.crossOriginEmbedderPolicy ?? false,
      "require-corp",
      oneOf("require-corp", "credentialless", "unsafe-none"),
    ),
  );
  add("permissions-policy", permissionsPolicy(options.permissionsPolicy));
  if (flag("xDnsPrefetchControl", options.xDnsPrefetchControl, true)) {
    add("x-dns-prefetch-control", "off");
  }
  if (flag("xDownloadOptions", options.xDownloadOptions, true)) {
    add("x-download-options", "noopen");
  }
  add(
    "x-permitted-cross-domain-policies",
    pick(
      "xPermittedCrossDomainPolicies",
      options.xPermittedCrossDomainPolicies,
      "none",
      oneOf("none", "master-only", "by-content-type", "all"),
    ),
  );
  if (flag("originAgentCluster", options.originAgentCluster, true)) {
    add("origin-agent-cluster", "?1");
  }
  if (flag("xXssProtection", options.xXssProtection, true)) {
    add("x-xss-protection", "0");
  }
  const useNonce = flag("nonce", options.nonce, false);
  const csp = buildCsp(
    options.contentSecurityPolicy,
    xfo === null ? null : xfo === "DENY" ? "'none'" : "'self'",
    useNonce ? nonceDirectives(options.nonceDirectives) : [],
  );
  // Without a nonce the policy is one more fixed header; with one it is the
  // parts around each nonce, joined per request.
  let cspParts: string[] | null = null;
  if (csp !== null) {
    if (useNonce) cspParts = csp.split(NONCE_MARK);
    else add("content-security-policy", csp);
  }
  const removePoweredBy = flag(
    "removePoweredBy",
    options.removePoweredBy,
    true,
  );
  const overwrite = flag("overwrite", options.overwrite, true);
  const set = overwrite
    ? (h: Headers, name: string, value: string) => h.set(name, value)
    : (h: Headers, name: string, value: string) => {
      if (!h.has(name)) h.set(name, value);
    };

  return async function secureHeadersMiddleware(ctx, next) {
    let nonce: string | undefined;
    if (cspParts !== null) {
      nonce = randomBytes(16).toString("base64");
      nonces.set(ctx, nonce);
    }
    let res: Response;
    try {
      res = await next();
    } catch (e) {
      res = renderHttpError(e);
    }
    const h = res.headers;
    for (let i = 0; i < fixed.length; i++) set(h, fixed[i][0], fixed[i][1]);
    if (cspParts !== null) {
      set(h, "content-security-policy", cspParts.join(nonce));
    }
    if (hsts !== null && (hstsOnHttp || ctx.url.protocol === "https:")) {
      set(h, "strict-transport-security", hsts);
    }
    if (removePoweredBy) h.delete("x-powered-by");
    return res;
  };
}

function flag(
  name: string,
  value: boolean | undefined,
  fallback: boolean,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Option ${name} must be a boolean, got ${String(value)}`,
    );
  }
  return value;
}

/** Resolves a `boolean | string` header option to its value or null (off). */
function pick(
  name: string,
  value: unknown,
  fallback: string,
  valid: (v: string) => boolean,
): string | null {
  if (value === undefined || value === true) return fallback;
  if (value === false) return null;
  if (typeof value !== "string" || !valid(value)) {
    throw new TypeError(
      `Option ${name} must be a boolean or a valid header value, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function oneOf(...values: string[]): (v: string) => boolean {
  return (v) => values.includes(v);
}

function referrerPolicy(
  value: SecureHeadersOptions["referrerPolicy"],
): string | null {
  if (value === undefined || value === true) return "no-referrer";
  if (value === false) return null;
  const list = typeof value === "string" ? [value] : value;
  if (
    !Array.isArray(list) || list.length === 0 ||
    !list.every((p) => REFERRER_POLICIES.has(p))
  ) {
    throw new TypeError(
      `Option referrerPolicy must be a referrer policy or a list of them, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return list.join(", ");
}

function nonceDirectives(
  value: SecureHeadersOptions["nonceDirectives"],
): string[] {
  const list = value ?? ["script-src"];
  if (
    !Array.isArray(list) ||
    !list.every((d) => d === "script-src" || d === "style-src")
  ) {
    throw new TypeError(
      `Option nonceDirectives must list "script-src" and/or "style-src", got ${
        JSON.stringify(value)
      }`,
    );
  }
  return [...list];
}
