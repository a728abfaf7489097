/**
 * Text helpers: UTF-8 sizes without encoding, and the one ISO-8859-1
 * (Latin-1) encode/decode pair used for HTTP field values, which are byte
 * strings.
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

/**
 * Encodes `s` as ISO-8859-1: one byte per UTF-16 code unit (code units over
 * 0xFF must not occur; HTTP field values are byte strings).
 *
 * @example Usage
 * ```ts
 * import { latin1Encode } from "./text.ts";
 * latin1Encode("é")[0]; // 0xe9
 * ```
 */
export function latin1Encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * Decodes `bytes[start:end]` as ISO-8859-1 into a string of the same length.
 *
 * @example Usage
 * ```ts
 * import { latin1Decode } from "./text.ts";
 * latin1Decode(new Uint8Array([0x68, 0xe9]), 0, 2); // "hé"
 * ```
 */
export function latin1Decode(
  bytes: Uint8Array,
  start: number,
  end: number,
): string {
  // Exact for 0x80–0xFF, which `TextDecoder("latin1")` (windows-1252) is not.
  if (end - start <= 4096) {
    return String.fromCharCode.apply(
      null,
      bytes.subarray(start, end) as unknown as number[],
    );
  }
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

const utf8 = new TextDecoder();

/**
 * Re-decodes a Latin-1 string (one char per byte) as UTF-8; invalid
 * sequences become U+FFFD. Multipart part headers arrive as bytes whose
 * names and filenames browsers send in UTF-8.
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
  return utf8.decode(latin1Encode(s));
}
