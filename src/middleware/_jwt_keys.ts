/**
 * The keys and algorithms `jwt()` accepts: option validation and key
 * classification, done once per factory (no jose here: only `jwt.ts`
 * imports it).
 *
 * @module
 */

import { createPublicKey } from "node:crypto";

/** The JWS algorithms `jwt()` verifies. */
export type JwtAlgorithm =
  | "HS256"
  | "HS384"
  | "HS512"
  | "RS256"
  | "ES256"
  | "EdDSA";

/**
 * A verification key: an HMAC secret (string, UTF-8, or bytes), a
 * `CryptoKey`, a PEM public key or X.509 certificate, or a public JWK.
 */
export type JwtKey = string | Uint8Array | CryptoKey | JsonWebKey;

const ALGORITHMS = new Set([
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "ES256",
  "EdDSA",
]);
const SECRET_BYTES: Record<string, number> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
};

/** A kind of key: what it can verify. */
export type KeyFamily = "secret" | "rsa" | "ec-p256" | "ed25519";

/** The kind of key each algorithm needs. */
export const FAMILY_OF_ALG: Record<JwtAlgorithm, KeyFamily> = {
  HS256: "secret",
  HS384: "secret",
  HS512: "secret",
  RS256: "rsa",
  ES256: "ec-p256",
  EdDSA: "ed25519",
};

/** Validates the `algorithms` option; returns it without duplicates. */
export function checkAlgorithms(list: unknown): JwtAlgorithm[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(
      `Option algorithms must be a non-empty array of JWS algorithms, got ${
        Array.isArray(list) ? "an empty array" : String(list)
      }`,
    );
  }
  for (const alg of list) {
    if (typeof alg === "string" && alg.toLowerCase() === "none") {
      throw new TypeError(
        'Option algorithms must not contain "none": unsigned tokens would pass',
      );
    }
    if (!ALGORITHMS.has(alg)) {
      throw new TypeError(
        `Option algorithms must list HS256, HS384, HS512, RS256, ES256 or EdDSA, got ${
          JSON.stringify(alg)
        }`,
      );
    }
  }
  return [...new Set(list as JwtAlgorithm[])];
}

/**
 * Checks that every algorithm suits the key, and that a secret is long
 * enough for each (RFC 7518 §3.2: at least the hash size).
 */
export function checkKeyFits(
  info: KeyInfo,
  algorithms: readonly JwtAlgorithm[],
): void {
  for (const alg of algorithms) {
    if (FAMILY_OF_ALG[alg] !== info.family) {
      throw new TypeError(
        `Option algorithms lists ${alg}, which a ${
          familyName(info.family)
        } key cannot verify`,
      );
    }
    const src = info.source;
    if (src.kind === "secret" && src.bytes.byteLength < SECRET_BYTES[alg]) {
      throw new TypeError(
        `Option key must be at least ${
          SECRET_BYTES[alg]
        } bytes for ${alg}, got ${src.bytes.byteLength}`,
      );
    }
  }
}

function familyName(f: KeyFamily): string {
  return f === "secret"
    ? "secret (HMAC)"
    : f === "rsa"
    ? "RSA"
    : f === "ec-p256"
    ? "P-256"
    : "Ed25519";
}

/** Where a key comes from, for `jwt()` to import it (with jose) as needed. */
export type KeySource =
  | { kind: "secret"; bytes: Uint8Array }
  | { kind: "crypto"; key: CryptoKey }
  | { kind: "spki" | "x509"; pem: string }
  | { kind: "jwk"; jwk: JsonWebKey };

/** A validated key option. */
export interface KeyInfo {
  /** Which algorithms it can verify. */
  family: KeyFamily;
  /** The key material. */
  source: KeySource;
}

/**
 * Validates the `key` option and classifies it, without importing it: a
 * string is a PEM block when it starts with `-----BEGIN `, else a secret.
 */
export function describeKey(key: JwtKey): KeyInfo {
  const bad = (why: string) => new TypeError(`Option key ${why}`);
  if (typeof key === "string") {
    if (!key.trimStart().startsWith("-----BEGIN ")) {
      const bytes = new TextEncoder().encode(key);
      return { family: "secret", source: { kind: "secret", bytes } };
    }
    const pem = key.trim();
    if (pem.includes("PRIVATE KEY")) {
      throw bad("must be a public key or certificate, got a private key PEM");
    }
    let type: string | undefined;
    let curve: string | undefined;
    try {
      const k = createPublicKey(pem);
      type = k.asymmetricKeyType;
      curve = k.asymmetricKeyDetails?.namedCurve;
    } catch {
      throw bad("is a PEM block that is not a public key or certificate");
    }
    const family = asymmetricFamily(type, curve);
    if (family === null) throw bad(`has an unsupported key type ${type}`);
    const cert = pem.startsWith("-----BEGIN CERTIFICATE-----");
    return { family, source: { kind: cert ? "x509" : "spki", pem } };
  }
  if (key instanceof Uint8Array) {
    return { family: "secret", source: { kind: "secret", bytes: key } };
  }
  if (typeof CryptoKey !== "undefined" && key instanceof CryptoKey) {
    const a = key.algorithm as {
      name: string;
      hash?: { name: string };
      namedCurve?: string;
    };
    if (key.type === "private") {
      throw bad("must be a public or secret key, got a private CryptoKey");
    }
    if (!key.usages.includes("verify")) {
      throw bad('must be a CryptoKey with the "verify" usage');
    }
    const family = a.name === "HMAC"
      ? "secret"
      : a.name === "RSASSA-PKCS1-v1_5"
      ? "rsa"
      : a.name === "ECDSA" && a.namedCurve === "P-256"
      ? "ec-p256"
      : a.name === "Ed25519"
      ? "ed25519"
      : null;
    if (family === null) throw bad(`has an unsupported algorithm ${a.name}`);
    return { family, source: { kind: "crypto", key } };
  }
  if (
    typeof key === "object" && key !== null &&
    typeof (key as JsonWebKey).kty === "string"
  ) {
    const jwk = key as JsonWebKey;
    if (jwk.kty === "oct") {
      if (typeof jwk.k !== "string") throw bad('is an "oct" JWK without "k"');
      const bytes = base64url(jwk.k);
      return { family: "secret", source: { kind: "secret", bytes } };
    }
    if ("d" in jwk) throw bad("must be a public JWK, got a private one");
    const family = jwk.kty === "RSA"
      ? "rsa"
      : jwk.kty === "EC" && jwk.crv === "P-256"
      ? "ec-p256"
      : jwk.kty === "OKP" && jwk.crv === "Ed25519"
      ? "ed25519"
      : null;
    if (family === null) {
      throw bad(
        `is a JWK of unsupported type ${jwk.kty}${
          jwk.crv ? ` ${jwk.crv}` : ""
        }`,
      );
    }
    return { family, source: { kind: "jwk", jwk } };
  }
  throw bad(
    `must be a string, Uint8Array, CryptoKey or JWK, got ${String(key)}`,
  );
}

function asymmetricFamily(
  type: string | undefined,
  curve: string | undefined,
): KeyFamily | null {
  if (type === "rsa") return "rsa";
  if (type === "ec" && curve === "prime256v1") return "ec-p256";
  if (type === "ed25519") return "ed25519";
  return null;
}

function base64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
