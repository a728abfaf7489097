/**
 * `jwt()`: verifies JSON Web Tokens (JWS compact form) from
 * `Authorization: Bearer` or a cookie with `npm:jose`, against a key or a
 * remote JWKS, and exposes the payload in `ctx.state`.
 *
 * @module
 */

import {
  createRemoteJWKSet,
  importJWK,
  importSPKI,
  importX509,
  type JWK,
  jwtVerify,
  type JWTVerifyGetKey,
} from "npm:jose@6";
import type { Middleware } from "../context/context.ts";
import { HttpError } from "../http/errors.ts";
import { positiveInteger } from "./_credentials.ts";
import {
  checkAlgorithms,
  checkKeyFits,
  describeKey,
  FAMILY_OF_ALG,
  type JwtAlgorithm,
  type JwtKey,
} from "./_jwt_keys.ts";
import { isCompactJws, tokenOf } from "./_jwt_token.ts";

export type { JwtAlgorithm, JwtKey };

/** A verified JWT payload: the registered claims and any others. */
export interface JwtPayload {
  /** Issuer. */
  iss?: string;
  /** Subject. */
  sub?: string;
  /** Audience. */
  aud?: string | string[];
  /** Expiry, seconds since the epoch. */
  exp?: number;
  /** Not before, seconds since the epoch. */
  nbf?: number;
  /** Issued at, seconds since the epoch. */
  iat?: number;
  /** Token id. */
  jti?: string;
  /** Other claims. */
  [claim: string]: unknown;
}

/** Options of {@linkcode jwt}: `algorithms` and exactly one of `key` or `jwksUrl`. */
export interface JwtOptions {
  /**
   * The algorithms accepted, required: a token whose header names another
   * is refused, which is what stops algorithm confusion (an HS256 token
   * "signed" with an RSA public key). Must suit the key: HS256/384/512 for a
   * secret (at least 32/48/64 bytes, RFC 7518 §3.2), RS256 for RSA, ES256
   * for P-256, EdDSA for Ed25519; only asymmetric ones with `jwksUrl`.
   * `none` is refused.
   *
   * @default {undefined} (required: a missing or empty list throws)
   */
  algorithms: readonly JwtAlgorithm[];
  /** The verification key. @default {undefined} */
  key?: JwtKey;
  /**
   * URL of a JSON Web Key Set (`https://issuer.example/.well-known/jwks.json`),
   * fetched on first use and cached. A token's `kid` and `alg` pick the key.
   *
   * @default {undefined}
   */
  jwksUrl?: string | URL;
  /**
   * Timeout of one JWKS fetch in ms; a request waiting for it is answered
   * 401 when it passes.
   *
   * @default {5000}
   */
  jwksTimeoutMs?: number;
  /**
   * How long a fetched JWKS is used before it is fetched again, in ms.
   * `0` fetches it for every token (mind the key server).
   *
   * @default {600000}
   */
  jwksCacheMs?: number;
  /**
   * After a fetch, how long a token with an unknown `kid` waits before it
   * may trigger another fetch (it is refused meanwhile), in ms: forged
   * `kid`s cannot hammer the key server. `0` allows a fetch each time.
   *
   * @default {30000}
   */
  jwksCooldownMs?: number;
  /** Required `iss` (one of, for a list). @default {undefined} (not checked) */
  issuer?: string | readonly string[];
  /** Required `aud` (one of, for a list). @default {undefined} (not checked) */
  audience?: string | readonly string[];
  /**
   * Leeway for `exp`, `nbf` and `iat` against this server's clock, in
   * seconds.
   *
   * @default {0}
   */
  clockToleranceSec?: number;
  /**
   * Refuse tokens without `exp`: a token that never expires cannot be
   * revoked by waiting.
   *
   * @default {true}
   */
  requireExp?: boolean;
  /**
   * Longest token accepted, in bytes; a longer one is refused (401) before
   * any parsing. The App's `headerBytes` limit applies first.
   *
   * @default {8192}
   */
  maxTokenBytes?: number;
  /**
   * Also read the token from this cookie when the request has no
   * `Authorization: Bearer` header.
   *
   * @default {undefined} (header only)
   */
  cookie?: string;
  /**
   * Key of `ctx.state` that receives the verified {@linkcode JwtPayload}.
   *
   * @default {"jwtPayload"}
   */
  stateKey?: string;
}

