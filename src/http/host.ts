/**
 * Validation of `Host` values and authorities: `uri-host [ ":" port ]`
 * (RFC 9110 §7.2, RFC 3986 §3.2.2).
 *
 * @module
 */

/** 1 for reg-name bytes: unreserved / sub-delims (RFC 3986). */
const REG_NAME = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) REG_NAME[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) REG_NAME[c] = REG_NAME[c + 0x20] = 1;
for (const ch of "-._~!$&'()*+,;=") REG_NAME[ch.charCodeAt(0)] = 1;

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * Tells whether `value` is a valid `uri-host [ ":" port ]`: an IPv6 literal
 * in brackets (hex digits, `:` and `.`; IPvFuture is refused), or a reg-name
 * (which covers IPv4 and DNS names: unreserved, sub-delims and well-formed
 * `%XX`), then an optional port of at most 5 digits and at most 65535.
 * Userinfo (`@`), `/`, whitespace and other bytes make it invalid. An empty
 * port (`"a:"`) is allowed by the grammar unless `requirePort` (CONNECT's
 * authority-form needs a port).
 *
 * @example Usage
 * ```ts
 * import { isValidHost } from "./host.ts";
 * isValidHost("[::1]:8080", false); // true
 * isValidHost("user@example.com", false); // false
 * ```
 */
export function isValidHost(value: string, requirePort: boolean): boolean {
  // Keep-alive clients repeat the same Host: remember the last valid one.
  if (value === lastValid && !requirePort) return true;
  if (!check(value, requirePort)) return false;
  if (!requirePort) lastValid = value;
  return true;
}

let lastValid = "localhost";

function check(value: string, requirePort: boolean): boolean {
  const n = value.length;
  let i = 0;
  if (n === 0) return false;
  if (value.charCodeAt(0) === 0x5b) {
    i = 1;
    let colons = 0;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c === 0x3a) colons++;
      else if (c !== 0x2e && !isHex(c)) break;
      i++;
    }
    if (colons < 2 || i >= n || value.charCodeAt(i) !== 0x5d) return false;
    i++;
  } else {
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c < 128 && REG_NAME[c] === 1) i++;
      else if (
        c === 0x25 && i + 2 < n && isHex(value.charCodeAt(i + 1)) &&
        isHex(value.charCodeAt(i + 2))
      ) i += 3;
      else break;
    }
    if (i === 0) return false;
  }
  if (i === n) return !requirePort;
  if (value.charCodeAt(i) !== 0x3a) return false;
  const ps = ++i;
  let port = 0;
  while (i < n) {
    const c = value.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9 || i - ps >= 5) return false;
    port = port * 10 + c;
    i++;
  }
  if (i === ps) return !requirePort;
  return port <= 65535;
}
