/**
 * Safe mapping of a request's wildcard path onto the static root: a lexical
 * check of every segment, then a `realPath` check that the target is inside
 * the root.
 *
 * The App hands handlers a path already normalised by `normalizePath`
 * (decoded once; `%2F`, `%5C`, NUL and dot segments refused with 400), so
 * the checks here are a second line: they refuse what that function refuses
 * (with the same 400) for wildcard values from any source, plus names no
 * portable file system maps safely (404).
 *
 * @module
 */

import { isDeviceName } from "../internal/filename.ts";
import { utf8Length } from "../internal/text.ts";

/** Longest segment, in UTF-8 bytes (NAME_MAX on common file systems). */
export const MAX_SEGMENT_BYTES = 255;
/** Longest relative path, in UTF-8 bytes (PATH_MAX on Linux). */
export const MAX_PATH_BYTES = 4096;

/** The verdict on a relative path. */
export type PathCheck =
  | { readonly kind: "ok"; readonly dotfile: boolean }
  | { readonly kind: "refused"; readonly status: 400 | 404; detail: string };

const OK: PathCheck = Object.freeze({ kind: "ok", dotfile: false });
const OK_DOT: PathCheck = Object.freeze({ kind: "ok", dotfile: true });

// deno-lint-ignore no-control-regex
const CONTROL = /[\x01-\x1f\x7f]/;

function refused(status: 400 | 404, detail: string): PathCheck {
  return { kind: "refused", status, detail };
}

/**
 * Checks a relative path (`"css/app.css"`, `"docs/"`): segments separated by
 * `/`, an optional trailing slash.
 *
 * 400 (malformed, as `normalizePath` answers): an empty segment (also a
 * leading `/`), a `.` or `..` segment, NUL, a backslash. 404 (a name that is
 * never mapped to a file): control characters, `:` (drive letters `C:`, NTFS
 * streams `a:b`), a trailing `.` or space (Windows drops them), reserved
 * device names (`CON`, `nul.txt`, `COM1`, `lpt9.log`), a segment over
 * {@linkcode MAX_SEGMENT_BYTES} or a path over {@linkcode MAX_PATH_BYTES}.
 *
 * @returns `ok` (with whether a segment starts with `.`) or `refused`.
 */
export function checkRelative(rel: string): PathCheck {
  const n = rel.endsWith("/") ? rel.length - 1 : rel.length;
  if (n === 0) return OK;
  if (
    n > MAX_PATH_BYTES || utf8Length(rel) - (rel.length - n) > MAX_PATH_BYTES
  ) {
    return refused(404, `Path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (rel.indexOf("\0") !== -1) {
    return refused(400, "Request path contains a NUL character");
  }
  if (rel.indexOf("\\") !== -1) {
    return refused(400, "Request path contains a backslash");
  }
  let dotfile = false;
  let start = 0;
  while (start <= n) {
    let end = rel.indexOf("/", start);
    if (end === -1 || end > n) end = n;
    const seg = rel.slice(start, end);
    if (seg === "") return refused(400, "Request path has an empty segment");
    if (seg === "." || seg === "..") {
      return refused(400, `Request path contains the dot segment "${seg}"`);
    }
    if (seg.charCodeAt(0) === 0x2e) dotfile = true;
    if (utf8Length(seg) > MAX_SEGMENT_BYTES) {
      return refused(
        404,
        `Path segment is longer than ${MAX_SEGMENT_BYTES} bytes`,
      );
    }
    if (CONTROL.test(seg)) {
      return refused(404, "Path contains a control character");
    }
    if (seg.indexOf(":") !== -1) return refused(404, "Path contains a colon");
    const last = seg.charCodeAt(seg.length - 1);
    if (last === 0x2e || last === 0x20) {
      return refused(404, "Path segment ends with a dot or a space");
    }
    if (isDeviceName(seg)) {
      return refused(404, "Path names a reserved device");
    }
    start = end + 1;
  }
  return dotfile ? OK_DOT : OK;
}

/** The platform's path separator. */
export const SEP: string = Deno.build.os === "windows" ? "\\" : "/";

/**
 * Joins a checked relative path (without trailing slash) to the real root.
 */
export function joinRoot(root: string, rel: string): string {
  if (rel === "") return root;
  const sub = SEP === "/" ? rel : rel.replaceAll("/", SEP);
  return root.endsWith(SEP) ? root + sub : root + SEP + sub;
}

const MISS_CODES = new Set([
  "ENOENT",
  "ENOTDIR",
  "EACCES",
  "EPERM",
  "ELOOP",
  "ENAMETOOLONG",
  "EISDIR",
  "EINVAL",
]);

/**
 * True for file-system errors that mean "nothing servable here" for a path
 * a client chose (missing, not a directory, no permission, a symlink loop,
 * a name too long), as opposed to failures of the server (I/O errors,
 * missing `--allow-read`), which are rethrown.
 */
export function isMiss(error: unknown): boolean {
  if (
    error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.FilesystemLoop ||
    error instanceof Deno.errors.IsADirectory
  ) {
    return true;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && MISS_CODES.has(code);
}

/**
 * Resolves `lexical` (a path under `root` built by {@linkcode joinRoot})
 * with `realPath` and returns it when it may be served, else null (also for
 * a miss). Without `follow`, the real path must equal the lexical one: no
 * symlink anywhere below the root. With `follow`, it must be the root or
 * below it.
 *
 * Synchronous, like the `stat` that follows it: see `serveStatic` for why.
 * The root is trusted: someone who can write under it can still swap a
 * checked directory for a symlink before the file is opened.
 */
export function realInside(
  root: string,
  lexical: string,
  follow: boolean,
): string | null {
  let real: string;
  try {
    real = Deno.realPathSync(lexical);
  } catch (error) {
    if (isMiss(error)) return null;
    throw error;
  }
  if (!follow) return real === lexical ? real : null;
  if (real === root) return real;
  const prefix = root.endsWith(SEP) ? root : root + SEP;
  return real.startsWith(prefix) ? real : null;
}

/** `Deno.statSync(path)`, or null for a miss (see {@linkcode isMiss}). */
export function statOf(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (isMiss(error)) return null;
    throw error;
  }
}