const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Creates a middleware that requires a valid JWT: signature (with one of
 * `algorithms` only), `exp` and `nbf` (with `clockToleranceSec`), and
 * `issuer`/`audience` when set. The payload goes to `ctx.state[stateKey]`.
 * A missing token is answered 401 with `WWW-Authenticate: Bearer`; a bad one
 * (too long, malformed, wrong signature, expired, not yet valid, wrong
 * claims, key set unavailable) 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"`; both problem+json, with
 * a detail naming the failed check.
 *
 * @throws {TypeError} at factory time when the options are invalid (no
 * algorithms, `none`, a key that does not suit the algorithms, a short
 * secret), naming the option.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { jwt } from "@palisade/server/middleware";
 * const app = new App();
 * app.use("/api", jwt({
 *   algorithms: ["ES256"],
 *   jwksUrl: "https://auth.example/.well-known/jwks.json",
 *   issuer: "https://auth.example/",
 *   audience: "api",
 * }));
 * app.get("/api/me", (ctx) => ctx.json({ sub: (ctx.state.jwtPayload as { sub?: string }).sub }));
 * ```
 */
export function jwt(options: JwtOptions): Middleware {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Options of jwt must be an object, got ${String(options)}`,
    );
  }
  const algorithms = checkAlgorithms(options.algorithms);
  const getKey = keyResolver(options, algorithms);
  const maxBytes = positiveInteger(
    "maxTokenBytes",
    options.maxTokenBytes ?? 8192,
  );
  const tolerance = options.clockToleranceSec ?? 0;
  if (!Number.isSafeInteger(tolerance) || tolerance < 0) {
    throw new TypeError(
      `Option clockToleranceSec must be a non-negative integer, got ${
        String(tolerance)
      }`,
    );
  }
  const requireExp = options.requireExp ?? true;
  if (typeof requireExp !== "boolean") {
    throw new TypeError(
      `Option requireExp must be a boolean, got ${String(requireExp)}`,
    );
  }
  const stateKey = options.stateKey ?? "jwtPayload";
  if (
    typeof stateKey !== "string" || stateKey === "" || UNSAFE_KEYS.has(stateKey)
  ) {
    throw new TypeError(
      `Option stateKey must be a non-empty string other than __proto__, constructor and prototype, got ${
        JSON.stringify(stateKey)
      }`,
    );
  }
  const cookie = options.cookie;
  if (
    cookie !== undefined &&
    (typeof cookie !== "string" ||
      !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookie))
  ) {
    throw new TypeError(
      `Option cookie must be a cookie name, got ${JSON.stringify(cookie)}`,
    );
  }
  const verifyOptions = {
    algorithms,
    issuer: stringList("issuer", options.issuer),
    audience: stringList("audience", options.audience),
    clockTolerance: tolerance,
    requiredClaims: requireExp ? ["exp"] : [],
  };
  const timeoutMs = options.jwksTimeoutMs ?? 5000;
  const remote = options.jwksUrl !== undefined;
  const invalid = (detail: string, cause?: unknown) =>
    new HttpError(401, detail, {
      headers: { "www-authenticate": 'Bearer error="invalid_token"' },
      cause,
    });

  return async function jwtMiddleware(ctx, next) {
    const token = tokenOf(ctx, cookie, maxBytes);
    if (token === null) {
      throw new HttpError(401, "Bearer token is required", {
        headers: { "www-authenticate": "Bearer" },
      });
    }
    if (token.length > maxBytes) {
      throw invalid(
        `Token exceeds the maxTokenBytes limit of ${maxBytes} bytes`,
      );
    }
    if (!isCompactJws(token)) throw invalid("Token is not a signed JWT");
    let payload: JwtPayload;
    try {
      payload = (await jwtVerify(token, getKey, verifyOptions))
        .payload as JwtPayload;
    } catch (e) {
      throw invalid(reasonOf(e, remote, timeoutMs), e);
    }
    ctx.state[stateKey] = payload;
    return next();
  };
}

