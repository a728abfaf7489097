/**
 * Turns a scanned request head into a {@linkcode RequestHead}: request-target
 * forms, `Host`, message framing (RFC 9112 §3.2, §6, §7) and connection
 * options.
 *
 * @module
 */

import { badRequest, ParseError } from "./error.ts";
import { isValidHost } from "../../../http/host.ts";
import type { HeadScanner } from "./scan.ts";

/**
 * A parsed request head: what the h1 connection needs to frame the message
 * and build a request.
 */
export interface RequestHead {
  /**
   * The method token, case-sensitive as received (`"GET"`, `"get"` and
   * `"PROPFIND"` are all valid tokens; the App answers 405/501).
   */
  readonly method: string;
  /**
   * The target: for origin-form the raw path and query (`"/a?b=1"`, not
   * decoded); for absolute-form the path and query of the URI (`"/"` when
   * empty, `"*"` for an `OPTIONS` without a path, RFC 9112 §3.2.4); `"*"` for
   * asterisk-form (only with `OPTIONS`); the `host:port` authority for
   * `CONNECT`.
   */
  readonly target: string;
  /**
   * The minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1 and any later
   * HTTP/1.x (which RFC 9110 §6.2 lets us answer as 1.1).
   */
  readonly version: 0 | 1;
  /**
   * Every field line in order, flat: `[lowerName, value, lowerName, value,
   * ...]`. Values have their leading and trailing whitespace removed and are
   * decoded as ISO-8859-1. Repeated fields stay separate entries.
   */
  readonly headers: string[];
  /**
   * The authority of the request: the `Host` value, or the authority of an
   * absolute-form target, which overrides `Host` (RFC 9112 §3.2.2). `""` on
   * an HTTP/1.0 request without `Host` (use the listener's address).
   */
  readonly host: string;
  /** The `Content-Length` value, or -1 when the request has none. */
  readonly contentLength: number;
  /** Whether the body uses the chunked transfer coding. */
  readonly chunked: boolean;
  /**
   * Whether the connection may stay open after this exchange: on HTTP/1.1
   * unless `Connection: close`; on HTTP/1.0 only with
   * `Connection: keep-alive` (and no `close`).
   */
  readonly keepAlive: boolean;
  /**
   * `Expect: 100-continue` on HTTP/1.1 (ignored on HTTP/1.0, RFC 9110
   * §10.1.1). Other expectations are left in `headers` for the connection to
   * answer 417 if it wants.
   */
  readonly expectContinue: boolean;
  /**
   * The `Upgrade` value when an HTTP/1.1 request asks to switch protocols
   * (`Connection: upgrade` and `Upgrade` both present), else null.
   */
  readonly upgrade: string | null;
}

/**
 * Builds the head from a complete {@linkcode HeadScanner} and applies the
 * semantic rules:
 *
 * - Target forms: `"*"` only with `OPTIONS`; `CONNECT` only with
 *   `host:port`; an absolute-form target must be `http://` or `https://`
 *   with a valid authority (no userinfo); anything else not starting with
 *   `/` → 400.
 * - `Transfer-Encoding` (all lines combined, empty list elements ignored,
 *   codings case-insensitive, each element a bare token else 400): on
 *   HTTP/1.0 → 400; with `Content-Length` → 400; `chunked` repeated or not
 *   last → 400; any other coding (`gzip`, `deflate`, `compress`, `identity`,
 *   which RFC 9112 no longer registers, or unknown) → 501.
 * - `Content-Length`: 1 to 15 digits, no sign or list (→ 400); repeated
 *   lines must be byte-identical (→ 400).
 * - `Host`: HTTP/1.1 needs exactly one, HTTP/1.0 at most one; the value must
 *   be a valid `uri-host [":" port]` (→ 400, reason `bad_host`). An empty
 *   `Host` is refused on HTTP/1.1 unless the target is absolute-form: an
 *   `http` URI never has an empty host (RFC 9110 §4.2.1), so the empty value
 *   RFC 9112 §3.2 allows for authority-less URIs cannot apply.
 *
 * @throws {ParseError} on a violation.
 *
 * @example Usage
 * ```ts
 * import { HeadScanner } from "./scan.ts";
 * import { buildHead } from "./head.ts";
 * const s = new HeadScanner({
 *   headerBytes: 1024,
 *   headerCount: 10,
 *   strictCrlf: false,
 *   requestLine: { urlBytes: 1024, methodBytes: 32 },
 * });
 * s.feed(new TextEncoder().encode("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
 * buildHead(s).target; // "/a"
 * ```
 */
