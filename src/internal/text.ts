/**
 * UTF-8 sizes of strings without encoding them.
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
