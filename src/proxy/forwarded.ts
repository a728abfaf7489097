/**
 * Forwarding headers for proxied requests: `X-Forwarded-For`, `-Proto`,
 * `-Host` and RFC 7239 `Forwarded`.
 *
 * The rule for a client's own forwarding fields: they are kept, and our hop
 * appended, only when the App believed them — when its `trustProxy` took
 * `ctx.remote` from that header because the connection came from a trusted
 * proxy. Otherwise they were written by whoever opened the connection and are
 * replaced.
 *
 * The public Context does not expose the socket peer, so belief is read off
 * `ctx.remote`: a socket peer always has a port, while an address the App
 * took from a forwarding header has port 0 unless the header gave one. So
 * the chain is believed when `ctx.remote.port` is 0 and `ctx.remote` is one
 * of the header's hops. An untrusted TCP peer can never pass this (its port
 * is not 0); a trusted chain whose client entry carries a port is treated as
 * untrusted, which loses the earlier hops but never forwards a spoofed one.
 * (In-process `app.request()` calls use the peer `127.0.0.1:0` and pass the
 * test whenever their own header lists 127.0.0.1.)
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import { requestScheme } from "../context/internal.ts";
import type { RemoteAddr } from "../transport/contract.ts";
import { formatIp, parseIp, parseIp4, parseIp6 } from "../net/ip.ts";

/** Hops examined from the right, as the App's own trustProxy walk. */
const MAX_HOPS = 32;

/**
 * The incoming fields the proxy rewrites in every mode but `false`; the
 * request-header copy skips them and {@linkcode forwardingFields} emits
 * what replaces them.
 */
export const FORWARDING_FIELDS: ReadonlySet<string> = new Set([
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);

/**
 * Appends to `out` the forwarding fields to send upstream for `ctx` by
 * `mode` (never called for `false`), in place of the incoming
 * {@linkcode FORWARDING_FIELDS}: kept (ours appended) when the App believed
 * the incoming chain, else only ours.
 */
export function forwardingFields(
  ctx: Context,
  mode: "x-forwarded" | "forwarded" | "both",
  out: [string, string][],
): void {
  const remote = ctx.remote;
  const xff = ctx.header("x-forwarded-for");
  const fwd = ctx.header("forwarded");
  const believed = (xff !== null || fwd !== null) &&
    chainBelieved(remote, xff, fwd);
  const proto = requestScheme(ctx);
  const host = ctx.header("host");
  const ip = remote.hostname;
  if (mode === "forwarded") {
    if (believed) {
      keep(
        ctx,
        ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"],
        out,
      );
    }
  } else {
    if (ip !== "") {
      out.push([
        "x-forwarded-for",
        believed && xff !== null ? xff + ", " + ip : ip,
      ]);
    }
    const xfp = believed ? ctx.header("x-forwarded-proto") : null;
    out.push(["x-forwarded-proto", xfp ?? proto]);
    const xfh = believed ? ctx.header("x-forwarded-host") : null;
    if (xfh !== null || host !== null) {
      out.push(["x-forwarded-host", (xfh ?? host)!]);
    }
  }
  if (mode === "x-forwarded") {
    if (believed && fwd !== null) out.push(["forwarded", fwd]);
  } else {
    let element = "for=" + forNode(ip) + ";proto=" + proto;
    if (host !== null) element += ";host=" + value(host);
    out.push([
      "forwarded",
      believed && fwd !== null ? fwd + ", " + element : element,
    ]);
  }
  if (believed) keep(ctx, ["x-real-ip"], out);
}

/** Appends the incoming fields `names` of `ctx` as they are. */
function keep(ctx: Context, names: string[], out: [string, string][]): void {
  for (const name of names) {
    const v = ctx.header(name);
    if (v !== null) out.push([name, v]);
  }
}

/** Whether the App took `remote` from the `X-Forwarded-For` or `Forwarded` chain. */
export function chainBelieved(
  remote: RemoteAddr,
  xff: string | null,
  fwd: string | null,
): boolean {
  if (remote.port !== 0 || remote.hostname === "") return false;
  const ip = remote.hostname;
  return (xff !== null && xffHas(xff, ip)) ||
    (fwd !== null && forwardedHas(fwd, ip));
}

/** Whether one of the last hops of an `X-Forwarded-For` value is `ip`. */
function xffHas(value: string, ip: string): boolean {
  let end = value.length;
  for (let hop = 0; hop < MAX_HOPS && end >= 0; hop++) {
    const comma = end === 0 ? -1 : value.lastIndexOf(",", end - 1);
    if (sameIp(value, comma + 1, end, ip)) return true;
    end = comma;
  }
  return false;
}

/** Whether one of the last `for=` values of a `Forwarded` value is `ip`. */
function forwardedHas(value: string, ip: string): boolean {
  const lower = value.toLowerCase();
  let at = lower.length;
  for (let hop = 0; hop < MAX_HOPS && at > 0; hop++) {
    const i = lower.lastIndexOf("for=", at - 1);
    if (i < 0) return false;
    at = i;
    let s = i + 4;
    let e = s;
    if (value.charCodeAt(s) === 0x22) {
      e = value.indexOf('"', s + 1);
      if (e < 0) continue;
      s++;
    } else {
      while (e < value.length && value[e] !== ";" && value[e] !== ",") e++;
    }
    if (sameIp(value, s, e, ip)) return true;
  }
  return false;
}

/**
 * Whether `s[start:end]` — `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`,
 * whitespace around — is the address `ip` (in the App's formatting).
 */
function sameIp(s: string, start: number, end: number, ip: string): boolean {
  while (start < end && (s[start] === " " || s[start] === "\t")) start++;
  while (end > start && (s[end - 1] === " " || s[end - 1] === "\t")) end--;
  if (start >= end) return false;
  let parsed;
  if (s.charCodeAt(start) === 0x5b) {
    const close = s.indexOf("]", start);
    if (close < 0 || close >= end) return false;
    parsed = parseIp6(s, start + 1, close);
  } else {
    const colon = s.indexOf(":", start);
    if (colon === -1 || colon >= end) parsed = parseIp4(s, start, end);
    else {
      const second = s.indexOf(":", colon + 1);
      parsed = second === -1 || second >= end
        ? parseIp4(s, start, colon) // ipv4:port
        : parseIp6(s, start, end);
    }
  }
  return parsed !== null && formatIp(parsed) === ip;
}

/** The `for=` node of RFC 7239 §6: IPv6 bracketed and quoted, `unknown` when none. */
function forNode(ip: string): string {
  if (ip === "") return "unknown";
  const parsed = parseIp(ip);
  if (parsed === null) return "unknown";
  return ip.includes(":") ? '"[' + ip + ']"' : ip;
}

/** A Forwarded parameter value: a token as is, anything else quoted. */
function value(v: string): string {
  for (let i = 0; i < v.length; i++) {
    if (!isTchar(v.charCodeAt(i))) {
      return '"' + v.replace(/[\\"]/g, "\\$&") + '"';
    }
  }
  return v;
}

function isTchar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}