export function buildHead(sc: HeadScanner): RequestHead {
  const rl = sc.line!;
  const str = sc.decode();
  const mlen = rl.methodLen;
  const method = methodOf(str, mlen);
  let target = str.slice(mlen + 1, mlen + 1 + rl.targetLen);
  const version = rl.minor === 0 ? 0 : 1;
  const headers = sc.fields(str);

  let authority: string | null = null;
  const t0 = target.charCodeAt(0);
  if (method === "CONNECT") {
    if (!isValidHost(target, true)) {
      throw badRequest("CONNECT needs a host:port target");
    }
  } else if (t0 === 0x2a /* * */ && target.length === 1) {
    if (method !== "OPTIONS") {
      throw badRequest("The asterisk-form target is only valid with OPTIONS");
    }
  } else if (t0 !== 0x2f /* / */) {
    const rest = absoluteForm(target);
    authority = rest.authority;
    target = rest.path === ""
      ? (method === "OPTIONS" ? "*" : "/")
      : rest.path.charCodeAt(0) === 0x3f
      ? "/" + rest.path
      : rest.path;
  }

  let host: string | null = null;
  let hosts = 0;
  let contentLength = -1;
  let lengthText: string | null = null;
  let te = false;
  let chunkedCount = 0;
  let chunkedLast = false;
  let otherCoding = false;
  let close = false;
  let keepAliveToken = false;
  let upgradeToken = false;
  let upgrade: string | null = null;
  let expectContinue = false;

  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    switch (name) {
      case "host":
        hosts++;
        host = value;
        break;
      case "content-length":
        if (lengthText === null) {
          contentLength = parseLength(value);
          if (contentLength < 0) {
            throw badRequest(
              "Content-Length must be 1 to 15 digits without sign or list",
            );
          }
          lengthText = value;
        } else if (value !== lengthText) {
          throw badRequest("Conflicting Content-Length fields");
        }
        break;
      case "transfer-encoding": {
        te = true;
        // Iterate the list elements: token, separated by "," with OWS.
        const n = value.length;
        let p = 0;
        while (p <= n) {
          let q = value.indexOf(",", p);
          if (q < 0) q = n;
          const el = trimOws(value, p, q);
          p = q + 1;
          if (el === "") continue;
          if (!isToken(el)) throw badRequest("Invalid Transfer-Encoding list");
          if (el.length === 7 && el.toLowerCase() === "chunked") {
            chunkedCount++;
            chunkedLast = true;
          } else {
            otherCoding = true;
            chunkedLast = false;
          }
        }
        break;
      }
      case "connection": {
        const v = value.toLowerCase();
        if (v === "keep-alive") keepAliveToken = true;
        else if (v === "close") close = true;
        else {
          const n = v.length;
          let p = 0;
          while (p <= n) {
            let q = v.indexOf(",", p);
            if (q < 0) q = n;
            const el = trimOws(v, p, q);
            p = q + 1;
            if (el === "close") close = true;
            else if (el === "keep-alive") keepAliveToken = true;
            else if (el === "upgrade") upgradeToken = true;
          }
        }
        break;
      }
      case "upgrade":
        upgrade = upgrade === null ? value : upgrade + ", " + value;
        break;
      case "expect":
        if (value.length === 12 && value.toLowerCase() === "100-continue") {
          expectContinue = true;
        }
        break;
    }
  }

  let chunked = false;
  if (te) {
    if (version === 0) {
      throw badRequest("Transfer-Encoding is not allowed in HTTP/1.0");
    }
    if (lengthText !== null) {
      throw badRequest("Both Transfer-Encoding and Content-Length are present");
    }
    if (chunkedCount > 1) throw badRequest("Chunked coding applied twice");
    if (chunkedCount === 1 && !chunkedLast) {
      throw badRequest("Chunked is not the final transfer coding");
    }
    if (otherCoding) {
      throw new ParseError(
        501,
        "unsupported_transfer_encoding",
        "Transfer codings other than chunked are not supported",
      );
    }
    if (chunkedCount === 0) {
      throw badRequest("Transfer-Encoding without chunked");
    }
    chunked = true;
  }

  if (hosts > 1) throw badRequest("Multiple Host fields", "bad_host");
  if (host === null) {
    if (version === 1) throw badRequest("Missing Host field", "bad_host");
    host = "";
  } else if (host === "") {
    if (version === 1 && authority === null) {
      throw badRequest("Empty Host field", "bad_host");
    }
  } else if (!isValidHost(host, false)) {
    throw badRequest("Invalid Host field", "bad_host");
  }
  if (authority !== null) host = authority;

  return {
    method,
    target,
    version,
    headers,
    host,
    contentLength,
    chunked,
    keepAlive: version === 1 ? !close : keepAliveToken && !close,
    expectContinue: expectContinue && version === 1,
    upgrade: version === 1 && upgradeToken ? upgrade : null,
  };
}

