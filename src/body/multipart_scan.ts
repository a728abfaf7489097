/**
 * Byte searches for the streaming multipart parser: a needle in a chunk,
 * and a needle that may continue in the next chunk.
 *
 * @module
 */

/** `a` followed by `b`, in a new array. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Index of `needle` in `hay` at or after `from`, or -1. */
export function indexOfBytes(
  hay: Uint8Array,
  needle: Uint8Array,
  from: number,
) {
  const first = needle[0];
  const last = hay.length - needle.length;
  let i = from;
  while (i <= last) {
    i = hay.indexOf(first, i);
    if (i === -1 || i > last) return -1;
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i++;
  }
  return -1;
}

/**
 * The smallest index `k >= from` such that `hay[k..]` is a proper prefix of
 * `needle` (a delimiter that may continue in the next chunk), or
 * `hay.length` when there is none.
 */
export function partialStart(
  hay: Uint8Array,
  needle: Uint8Array,
  from: number,
) {
  const n = hay.length;
  let k = Math.max(from, n - needle.length + 1);
  while (k < n) {
    k = hay.indexOf(needle[0], k);
    if (k === -1) return n;
    let j = 1;
    while (k + j < n && hay[k + j] === needle[j]) j++;
    if (k + j === n) return k;
    k++;
  }
  return n;
}

/** The pieces joined into one array (the piece itself when there is one). */
export function join(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  let total = 0;
  for (const p of pieces) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
