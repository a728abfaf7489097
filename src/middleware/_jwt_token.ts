/**
 * Finding a JWT in a request for `jwt()`: `Authorization: Bearer` or a
 * cookie (a minimal, bounded `Cookie` parser), and the compact-JWS shape
 * check made before any parsing.
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import { afterScheme } from "./_credentials.ts";

/**
 * The token from `Authorization: Bearer`, else from the cookie; null when
 * there is none. A header longer than the limit returns the whole header so
 * that the size check refuses it without slicing.
 */
export function tokenOf(
  ctx: Context,
  cookie: string | undefined,
  max: number,
): string | null {
  const auth = ctx.header("authorization");
  if (auth !== null) {
    if (auth.length > max + 16) return auth;
    const start = afterScheme(auth, "bearer");
    if (start !== -1) return auth.slice(start);
  }
  if (cookie === undefined) return null;
  const header = ctx.header("cookie");
  return header === null ? null : cookieValue(header, cookie);
}

/**
 * The value of cookie `name` in a `Cookie` header, unquoted; null when
 * absent. One pass: each pair is tested by its name only.
 */
function cookieValue(header: string, name: string): string | null {
  const n = header.length;
  let i = 0;
  while (i < n) {
    while (header.charCodeAt(i) === 0x20) i++;
    let end = header.indexOf(";", i);
    if (end === -1) end = n;
    if (
      header.startsWith(name, i) &&
      header.charCodeAt(i + name.length) === 0x3d && // "="
      i + name.length < end
    ) {
      let v = header.slice(i + name.length + 1, end).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
        v = v.slice(1, -1);
      }
      return v;
    }
    i = end + 1;
  }
  return null;
}

/** Three non-empty base64url segments: a signed compact JWS, nothing else. */
export function isCompactJws(token: string): boolean {
  let dots = 0;
  let segment = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 0x2e) {
      if (segment === 0 || ++dots > 2) return false;
      segment = 0;
      continue;
    }
    if (
      !((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
        (c >= 0x30 && c <= 0x39) ||
        c === 0x2d || c === 0x5f)
    ) return false;
    segment++;
  }
  return dots === 2 && segment > 0;
}
