/**
 * `bearerAuth()`: opaque bearer tokens in `Authorization` (RFC 6750 §2.1),
 * compared in constant time, with RFC 6750 challenges and error codes.
 *
 * @module
 */

import type { Context, Middleware } from "../context/context.ts";
import { HttpError } from "../http/errors.ts";
import {
  afterScheme,
  anyEqual,
  digest,
  positiveInteger,
  quotedRealm,
} from "./_credentials.ts";
import { func } from "../internal/validate.ts";

/** Decides whether a bearer token is valid; compare secrets in constant time. */
export type BearerAuthVerify = (
  token: string,
  ctx: Context,
) => boolean | Promise<boolean>;

/** Options of {@linkcode bearerAuth}: exactly one of `token`, `tokens`, or `verify`. */
export interface BearerAuthOptions {
  /** The one accepted token (token68 characters). @default {undefined} */
  token?: string;
  /** Several accepted tokens, e.g. during a rotation. @default {undefined} */
  tokens?: readonly string[];
  /** A function deciding per request. @default {undefined} */
  verify?: BearerAuthVerify;
  /**
   * The protection space named in `WWW-Authenticate` (printable ASCII).
   *
   * @default {"Restricted"}
   */
  realm?: string;
  /**
   * Longest `Authorization` value read, in bytes; a longer one is answered
   * 400 `invalid_request` without being examined.
   *
   * @default {4096}
   */
  maxHeaderBytes?: number;
}

/**
 * Creates a middleware that lets a request through only with a valid
 * `Authorization: Bearer <token>`, answering as RFC 6750 §3 says:
 *
 * - no credentials, or another scheme: 401 with
 *   `WWW-Authenticate: Bearer realm="…"` (no error code);
 * - a malformed header (empty token, characters outside token68, trailing
 *   data, over `maxHeaderBytes`): 400 with `error="invalid_request"`;
 * - a well-formed but wrong token: 401 with `error="invalid_token"`.
 *
 * Every answer is problem+json. Static tokens are compared as SHA-256
 * digests with `timingSafeEqual`, against every configured token.
 *
 * @throws {TypeError} at factory time when the options are invalid, naming
 * the option.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { bearerAuth } from "@palisade/server/middleware";
 * const app = new App();
 * app.use("/api", bearerAuth({ tokens: ["k3y-2025-05", "k3y-2025-11"], realm: "api" }));
 * app.get("/api/me", (ctx) => ctx.json({ ok: true }));
 * ```
 */
export function bearerAuth(options: BearerAuthOptions): Middleware {
  const verify = verifier(options);
  const realm = `Bearer realm=${quotedRealm(options.realm ?? "Restricted")}`;
  const maxBytes = positiveInteger(
    "maxHeaderBytes",
    options.maxHeaderBytes ?? 4096,
  );
  const missing = { "www-authenticate": realm };
  const invalidRequest = {
    "www-authenticate": `${realm}, error="invalid_request"`,
  };
  const invalidToken = {
    "www-authenticate": `${realm}, error="invalid_token"`,
  };

  return async function bearerAuthMiddleware(ctx, next) {
    const value = ctx.header("authorization");
    if (value === null) {
      throw new HttpError(401, "Bearer token is required", {
        headers: missing,
      });
    }
    if (value.length > maxBytes) {
      throw new HttpError(
        400,
        `Authorization header exceeds the maxHeaderBytes limit of ${maxBytes} bytes`,
        { headers: invalidRequest },
      );
    }
    const start = afterScheme(value, "bearer");
    if (start === -1) {
      if (value.toLowerCase() === "bearer") {
        throw new HttpError(400, "Bearer token is empty", {
          headers: invalidRequest,
        });
      }
      throw new HttpError(401, "Bearer token is required", {
        headers: missing,
      });
    }
    const token = value.slice(start);
    if (!isToken68(token)) {
      throw new HttpError(400, "Bearer token is malformed", {
        headers: invalidRequest,
      });
    }
    if (!await verify(token, ctx)) {
      throw new HttpError(401, "Bearer token is invalid", {
        headers: invalidToken,
      });
    }
    return next();
  };
}

function verifier(options: BearerAuthOptions): BearerAuthVerify {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Options of bearerAuth must be an object, got ${String(options)}`,
    );
  }
  const { token, tokens, verify } = options;
  const given = [token, tokens, verify].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new TypeError(
      "Options of bearerAuth need exactly one of token, tokens, or verify",
    );
  }
  if (verify !== undefined) {
    return func("verify", verify);
  }
  const list = tokens ?? [token];
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(
      `Option tokens must be a non-empty array, got ${
        Array.isArray(tokens) ? "an empty array" : String(tokens)
      }`,
    );
  }
  const known = list.map((t: unknown) => {
    if (typeof t !== "string" || !isToken68(t)) {
      throw new TypeError(
        `Option ${
          tokens ? "tokens" : "token"
        } must hold token68 strings (letters, digits, -._~+/ and trailing =), got ${
          typeof t === "string"
            ? `a string of ${t.length} characters`
            : String(t)
        }`,
      );
    }
    return digest(t);
  });
  return (t) => anyEqual(digest(t), known);
}

/** RFC 7235 token68: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. */
function isToken68(s: string): boolean {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (
      !((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
        (c >= 0x30 && c <= 0x39) ||
        c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b ||
        c === 0x2f)
    ) break;
  }
  if (i === 0) return false;
  while (i < n && s.charCodeAt(i) === 0x3d) i++;
  return i === n;
}
