/**
 * PROXY protocol (HAProxy, versions 1 and 2) header parsing: how a trusted
 * load balancer tells the server the real client address of a TCP
 * connection before the first HTTP byte.
 *
 * @module
 */

import type { RemoteAddr } from "../contract.ts";
import type { Input } from "./input.ts";

/** Longest version 1 header, CRLF included (the specification's bound). */
export const PROXY_V1_MAX_BYTES = 107;
/**
 * Most bytes of addresses and TLVs a version 2 header may declare. The
 * specification allows 65 535; real balancers send well under 1 KiB (AWS
 * NLB and GCP add a few TLVs), so a longer header is refused rather than
 * buffered.
 */
export const PROXY_V2_MAX_PAYLOAD = 2048;

const V2_SIG = [
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
];
const V1_SIG = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "

/** What {@linkcode parseProxyHeader} found in a complete header. */
export interface ProxyHeader {
  /** Bytes the header takes; the HTTP request starts right after. */
  readonly length: number;
  /**
   * The client address the balancer reports, or null when it reports none
   * (`PROXY UNKNOWN`, a v2 `LOCAL` command such as a health check, or an
   * address family other than TCP over IPv4/IPv6): keep the socket's peer.
   */
  readonly client: RemoteAddr | null;
}

/**
 * A PROXY header that is malformed, too long, or absent where one is
 * required. The connection is closed without an HTTP answer: the peer is a
 * load balancer that got its configuration wrong, not a browser.
 *
 * @example Usage
 * ```ts
 * import { parseProxyHeader, ProxyProtocolError } from "./proxy_protocol.ts";
 * try {
 *   parseProxyHeader(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
 * } catch (e) {
 *   e instanceof ProxyProtocolError; // true
 * }
 * ```
 */
export class ProxyProtocolError extends Error {
  /** Creates the error with a sentence-case message. */
  constructor(message: string) {
    super(message);
    this.name = "ProxyProtocolError";
  }
}

/**
 * Parses a PROXY protocol header (v1 text or v2 binary) at the start of
 * `buf`. Returns null while more bytes are needed (never more than
 * {@linkcode PROXY_V1_MAX_BYTES} for v1 or 16 + {@linkcode PROXY_V2_MAX_PAYLOAD}
 * for v2), else the header.
 *
 * Version 1: `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` with
 * canonical addresses and ports 0–65535, or `PROXY UNKNOWN...\r\n`.
 * Version 2: the 12-byte signature, version 2, command `LOCAL` or `PROXY`,
 * family `TCP`/`UDP` over IPv4/IPv6 (others are accepted without an
 * address), TLVs skipped.
 *
 * @throws {ProxyProtocolError} when the bytes are not a valid header.
 *
 * @example Usage
 * ```ts
 * import { parseProxyHeader } from "./proxy_protocol.ts";
 * const bytes = new TextEncoder().encode("PROXY TCP4 203.0.113.7 10.0.0.1 51000 443\r\nGET /");
 * const h = parseProxyHeader(bytes)!;
 * h.client; // { hostname: "203.0.113.7", port: 51000 }
 * h.length; // 43
 * ```
 */
export function parseProxyHeader(buf: Uint8Array): ProxyHeader | null {
  const n = buf.length;
  if (n === 0) return null;
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  throw new ProxyProtocolError(
    "Connection does not start with a PROXY protocol header",
  );
}

function parseV1(buf: Uint8Array): ProxyHeader | null {
  const n = buf.length;
  for (let i = 0; i < V1_SIG.length && i < n; i++) {
    if (buf[i] !== V1_SIG[i]) {
      throw new ProxyProtocolError(
        "Connection does not start with a PROXY protocol header",
      );
    }
  }
  let end = -1;
  const max = n < PROXY_V1_MAX_BYTES ? n : PROXY_V1_MAX_BYTES;
  for (let i = V1_SIG.length; i < max; i++) {
    const c = buf[i];
    if (c === 0x0a) {
      end = i;
      break;
    }
    if (c !== 0x0d && (c < 0x20 || c > 0x7e)) {
      throw new ProxyProtocolError("PROXY v1 header has an invalid byte");
    }
  }
  if (end === -1) {
    if (n >= PROXY_V1_MAX_BYTES) {
      throw new ProxyProtocolError(
        `PROXY v1 header exceeds ${PROXY_V1_MAX_BYTES} bytes`,
      );
    }
    return null;
  }
  if (buf[end - 1] !== 0x0d) {
    throw new ProxyProtocolError("PROXY v1 header does not end with CRLF");
  }
  let line = "";
  for (let i = V1_SIG.length; i < end - 1; i++) {
    line += String.fromCharCode(buf[i]);
  }
  const length = end + 1;
  if (line.startsWith("UNKNOWN")) return { length, client: null };
  const parts = line.split(" ");
  if (parts.length !== 5) {
    throw new ProxyProtocolError("PROXY v1 header must have 5 fields");
  }
  const [proto, src, , sport, dport] = parts;
  const valid = proto === "TCP4"
    ? isIpv4(src) && isIpv4(parts[2])
    : proto === "TCP6"
    ? isIpv6(src) && isIpv6(parts[2])
    : false;
  if (!valid) {
    throw new ProxyProtocolError(
      "PROXY v1 header has an invalid protocol or address",
    );
  }
  const port = parsePort(sport);
  if (port < 0 || parsePort(dport) < 0) {
    throw new ProxyProtocolError("PROXY v1 header has an invalid port");
  }
  return { length, client: { hostname: src, port } };
}