/** Returns a constant for common methods, avoiding a string per request. */
function methodOf(str: string, n: number): string {
  switch (n) {
    case 3:
      if (str.startsWith("GET")) return "GET";
      if (str.startsWith("PUT")) return "PUT";
      break;
    case 4:
      if (str.startsWith("POST")) return "POST";
      if (str.startsWith("HEAD")) return "HEAD";
      break;
    case 5:
      if (str.startsWith("PATCH")) return "PATCH";
      break;
    case 6:
      if (str.startsWith("DELETE")) return "DELETE";
      break;
    case 7:
      if (str.startsWith("OPTIONS")) return "OPTIONS";
      if (str.startsWith("CONNECT")) return "CONNECT";
      break;
  }
  return str.slice(0, n);
}

/** Parses `1*15DIGIT`; -1 when invalid. */
function parseLength(v: string): number {
  const n = v.length;
  if (n === 0 || n > 15) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    x = x * 10 + d;
  }
  return x;
}

function trimOws(s: string, p: number, q: number): string {
  let c: number;
  while (p < q && ((c = s.charCodeAt(p)) === 0x20 || c === 0x09)) p++;
  while (q > p && ((c = s.charCodeAt(q - 1)) === 0x20 || c === 0x09)) q--;
  return s.slice(p, q);
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function isToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

/**
 * Splits an absolute-form target (`http://authority/path?query`) into its
 * authority and its path and query.
 */
function absoluteForm(t: string): { authority: string; path: string } {
  const colon = t.indexOf(":");
  const scheme = colon < 0 ? "" : t.slice(0, colon).toLowerCase();
  if (
    (scheme !== "http" && scheme !== "https") ||
    !t.startsWith("//", colon + 1)
  ) {
    throw badRequest("Request target must be origin-form or an http(s) URI");
  }
  const as = colon + 3;
  let ae = as;
  const n = t.length;
  while (ae < n) {
    const c = t.charCodeAt(ae);
    if (c === 0x2f || c === 0x3f) break;
    ae++;
  }
  const authority = t.slice(as, ae);
  if (!isValidHost(authority, false)) {
    throw badRequest("Invalid authority in the request target", "bad_host");
  }
  return { authority, path: t.slice(ae) };
}
