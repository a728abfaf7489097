/**
 * IP addresses and CIDR ranges: parsing IPv4 and IPv6 (with `::` and a
 * dotted-quad tail) into one 128-bit form, formatting (RFC 5952), and range
 * membership. Shared by proxy trust, `ipRestriction`, rate-limit keys and the
 * reverse proxy. No regular expressions: a hostile header costs bounded work.
 *
 * @module
 */

/**
 * An address as 8 hextets; IPv4 is stored `::ffff:`-mapped. A plain array:
 * allocating a small typed array costs microseconds in Deno.
 */
export type Ip = number[];

/** A CIDR range over the 128-bit form. */
export interface IpRange {
  /** The range's address. */
  ip: Ip;
  /** Prefix length in bits over the 128-bit form (IPv4 /n is 96 + n). */
  bits: number;
}

/**
 * Parses `"10.0.0.1"`, `"10.0.0.0/8"`, `"::1"` or `"fd00::/8"`; null when
 * invalid. A bare address is a range of one.
 */
export function parseRange(entry: string): IpRange | null {
  const slash = entry.indexOf("/");
  const addr = slash === -1 ? entry : entry.slice(0, slash);
  const ip = parseIp(addr);
  if (ip === null) return null;
  if (slash === -1) return { ip, bits: 128 };
  const max = addr.indexOf(":") === -1 ? 32 : 128;
  const n = parseDecimal(entry, slash + 1, entry.length, max);
  if (n < 0) return null;
  return { ip, bits: max === 32 ? n + 96 : n };
}

/** Whether `ip` lies in `r`. */
export function inRange(r: IpRange, ip: Ip): boolean {
  let bits = r.bits;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    if (bits >= 16) {
      if (r.ip[i] !== ip[i]) return false;
    } else {
      const mask = (0xffff << (16 - bits)) & 0xffff;
      return (r.ip[i] & mask) === (ip[i] & mask);
    }
  }
  return true;
}

/** Whether `ip` lies in any of `ranges`. */
export function inAnyRange(ranges: readonly IpRange[], ip: Ip): boolean {
  for (const r of ranges) if (inRange(r, ip)) return true;
  return false;
}

/** Parses a non-negative decimal of at most `max` in `s[start:end]`; -1 when invalid. */
export function parseDecimal(
  s: string,
  start: number,
  end: number,
  max: number,
): number {
  if (start >= end || end - start > 5) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n > max ? -1 : n;
}

/** Parses an IPv4 or IPv6 address (no brackets, port or zone); null when invalid. */
export function parseIp(s: string): Ip | null {
  return s.indexOf(":") === -1
    ? parseIp4(s, 0, s.length)
    : parseIp6(s, 0, s.length);
}

export function isV4(ip: Ip): boolean {
  return ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] === 0 &&
    ip[4] === 0 && ip[5] === 0xffff;
}

/** Parses dotted-quad IPv4 into its `::ffff:`-mapped form; no leading zeros. */
export function parseIp4(s: string, start: number, end: number): Ip | null {
  const out = [0, 0, 0, 0, 0, 0xffff, 0, 0];
  return parseIp4Into(s, start, end, out, 6) ? out : null;
}

function parseIp4Into(
  s: string,
  start: number,
  end: number,
  out: Ip,
  at: number,
): boolean {
  let octets = 0;
  let value = 0;
  let digits = 0;
  let hi = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || octets === 4) return false;
      if (octets % 2 === 0) hi = value;
      else out[at + (octets >> 1)] = (hi << 8) | value;
      octets++;
      value = 0;
      digits = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9) return false;
    if (digits > 0 && value === 0) return false; // leading zero
    value = value * 10 + d;
    if (value > 255) return false;
    digits++;
  }
  return octets === 4;
}

/** Parses an IPv6 address, with `::` and an optional dotted-quad tail. */
export function parseIp6(s: string, start: number, end: number): Ip | null {
  if (end - start < 2 || end - start > 45) return null;
  const out = [0, 0, 0, 0, 0, 0, 0, 0];
  let n = 0; // hextets written
  let gap = -1; // index where "::" was
  let i = start;
  if (s.charCodeAt(i) === 0x3a) {
    if (s.charCodeAt(i + 1) !== 0x3a) return null;
    gap = 0;
    i += 2;
    if (i === end) return out;
  }
  while (i < end) {
    if (n === 8) return null;
    // One group: hex digits, or a dotted-quad tail.
    let value = 0;
    let digits = 0;
    let j = i;
    for (; j < end; j++) {
      const c = s.charCodeAt(j);
      const h = hexValue(c);
      if (h < 0) break;
      value = (value << 4) | h;
      digits++;
      if (digits > 4) return null;
    }
    if (j < end && s.charCodeAt(j) === 0x2e) {
      if (n > 6) return null;
      if (!parseIp4Into(s, i, end, out, n)) return null;
      n += 2;
      i = end;
      break;
    }
    if (digits === 0) return null;
    out[n++] = value;
    if (j === end) {
      i = end;
      break;
    }
    if (s.charCodeAt(j) !== 0x3a) return null;
    if (j + 1 < end && s.charCodeAt(j + 1) === 0x3a) {
      if (gap !== -1) return null;
      gap = n;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return null; // trailing single colon
    }
  }
  if (gap === -1) return n === 8 ? out : null;
  if (n === 8) return null; // "::" must stand for at least one group
  const move = n - gap;
  for (let k = 1; k <= move; k++) {
    out[8 - k] = out[n - k];
    out[n - k] = 0;
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Formats an address: dotted quad for IPv4 (and mapped), RFC 5952 for IPv6. */
export function formatIp(ip: Ip): string {
  if (isV4(ip)) {
    return `${ip[6] >> 8}.${ip[6] & 0xff}.${ip[7] >> 8}.${ip[7] & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (ip[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && ip[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(":")) out += ":";
    out += ip[i].toString(16);
  }
  return out;
}
