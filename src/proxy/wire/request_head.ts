/**
 * Encoding of the request heads the proxy writes to upstreams itself.
 * Field values arrive as the transports decoded them, one char per byte
 * (Latin-1) where a client sent bytes above 0x7F, and are written back as
 * those bytes, so a value reaches the upstream exactly as the client sent it.
 *
 * @module
 */

import { latin1Encode } from "../../internal/text.ts";

const encoder = new TextEncoder();

/**
 * The head `method target HTTP/1.1`, then `fields`, then the empty line.
 * Names and values must be valid (the transports validated the client's;
 * the proxy's own are built valid).
 *
 * @example Usage
 * ```ts
 * import { encodeRequestHead } from "./request_head.ts";
 * const head = encodeRequestHead("GET", "/a", [["host", "u"]]);
 * new TextDecoder().decode(head); // "GET /a HTTP/1.1\r\nhost: u\r\n\r\n"
 * ```
 */
export function encodeRequestHead(
  method: string,
  target: string,
  fields: readonly (readonly [string, string])[],
): Uint8Array {
  let head = method + " " + target + " HTTP/1.1\r\n";
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    head += f[0] + ": " + f[1] + "\r\n";
  }
  return encodeHead(head + "\r\n");
}

/** `head` as bytes, one per char: UTF-8 is the same bytes while all are ASCII. */
export function encodeHead(head: string): Uint8Array {
  const bytes = encoder.encode(head);
  return bytes.length === head.length ? bytes : latin1Encode(head);
}
