/**
 * Trusted reverse proxies: finding the real client address in
 * `X-Forwarded-For` or `Forwarded` (RFC 7239) when, and only when, the
 * connection comes from a configured proxy.
 *
 * @module
 */

import type { RemoteAddr } from "../transport/contract.ts";
import {
  formatIp,
  inAnyRange,
  type Ip,
  type IpRange,
  parseDecimal,
  parseIp,
  parseIp4,
  parseIp6,
  parseRange,
} from "./ip.ts";

/** Options for {@linkcode resolveClientAddr}. */
export interface TrustProxyOptions {
  /**
   * Addresses of the reverse proxies whose forwarding header is believed:
   * IPv4 or IPv6 addresses (`"10.0.0.1"`, `"::1"`; `::ffff:`-mapped IPv4 is
   * the same as the IPv4 address) or CIDR ranges (`"10.0.0.0/8"`,
   * `"fd00::/8"`). A connection from any other address keeps its socket
   * address whatever headers it sends. The list is read once, on first use;
   * an invalid entry throws a `TypeError` naming it. No default: an empty
   * list trusts nobody.
   */
  proxies: string[];
  /**
   * Which header the proxies write. Default `"x-forwarded-for"`. Only this
   * header is read: if a proxy sets `X-Forwarded-For` but passes a client's
   * `Forwarded` through untouched, reading `Forwarded` would let the client
   * choose its address.
   */
  header?: "x-forwarded-for" | "forwarded";
}

/**
 * Most header entries examined, from the right. A chain with more trusted
 * proxies than this resolves to the last address examined.
 */
const MAX_HOPS = 32;

const compiled = new WeakMap<TrustProxyOptions, IpRange[]>();

function compile(trust: TrustProxyOptions): IpRange[] {
  let ranges = compiled.get(trust);
  if (ranges !== undefined) return ranges;
  ranges = [];
  for (const entry of trust.proxies) {
    const range = parseRange(entry);
    if (range === null) {
      throw new TypeError(
        `Trusted proxy "${entry}" is not an IP address or CIDR range`,
      );
    }
    ranges.push(range);
  }
  compiled.set(trust, ranges);
  return ranges;
}

/**
 * Returns the client address of a request: the socket peer unless the peer
 * is a trusted proxy, in which case the forwarding header is walked from the
 * right, skipping trusted proxies, and the first untrusted address is the
 * client (port 0 when the header gives none). A missing or malformed header,
 * or a hop that is not an IP address (`unknown`, obfuscated identifiers),
 * yields the peer. At most 32 hops are examined, without regular
 * expressions, so a huge header costs bounded work.
 *
 * @example Usage
 * ```ts
 * import { resolveClientAddr } from "./client_addr.ts";
 * const headers = new Headers({ "x-forwarded-for": "203.0.113.7, 10.0.0.2" });
 * const addr = resolveClientAddr(
 *   { hostname: "10.0.0.1", port: 41000 },
 *   (name) => headers.get(name),
 *   { proxies: ["10.0.0.0/8"] },
 * );
 * addr.hostname; // "203.0.113.7"
 * ```
 */
export function resolveClientAddr(
  peer: RemoteAddr,
  header: (name: string) => string | null,
  trust: TrustProxyOptions,
): RemoteAddr {
  const ranges = compile(trust);
  const peerIp = parseIp(peer.hostname);
  if (peerIp === null || !inAnyRange(ranges, peerIp)) return peer;
  if (trust.header === "forwarded") {
    const value = header("forwarded");
    return value === null ? peer : walkForwarded(value, ranges, peer);
  }
  const value = header("x-forwarded-for");
  return value === null ? peer : walkXff(value, ranges, peer);
}

function walkXff(
  value: string,
  ranges: IpRange[],
  peer: RemoteAddr,
): RemoteAddr {
  let end = value.length;
  let last: RemoteAddr | null = null;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const comma = end === 0 ? -1 : value.lastIndexOf(",", end - 1);
    const node = parseNode(value, comma + 1, end);
    if (node === null) return peer;
    if (!inAnyRange(ranges, node.ip)) return toAddr(node);
    last = toAddr(node);
    if (comma === -1) break;
    end = comma;
  }
  return last ?? peer;
}

/** Start and end offsets of the `for=` values of the last hops, a ring. */
const FOR_RING = new Int32Array(MAX_HOPS * 2);

