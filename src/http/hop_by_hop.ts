/**
 * Hop-by-hop header fields: the ones that describe a single connection and
 * must not be forwarded by a proxy or gateway (RFC 9110 §7.6.1), plus the
 * fields a message names in its own `Connection` header.
 *
 * @module
 */

/**
 * Lower-case names of the fields that are hop-by-hop whatever `Connection`
 * says: `Connection`, `Keep-Alive`, `Proxy-Connection`, `Proxy-Authenticate`,
 * `Proxy-Authorization`, `TE`, `Trailer`, `Transfer-Encoding` and `Upgrade`.
 */
export const HOP_BY_HOP_FIELDS: readonly string[] = Object.freeze([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Removes, in place, every hop-by-hop field of `headers`: the fields of
 * {@linkcode HOP_BY_HOP_FIELDS} and every field named in a `Connection`
 * header (comma-separated, case-insensitive, surrounding whitespace
 * ignored). A malformed token (empty, or not a field name) is skipped.
 *
 * @example Usage
 * ```ts
 * import { stripHopByHop } from "./hop_by_hop.ts";
 * const headers = new Headers({ connection: "keep-alive, x-trace", "x-trace": "1", accept: "text/html" });
 * stripHopByHop(headers);
 * [...headers.keys()]; // ["accept"]
 * ```
 */
export function stripHopByHop(headers: Headers): void {
  const connection = headers.get("connection");
  if (connection !== null) {
    let start = 0;
    while (start <= connection.length) {
      let end = connection.indexOf(",", start);
      if (end === -1) end = connection.length;
      const name = connection.slice(start, end).trim();
      if (name !== "" && isToken(name)) headers.delete(name);
      start = end + 1;
    }
  }
  for (const name of HOP_BY_HOP_FIELDS) headers.delete(name);
}

/** Whether `s` is an RFC 9110 token (a valid field name). */
function isToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 &&
      (c | 0x20) <= 0x7a);
    // !#$%&'*+-.^_`|~
    if (!alnum && "!#$%&'*+-.^_`|~".indexOf(s[i]) === -1) return false;
  }
  return true;
}
