/**
 * Credential checks shared by `basicAuth` and `bearerAuth`: SHA-256 digests
 * compared with `timingSafeEqual`, so neither the secret's content nor its
 * length shows in response timing, and the `realm` quoting of challenges.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";

/** The SHA-256 digest of `s` (UTF-8). */
export function digest(s: string): Uint8Array {
  return createHash("sha256").update(s).digest();
}

/**
 * Whether `d` equals an entry of `known`. Compares against every entry,
 * whether or not one matched, so the time taken does not tell which (or
 * whether) one did.
 */
export function anyEqual(d: Uint8Array, known: readonly Uint8Array[]): boolean {
  let found = false;
  for (let i = 0; i < known.length; i++) {
    if (timingSafeEqual(d, known[i])) found = true;
  }
  return found;
}

/**
 * Validates the `realm` option and returns it as a quoted-string for a
 * `WWW-Authenticate` challenge: printable ASCII, with `"` and `\` escaped.
 */
export function quotedRealm(realm: unknown): string {
  if (typeof realm !== "string" || !/^[\x20-\x7e]*$/.test(realm)) {
    throw new TypeError(
      `Option realm must be a string of printable ASCII characters, got ${
        JSON.stringify(realm)
      }`,
    );
  }
  return `"${realm.replace(/["\\]/g, "\\$&")}"`;
}

/** Validates a size option: a positive integer. */
export function positiveInteger(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new TypeError(
      `Option ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value as number;
}

/**
 * Index where the credentials after `scheme` (lower case) and the spaces
 * following it start in an `Authorization` value; -1 when the scheme
 * differs or no space follows it.
 */
export function afterScheme(value: string, scheme: string): number {
  const n = scheme.length;
  if (value.length <= n || value.charCodeAt(n) !== 0x20) return -1;
  if (value.slice(0, n).toLowerCase() !== scheme) return -1;
  let i = n + 1;
  while (value.charCodeAt(i) === 0x20) i++;
  return i;
}
