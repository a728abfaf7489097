/**
 * Safe file names for uploads: {@linkcode safeFilename}.
 *
 * @module
 */

import { isDeviceName } from "../internal/filename.ts";
import { utf8Length } from "../internal/text.ts";

/** Longest name {@linkcode safeFilename} returns, in UTF-8 bytes. */
export const MAX_FILENAME_BYTES = 255;

// C0 and C1 controls, and invisible format characters that can disguise a
// name: zero-width, bidi embeddings and overrides ("\u202Etxt.exe"), BOM.
const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
// Reserved on Windows file systems.
const RESERVED = /[<>:"|?*]/g;

/**
 * Turns a client-sent file name into one that is safe to create in a
 * directory: the last `/` or `\` separated segment only; controls and
 * invisible format characters (bidi overrides, zero-width) removed;
 * `<>:"|?*` replaced by `_`; leading dots and spaces and trailing dots and
 * spaces removed (no hidden files, no `..`, nothing Windows would trim);
 * Windows device names (`CON`, `nul.txt`, `COM1`) prefixed with `_`;
 * NFC-normalised and cut to {@linkcode MAX_FILENAME_BYTES} UTF-8 bytes,
 * keeping a short extension. Never returns an empty string: a name with
 * nothing left becomes `"file"`.
 *
 * It does not make names unique: pick your own (e.g. a random id) when
 * files from different clients share a directory.
 *
 * @example Usage
 * ```ts
 * import { safeFilename } from "./safe_filename.ts";
 * safeFilename("../../etc/passwd"); // "passwd"
 * safeFilename("C:\\Users\\me\\.ssh\\id_rsa"); // "id_rsa"
 * safeFilename("..."); // "file"
 * safeFilename("con.txt"); // "_con.txt"
 * ```
 */
export function safeFilename(name: string): string {
  let s = String(name).toWellFormed().normalize("NFC");
  s = s.slice(Math.max(s.lastIndexOf("/"), s.lastIndexOf("\\")) + 1);
  s = s.replace(UNSAFE, "").replace(RESERVED, "_");
  s = s.replace(/^[\s.]+/, "").replace(/[\s.]+$/, "");
  if (isDeviceName(s)) s = "_" + s;
  if (utf8Length(s) > MAX_FILENAME_BYTES) s = truncate(s);
  return s === "" ? "file" : s;
}

/** Cuts `s` to {@linkcode MAX_FILENAME_BYTES}, keeping an extension of up to 16 chars. */
function truncate(s: string): string {
  const dot = s.lastIndexOf(".");
  const ext = dot > 0 && s.length - dot <= 17 ? s.slice(dot) : "";
  const budget = MAX_FILENAME_BYTES - utf8Length(ext);
  let stem = "";
  let bytes = 0;
  for (const ch of ext === "" ? s : s.slice(0, dot)) {
    const n = utf8Length(ch);
    if (bytes + n > budget) break;
    stem += ch;
    bytes += n;
  }
  return stem.replace(/[\s.]+$/, "") + ext;
}
