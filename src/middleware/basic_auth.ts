/**
 * `basicAuth()`: HTTP Basic authentication (RFC 7617) with constant-time
 * credential checks and a bounded `Authorization` header.
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

/** One accepted user of {@linkcode basicAuth}. */
export interface BasicAuthUser {
  /** The user-id; must not contain `:`. */
  username: string;
  /** The password; must not be empty. */
  password: string;
}

/**
 * Decides whether a user-id and password are valid. Compare secrets in
 * constant time yourself (or look up a password hash).
 */
export type BasicAuthVerify = (
  username: string,
  password: string,
  ctx: Context,
) => boolean | Promise<boolean>;

/**
 * Options of {@linkcode basicAuth}: exactly one of `username` + `password`,
 * `users`, or `verify`.
 */
export interface BasicAuthOptions {
  /** The one accepted user-id (with `password`). @default {undefined} */
  username?: string;
  /** The password of `username`. @default {undefined} */
  password?: string;
  /** Several accepted users. @default {undefined} */
  users?: readonly BasicAuthUser[];
  /** A function deciding per request. @default {undefined} */
  verify?: BasicAuthVerify;
  /**
   * The protection space named in the `WWW-Authenticate` challenge
   * (printable ASCII).
   *
   * @default {"Restricted"}
   */
  realm?: string;
  /**
   * Longest `Authorization` value read, in bytes; a longer one is answered
   * 401 without being decoded.
   *
   * @default {4096}
   */
  maxHeaderBytes?: number;
}

const usersOf = new WeakMap<Context, string>();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Returns the user-id `basicAuth()` authenticated for this request, or
 * undefined when it did not run (or the route is not behind it).
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { basicAuth, basicAuthUser } from "@palisade/server/middleware";
 * const app = new App();
 * app.use("/admin", basicAuth({ username: "admin", password: "correct horse battery staple" }));
 * app.get("/admin", (ctx) => ctx.text(`Hello ${basicAuthUser(ctx)}`));
 * ```
 */
export function basicAuthUser(ctx: Context): string | undefined {
  return usersOf.get(ctx);
}

/**
 * Creates a middleware that lets a request through only with valid Basic
 * credentials, and answers 401 problem+json with
 * `WWW-Authenticate: Basic realm="…", charset="UTF-8"` otherwise: when the
 * header is missing, uses another scheme, is longer than `maxHeaderBytes`,
 * is not valid base64 of UTF-8 `user-id:password`, or the credentials are
 * wrong. Static credentials are compared as SHA-256 digests with
 * `timingSafeEqual`, against every configured user, so timing reveals
 * neither the password, its length, nor which user-ids exist. The
 * authenticated user-id is read with {@linkcode basicAuthUser}.
 *
 * @throws {TypeError} at factory time when the options are invalid, naming
 * the option.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { basicAuth } from "@palisade/server/middleware";
 * const app = new App();
 * app.use("/metrics", basicAuth({
 *   users: [{ username: "prometheus", password: Deno.env.get("METRICS_PASSWORD") ?? "change me" }],
 *   realm: "metrics",
 * }));
 * ```
 */
export function basicAuth(options: BasicAuthOptions): Middleware {
  const check = checker(options);
  const challenge = `Basic realm=${
    quotedRealm(options.realm ?? "Restricted")
  }, charset="UTF-8"`;
  const maxBytes = positiveInteger(
    "maxHeaderBytes",
    options.maxHeaderBytes ?? 4096,
  );
  const refuse = (detail: string) =>
    new HttpError(401, detail, { headers: { "www-authenticate": challenge } });

  return async function basicAuthMiddleware(ctx, next) {
    const value = ctx.header("authorization");
    if (value === null) throw refuse("Basic credentials are required");
    if (value.length > maxBytes) {
      throw refuse(
        `Authorization header exceeds the maxHeaderBytes limit of ${maxBytes} bytes`,
      );
    }
    const start = afterScheme(value, "basic");
    if (start === -1) throw refuse("Basic credentials are required");
    const pair = decode(value, start);
    if (pair === null) throw refuse("Basic credentials are malformed");
    if (!await check(pair[0], pair[1], ctx)) {
      throw refuse("Invalid credentials");
    }
    usersOf.set(ctx, pair[0]);
    return next();
  };
}

function checker(options: BasicAuthOptions): BasicAuthVerify {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Options of basicAuth must be an object, got ${String(options)}`,
    );
  }
  const { username, password, users, verify } = options;
  const given = [
    username !== undefined || password !== undefined,
    users !== undefined,
    verify !== undefined,
  ]
    .filter(Boolean).length;
  if (given !== 1) {
    throw new TypeError(
      "Options of basicAuth need exactly one of username and password, users, or verify",
    );
  }
  if (verify !== undefined) {
    return func("verify", verify);
  }
  const list = users ?? [{ username: username!, password: password! }];
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(
      `Option users must be a non-empty array, got ${
        Array.isArray(users) ? "an empty array" : String(users)
      }`,
    );
  }
  const known: Uint8Array[] = [];
  for (const u of list) {
    const name = u?.username;
    if (
      typeof name !== "string" || name === "" || name.includes(":") ||
      hasControl(name)
    ) {
      throw new TypeError(
        `Option username must be a non-empty string without ":" or control characters, got ${
          JSON.stringify(name)
        }`,
      );
    }
    if (
      typeof u.password !== "string" || u.password === "" ||
      hasControl(u.password)
    ) {
      throw new TypeError(
        `Option password of user ${
          JSON.stringify(name)
        } must be a non-empty string without control characters`,
      );
    }
    known.push(digest(pairKey(name, u.password)));
  }
  return (user, pass) => anyEqual(digest(pairKey(user, pass)), known);
}

/** One unambiguous string for a user-id and password, to hash as a whole. */
function pairKey(user: string, pass: string): string {
  return JSON.stringify([user, pass]);
}

/**
 * Decodes `base64(user-id ":" password)` from `value[start:]`; null when it
 * is not strict base64, not UTF-8, has no colon, or holds control
 * characters.
 */
function decode(value: string, start: number): [string, string] | null {
  const end = value.length;
  if (start === end || (end - start) % 4 !== 0) return null;
  let pad = 0;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x3d) { // "=" only at the end, at most two
      pad++;
      continue;
    }
    if (
      pad > 0 ||
      !((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
        (c >= 0x30 && c <= 0x39) ||
        c === 0x2b || c === 0x2f)
    ) return null;
  }
  if (pad > 2) return null;
  let text: string;
  try {
    const binary = atob(value.slice(start));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    text = decoder.decode(bytes);
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon === -1 || hasControl(text)) return null;
  return [text.slice(0, colon), text.slice(colon + 1)];
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