function walkForwarded(
  value: string,
  ranges: IpRange[],
  peer: RemoteAddr,
): RemoteAddr {
  // One left-to-right pass finds element boundaries (quotes may hide commas);
  // only the offsets of the last MAX_HOPS `for` values are kept.
  const ring = FOR_RING;
  let elements = 0;
  let forStart = -1;
  let forEnd = -1;
  let pairStart = 0;
  let inQuote = false;
  const n = value.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? value.charCodeAt(i) : 0x2c;
    if (inQuote) {
      if (c === 0x5c) i++; // quoted-pair
      else if (c === 0x22) inQuote = false;
      else if (i === n) return peer; // unterminated quote
      continue;
    }
    if (c === 0x22) {
      inQuote = true;
    } else if (c === 0x3b || c === 0x2c) {
      // End of a pair: is it for=...?
      let s = pairStart;
      let e = i;
      while (s < e && isOws(value.charCodeAt(s))) s++;
      while (e > s && isOws(value.charCodeAt(e - 1))) e--;
      if (
        e - s > 4 && value.charCodeAt(s + 3) === 0x3d &&
        (value.charCodeAt(s) | 0x20) === 0x66 &&
        (value.charCodeAt(s + 1) | 0x20) === 0x6f &&
        (value.charCodeAt(s + 2) | 0x20) === 0x72
      ) {
        if (forStart !== -1) return peer; // two for= in one element
        forStart = s + 4;
        forEnd = e;
      }
      pairStart = i + 1;
      if (c === 0x2c) {
        if (forStart === -1) {
          // An empty element (from ",,") is allowed by list syntax; an
          // element without for= hides the client.
          let s2 = i;
          while (s2 > 0 && isOws(value.charCodeAt(s2 - 1))) s2--;
          if (s2 > 0 && value.charCodeAt(s2 - 1) !== 0x2c) {
            forStart = forEnd = 0;
          } else {
            continue;
          }
        }
        const slot = (elements % MAX_HOPS) * 2;
        ring[slot] = forStart;
        ring[slot + 1] = forEnd;
        elements++;
        forStart = forEnd = -1;
      }
    }
  }
  if (inQuote) return peer;
  let last: RemoteAddr | null = null;
  const hops = Math.min(elements, MAX_HOPS);
  for (let k = 1; k <= hops; k++) {
    const slot = ((elements - k) % MAX_HOPS) * 2;
    let s = ring[slot];
    let e = ring[slot + 1];
    if (s === e) return peer;
    if (value.charCodeAt(s) === 0x22) {
      if (e - s < 2 || value.charCodeAt(e - 1) !== 0x22) return peer;
      s++;
      e--;
    }
    const node = parseNode(value, s, e);
    if (node === null) return peer;
    if (!inAnyRange(ranges, node.ip)) return toAddr(node);
    last = toAddr(node);
  }
  return last ?? peer;
}

interface Node {
  ip: Ip;
  port: number;
}

/**
 * Parses `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port` in `s[start:end]`,
 * trimming whitespace; null when malformed.
 */
function parseNode(s: string, start: number, end: number): Node | null {
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  if (start >= end) return null;
  if (s.charCodeAt(start) === 0x5b) {
    const close = s.indexOf("]", start);
    if (close === -1 || close >= end) return null;
    const ip = parseIp6(s, start + 1, close);
    if (ip === null) return null;
    if (close + 1 === end) return { ip, port: 0 };
    if (s.charCodeAt(close + 1) !== 0x3a) return null;
    const port = parseDecimal(s, close + 2, end, 65535);
    return port < 0 ? null : { ip, port };
  }
  const colon = s.indexOf(":", start);
  if (colon === -1 || colon >= end) {
    const ip = parseIp4(s, start, end);
    return ip === null ? null : { ip, port: 0 };
  }
  const second = s.indexOf(":", colon + 1);
  if (second !== -1 && second < end) {
    const ip = parseIp6(s, start, end);
    return ip === null ? null : { ip, port: 0 };
  }
  const ip = parseIp4(s, start, colon);
  if (ip === null) return null;
  const port = parseDecimal(s, colon + 1, end, 65535);
  return port < 0 ? null : { ip, port };
}

function toAddr(node: Node): RemoteAddr {
  return { hostname: formatIp(node.ip), port: node.port };
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
