/**
 * The frames the proxy sends an upstream as a WebSocket client (RFC 6455
 * §5.3): masked, with a fresh key from `crypto.getRandomValues` for every
 * frame (drawn from a pool refilled 4 KiB at a time), so nothing between
 * the proxy and the upstream can predict the bytes on the wire.
 *
 * @module
 */

import { unmask } from "../../transport/h1/websocket/mask.ts";

/** Opcodes the proxy sends upstream. */
export const Op = {
  text: 1,
  binary: 2,
  close: 8,
  pong: 10,
} as const;

const encoder = new TextEncoder();
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;

/** Writes 4 random bytes at `buf[at]`. */
function maskKey(buf: Uint8Array, at: number): void {
  if (used === POOL_BYTES) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  buf[at] = pool[used];
  buf[at + 1] = pool[used + 1];
  buf[at + 2] = pool[used + 2];
  buf[at + 3] = pool[used + 3];
  used += 4;
}

/**
 * One final, masked frame of `opcode` carrying `payload` (copied).
 *
 * @example Usage
 * ```ts
 * import { maskedFrame, Op } from "./frames.ts";
 * const f = maskedFrame(Op.binary, new Uint8Array([1, 2]));
 * [f[0], f[1], f.length]; // [0x82, 0x82, 8]
 * ```
 */
export function maskedFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const size = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const buf = new Uint8Array(size + 4 + n);
  buf[0] = 0x80 | opcode;
  if (n < 126) buf[1] = 0x80 | n;
  else if (n < 0x10000) {
    buf[1] = 0x80 | 126;
    buf[2] = n >>> 8;
    buf[3] = n & 0xff;
  } else {
    buf[1] = 0x80 | 127;
    const high = Math.floor(n / 0x100000000);
    buf[4] = (high >>> 8) & 0xff;
    buf[5] = high & 0xff;
    buf[6] = n >>> 24;
    buf[7] = (n >>> 16) & 0xff;
    buf[8] = (n >>> 8) & 0xff;
    buf[9] = n & 0xff;
  }
  maskKey(buf, size);
  const body = buf.subarray(size + 4);
  body.set(payload);
  // Masking is the same XOR as unmasking.
  unmask(body, buf.subarray(size, size + 4), 0);
  return buf;
}

/** A masked text frame of `text` in UTF-8. */
export function maskedText(text: string): Uint8Array {
  return maskedFrame(Op.text, encoder.encode(text));
}

/**
 * A masked close frame: empty when `code` is null, else the code and the
 * UTF-8 `reason` (cut to the 123 bytes a close frame can carry).
 */
export function maskedClose(code: number | null, reason: string): Uint8Array {
  if (code === null) return maskedFrame(Op.close, new Uint8Array(0));
  let text = encoder.encode(reason);
  if (text.length > 123) {
    // Cut at a character boundary, so the reason stays valid UTF-8.
    let n = 123;
    while (n > 0 && (text[n] & 0xc0) === 0x80) n--;
    text = text.subarray(0, n);
  }
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return maskedFrame(Op.close, payload);
}
