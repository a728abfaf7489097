/**
 * The server side of the opening handshake's key exchange (RFC 6455
 * section 4.2): checking `Sec-WebSocket-Key` and computing
 * `Sec-WebSocket-Accept`.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The GUID RFC 6455 appends to the client's key. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Base64 of exactly 16 bytes: 22 characters and `==`. */
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/**
 * Whether `key` is a valid `Sec-WebSocket-Key`: the base64 encoding of 16
 * bytes (24 characters, canonical padding).
 *
 * @example Usage
 * ```ts
 * import { isValidKey } from "./handshake.ts";
 * isValidKey("dGhlIHNhbXBsZSBub25jZQ=="); // true
 * isValidKey("c2hvcnQ="); // false: 5 bytes
 * ```
 */
export function isValidKey(key: string): boolean {
  return KEY.test(key);
}

/**
 * The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`:
 * base64(SHA-1(key + GUID)).
 *
 * @example Usage
 * ```ts
 * import { acceptKey } from "./handshake.ts";
 * acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}