function parseV2(buf: Uint8Array): ProxyHeader | null {
  const n = buf.length;
  for (let i = 0; i < V2_SIG.length && i < n; i++) {
    if (buf[i] !== V2_SIG[i]) {
      throw new ProxyProtocolError(
        "Connection does not start with a PROXY protocol header",
      );
    }
  }
  if (n < 16) return null;
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) {
    throw new ProxyProtocolError("PROXY v2 header has an unsupported version");
  }
  const cmd = verCmd & 0x0f;
  if (cmd > 1) {
    throw new ProxyProtocolError("PROXY v2 header has an unknown command");
  }
  const fam = buf[13];
  const len = (buf[14] << 8) | buf[15];
  if (len > PROXY_V2_MAX_PAYLOAD) {
    throw new ProxyProtocolError(
      `PROXY v2 header declares ${len} bytes, over the limit of ${PROXY_V2_MAX_PAYLOAD}`,
    );
  }
  if (n < 16 + len) return null;
  const length = 16 + len;
  if (cmd === 0) return { length, client: null }; // LOCAL: the balancer itself
  const family = fam >> 4;
  const transport = fam & 0x0f;
  if (transport !== 1 && transport !== 2) return { length, client: null };
  if (family === 1) {
    if (len < 12) {
      throw new ProxyProtocolError("PROXY v2 IPv4 address block is too short");
    }
    const hostname = `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}`;
    return { length, client: { hostname, port: (buf[24] << 8) | buf[25] } };
  }
  if (family === 2) {
    if (len < 36) {
      throw new ProxyProtocolError("PROXY v2 IPv6 address block is too short");
    }
    return {
      length,
      client: { hostname: ipv6(buf, 16), port: (buf[48] << 8) | buf[49] },
    };
  }
  return { length, client: null };
}

function parsePort(s: string): number {
  if (s.length === 0 || s.length > 5 || (s.length > 1 && s[0] === "0")) {
    return -1;
  }
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= 65535 ? v : -1;
}

function isIpv4(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p[0] === "0")) {
      return false;
    }
    let v = 0;
    for (let i = 0; i < p.length; i++) {
      const d = p.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return false;
      v = v * 10 + d;
    }
    if (v > 255) return false;
  }
  return true;
}

function isIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45 || !s.includes(":")) return false;
  try {
    // The URL parser validates and canonicalises IPv6 literals.
    return new URL(`http://[${s}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

function ipv6(buf: Uint8Array, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((buf[at + i] << 8) | buf[at + i + 1]).toString(16));
  }
  // Canonical form via the URL parser (compresses the longest zero run).
  const host = new URL(`http://[${groups.join(":")}]/`).hostname;
  return host.slice(1, -1);
}

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Reads a PROXY header from the start of a connection through `input`,
 * leaving the bytes after it in `input` as the start of the first request.
 * Resolves with the client address (null for `LOCAL`/`UNKNOWN` headers), or
 * `false` when the connection ended or sent more than a header can hold.
 *
 * @throws {ProxyProtocolError} for a malformed header.
 */
export async function readProxyHeader(
  input: Input,
): Promise<RemoteAddr | null | false> {
  let acc: Uint8Array = EMPTY;
  for (;;) {
    if (!(await input.read())) return false;
    const got = input.chunk;
    if (acc.length === 0) acc = got;
    else {
      const joined = new Uint8Array(acc.length + got.length);
      joined.set(acc);
      joined.set(got, acc.length);
      acc = joined;
    }
    input.pos = got.length;
    const header = parseProxyHeader(acc);
    if (header !== null) {
      // The bytes after the header are the start of the first request.
      input.chunk = acc.subarray(header.length);
      input.pos = 0;
      input.lent = true; // `acc` may be the read buffer: do not reuse it
      return header.client;
    }
    if (acc === got) acc = got.slice(); // keep it: the read buffer is reused
    if (acc.length > 16 + PROXY_V2_MAX_PAYLOAD) return false;
  }
}
