/**
 * The XOR masking of client frames (RFC 6455 section 5.3).
 *
 * @module
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes a plain byte loop beats setting up a word view. */
const WORD_MIN = 64;

/**
 * Unmasks `data` in place with the 4-byte `mask`, `phase` being the offset
 * of `data[0]` within the frame payload (so a payload can be unmasked piece
 * by piece as it arrives).
 *
 * @example Usage
 * ```ts
 * import { unmask } from "./mask.ts";
 * const data = new Uint8Array([0x01 ^ 0xaa, 0x02 ^ 0xbb]);
 * unmask(data, new Uint8Array([0xaa, 0xbb, 0xcc, 0xdd]), 0);
 * data; // Uint8Array [1, 2]
 * ```
 */
export function unmask(
  data: Uint8Array,
  mask: Uint8Array,
  phase: number,
): void {
  const n = data.length;
  let i = 0;
  if (n >= WORD_MIN && LITTLE_ENDIAN) {
    // Bytes up to a 4-byte boundary, then whole words, then the tail.
    const base = data.byteOffset;
    for (; ((base + i) & 3) !== 0; i++) data[i] ^= mask[(phase + i) & 3];
    const words = (n - i) >> 2;
    const p = phase + i;
    const m = mask[p & 3] | (mask[(p + 1) & 3] << 8) |
      (mask[(p + 2) & 3] << 16) | (mask[(p + 3) & 3] << 24);
    const w = new Int32Array(data.buffer, base + i, words);
    for (let k = 0; k < words; k++) w[k] ^= m;
    i += words << 2;
  }
  for (; i < n; i++) data[i] ^= mask[(phase + i) & 3];
}

/**
 * Unmasks `length` bytes of a whole payload starting at `data[start]` in
 * place and returns them as a string if they are all ASCII (so valid
 * UTF-8), else null (the bytes are unmasked either way).
 *
 * @example Usage
 * ```ts
 * import { unmaskAscii } from "./mask.ts";
 * const mask = new Uint8Array([1, 2, 3, 4]);
 * unmaskAscii(new Uint8Array([0x68 ^ 1, 0x69 ^ 2]), 0, 2, mask); // "hi"
 * ```
 */
export function unmaskAscii(
  data: Uint8Array,
  start: number,
  length: number,
  mask: Uint8Array,
): string | null {
  let text = "";
  let ascii = true;
  for (let i = 0; i < length; i++) {
    const c = data[start + i] ^ mask[i & 3];
    data[start + i] = c;
    if (c >= 0x80) ascii = false;
    else if (ascii) text += String.fromCharCode(c);
  }
  return ascii ? text : null;
}