function stringList(
  name: string,
  value: unknown,
): string | string[] | undefined {
  if (value === undefined || typeof value === "string") return value;
  if (
    Array.isArray(value) && value.length > 0 &&
    value.every((v) => typeof v === "string")
  ) {
    return [...value];
  }
  throw new TypeError(
    `Option ${name} must be a string or a non-empty array of strings, got ${
      String(value)
    }`,
  );
}

/** Validates the key options once and returns what `jwtVerify` is given. */
function keyResolver(
  options: JwtOptions,
  algorithms: JwtAlgorithm[],
): Uint8Array | CryptoKey | JWTVerifyGetKey {
  const { key, jwksUrl } = options;
  if ((key === undefined) === (jwksUrl === undefined)) {
    throw new TypeError("Options of jwt need exactly one of key or jwksUrl");
  }
  if (jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      url = new URL("invalid:");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError(
        `Option jwksUrl must be an http(s) URL, got ${
          JSON.stringify(String(jwksUrl))
        }`,
      );
    }
    const secretAlg = algorithms.find((a) => FAMILY_OF_ALG[a] === "secret");
    if (secretAlg !== undefined) {
      throw new TypeError(
        `Option algorithms cannot contain ${secretAlg} with jwksUrl: key sets hold public keys`,
      );
    }
    return createRemoteJWKSet(url, {
      timeoutDuration: msOption(
        "jwksTimeoutMs",
        options.jwksTimeoutMs ?? 5000,
        1,
      ),
      cacheMaxAge: msOption("jwksCacheMs", options.jwksCacheMs ?? 600_000, 0),
      cooldownDuration: msOption(
        "jwksCooldownMs",
        options.jwksCooldownMs ?? 30_000,
        0,
      ),
    });
  }
  const info = describeKey(key!);
  checkKeyFits(info, algorithms);
  const src = info.source;
  if (src.kind === "secret") return src.bytes;
  if (src.kind === "crypto") return src.key;
  const load = src.kind === "jwk"
    ? (alg: string) => importJWK(src.jwk as JWK, alg) as Promise<CryptoKey>
    : src.kind === "x509"
    ? (alg: string) => importX509(src.pem, alg)
    : (alg: string) => importSPKI(src.pem, alg);
  // Imported on first use, once per algorithm.
  const loaded = new Map<string, Promise<CryptoKey>>();
  return (header) => {
    const alg = header.alg!;
    let k = loaded.get(alg);
    if (k === undefined) {
      k = load(alg);
      loaded.set(alg, k);
    }
    return k;
  };
}

function msOption(name: string, value: unknown, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new TypeError(
      `Option ${name} must be ${
        min === 0 ? "a non-negative" : "a positive"
      } integer, got ${String(value)}`,
    );
  }
  return value as number;
}

/** A detail naming why jose refused the token. */
function reasonOf(e: unknown, remote: boolean, timeoutMs: number): string {
  const err = e as { code?: string; claim?: string; reason?: string };
  switch (err?.code) {
    case "ERR_JWT_EXPIRED":
      return "Token has expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (err.claim === "nbf") return "Token is not valid yet";
      return err.reason === "missing"
        ? `Token claim ${err.claim} is missing`
        : `Token claim ${err.claim} is invalid`;
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "Token signature is invalid";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "Token algorithm is not allowed";
    case "ERR_JWKS_TIMEOUT":
      return `Key set was not fetched within jwksTimeoutMs of ${timeoutMs} ms`;
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "No key of the key set matches the token";
    case "ERR_JWKS_INVALID":
      return "Key set could not be fetched";
    default:
      // A failed fetch of the key set is a plain error (network, status).
      return remote &&
          (err?.code === undefined || err.code === "ERR_JOSE_GENERIC")
        ? "Key set could not be fetched"
        : "Token is invalid";
  }
}
