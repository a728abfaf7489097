/**
 * Redirect target checks for `ctx.redirect`: the value is judged as the
 * `Location` header will carry it (Headers trims surrounding spaces), so
 * `" //evil.com"` is seen as the protocol-relative `//evil.com` it becomes.
 *
 * @module
 */

/** `"safe"`, `"unsafe"` (an open-redirect shape) or `"invalid"` (not a header value). */
export type RedirectVerdict = "safe" | "unsafe" | "invalid";

/**
 * Judges a redirect target: relative paths and absolute http(s) URLs are
 * safe; protocol-relative targets (`//host`, `/\host`, `\\host`) and other
 * schemes are unsafe; control characters and characters outside Latin-1
 * are invalid.
 *
 * @example Usage
 * ```ts
 * import { isSafeRedirect } from "./redirect.ts";
 * isSafeRedirect("/home"); // "safe"
 * isSafeRedirect(" //evil.com"); // "unsafe"
 * isSafeRedirect("/caf\u{1F600}"); // "invalid"
 * ```
 */
export function isSafeRedirect(target: string): RedirectVerdict {
  let start = 0;
  let end = target.length;
  while (start < end && target.charCodeAt(start) === 0x20) start++;
  while (end > start && target.charCodeAt(end - 1) === 0x20) end--;
  for (let i = start; i < end; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c > 0xff) return "invalid";
  }
  const location = target.slice(start, end);
  const first = location.charCodeAt(0);
  if (first === 0x2f || first === 0x5c) { // "/" or "\"
    const second = location.charCodeAt(1);
    return first === 0x5c || second === 0x2f || second === 0x5c
      ? "unsafe"
      : "safe";
  }
  const colon = location.indexOf(":");
  const slash = location.search(/[/?#\\]/);
  if (colon === -1 || (slash !== -1 && slash < colon)) return "safe";
  const scheme = location.slice(0, colon).toLowerCase();
  return scheme === "http" || scheme === "https" ? "safe" : "unsafe";
}
