/**
 * UTF-8 sizes of strings without encoding them, and the Latin-1 decoding
 * that multipart part headers need.
 *
 * @module
 */

/**
 * Returns the number of bytes `s` takes in UTF-8 (a lone surrogate counts as
 * the 3 bytes of U+FFFD, as `TextEncoder` writes it).
 *
 * @example Usage
 * ```ts
 * import { utf8Length } from "./text.ts";
 * utf8Length("héllo"); // 6
 * ```
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // a surrogate pair: 4 bytes for 2 code units
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

const utf8 = new TextDecoder();

/**
 * Decodes bytes one char per byte (ISO-8859-1). `TextDecoder("latin1")` is
 * windows-1252 and would remap 0x80–0x9F.
 *
 * @example Usage
 * ```ts
 * import { latin1 } from "./text.ts";
 * latin1(new Uint8Array([0x63, 0xc3, 0xa9])); // "c\u00c3\u00a9"
 * ```
 */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let k = 0; k < bytes.length; k += 4096) {
    out += String.fromCharCode(...bytes.subarray(k, k + 4096));
  }
  return out;
}

/**
 * Re-decodes a Latin-1 string (one char per byte) as UTF-8; invalid
 * sequences become U+FFFD.
 *
 * @example Usage
 * ```ts
 * import { fromLatin1 } from "./text.ts";
 * fromLatin1("caf\u00c3\u00a9"); // "café"
 * ```
 */
export function fromLatin1(s: string): string {
  // deno-lint-ignore no-control-regex
  if (!/[^\x00-\x7f]/.test(s)) return s;
  const b = new Uint8Array(s.length);
  for (let k = 0; k < s.length; k++) b[k] = s.charCodeAt(k);
  return utf8.decode(b);
}
