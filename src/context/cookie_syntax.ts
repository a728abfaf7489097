/**
 * The syntax of cookies (RFC 6265bis): which names and values are allowed,
 * attribute checks, name prefixes, and HMAC signatures of values.
 *
 * @module
 */

import { createHmac } from "node:crypto";
/** The `SameSite` attribute values. */
export type SameSite = "strict" | "lax" | "none";

export const DEFAULT_MAX_COOKIES = 100;
export const DEFAULT_MAX_COOKIE_BYTES = 4096;
/** RFC 6265bis: browsers drop a cookie whose name and value pass 4096 bytes. */
export const MAX_NAME_VALUE_BYTES = 4096;
/** RFC 6265bis: browsers ignore an attribute value over 1024 bytes. */
export const MAX_ATTRIBUTE_BYTES = 1024;
export const SIGNATURE_LENGTH = 43; // base64url of 32 bytes, no padding
export const SAME_SITE: Record<SameSite, string> = {
  strict: "Strict",
  lax: "Lax",
  none: "None",
};
export const NO_LINES: readonly string[] = Object.freeze([]);
export const encoder = new TextEncoder();

// RFC 9110 tchar: ALPHA DIGIT and !#$%&'*+-.^_`|~
export const TCHAR = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) {
  TCHAR[c] = '"(),/:;<=>?@[\\]{}'.includes(String.fromCharCode(c)) ? 0 : 1;
}

/** RFC 6265bis cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. */
export function isCookieOctet(c: number): boolean {
  return c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x2c && c !== 0x3b &&
    c !== 0x5c;
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** Index of the first character not allowed in a cookie value, or -1. */
export function badValueAt(value: string): number {
  let start = 0;
  let end = value.length;
  if (end >= 2 && value[0] === '"' && value[end - 1] === '"') {
    start = 1;
    end--;
  }
  for (let i = start; i < end; i++) {
    if (!isCookieOctet(value.charCodeAt(i))) return i;
  }
  return -1;
}

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Checks a `Path` or `Domain` value: printable ASCII without `;`. */
export function checkAttribute(
  cookie: string,
  attr: string,
  value: string,
): void {
  if (value.length > MAX_ATTRIBUTE_BYTES) {
    throw new TypeError(
      `Cookie "${cookie}" ${attr} is over ${MAX_ATTRIBUTE_BYTES} bytes`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x3b) {
      throw new TypeError(
        `Cookie "${cookie}" ${attr} contains a control character, a non-ASCII character or ";"`,
      );
    }
  }
}

export function sign(key: string, name: string, value: string): string {
  return createHmac("sha256", key).update(`${name}=${value}`).digest(
    "base64url",
  );
}

export function hasPrefix(name: string, prefix: string): boolean {
  return name.length >= prefix.length &&
    name.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}

export function decodeValue(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
