/**
 * Serialized origins (`scheme://host[:port]`), as browsers send them in the
 * `Origin` header: the form `cors` and `csrf` accept in their options.
 *
 * @module
 */

/**
 * Whether `s` is a serialized origin as a browser writes it: a lower-case
 * scheme, `://`, a lower-case host (a name, an IPv4 address or a bracketed
 * IPv6 address) and an optional port, with no user info, path, query or
 * fragment. `"null"` is not an origin here.
 */
export function isSerializedOrigin(s: string): boolean {
  const sep = s.indexOf("://");
  if (sep < 1) return false;
  for (let i = 0; i < sep; i++) {
    const c = s.charCodeAt(i);
    const alpha = c >= 0x61 && c <= 0x7a;
    if (
      i === 0
        ? !alpha
        : !(alpha || isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e)
    ) {
      return false;
    }
  }
  let i = sep + 3;
  const end = s.length;
  if (s.charCodeAt(i) === 0x5b) { // "[" IPv6
    const close = s.indexOf("]", i);
    if (close === -1 || close === i + 1) return false;
    for (let j = i + 1; j < close; j++) {
      const c = s.charCodeAt(j);
      if (
        !(isDigit(c) || (c >= 0x61 && c <= 0x66) || c === 0x3a || c === 0x2e)
      ) {
        return false;
      }
    }
    i = close + 1;
  } else {
    const start = i;
    for (; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3a) break;
      if (
        !((c >= 0x61 && c <= 0x7a) || isDigit(c) || c === 0x2d || c === 0x2e ||
          c === 0x5f)
      ) {
        return false;
      }
    }
    if (i === start) return false;
  }
  if (i === end) return true;
  if (s.charCodeAt(i) !== 0x3a || end - i < 2 || end - i > 6) return false;
  let port = 0;
  for (let j = i + 1; j < end; j++) {
    const c = s.charCodeAt(j);
    if (!isDigit(c)) return false;
    port = port * 10 + c - 0x30;
  }
  return port <= 65535;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * The host (with port) of the origin `s`, lower-cased, or null when `s` has
 * no `://` (for example `"null"`). Does not validate the rest.
 */
export function originHost(s: string): string | null {
  const sep = s.indexOf("://");
  if (sep === -1) return null;
  return s.slice(sep + 3).toLowerCase();
}
