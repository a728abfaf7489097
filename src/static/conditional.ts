/**
 * Conditional requests (RFC 9110 §13): entity-tag lists, HTTP-dates, and
 * the evaluation order of §13.2.2 for GET and HEAD.
 *
 * @module
 */

/** The validators of the representation about to be sent. */
export interface Validators {
  /** A strong entity tag with its quotes (`"1a-18c"`), or null for none. */
  readonly etag: string | null;
  /** Modification time in whole seconds since the epoch, or null. */
  readonly modifiedSec: number | null;
}

/** The outcome of the preconditions of a GET or HEAD request. */
export type Precondition = "proceed" | "not_modified" | "failed";

/** A request header lookup (case-insensitive name). */
export interface HeaderSource {
  header(name: string): string | null;
}

/**
 * True when the `If-Match` / `If-None-Match` list `value` names `etag`:
 * `*` matches any current representation; otherwise each
 * `[W/]"opaque"` member is compared, weakly (the `W/` prefix ignored) or
 * strongly (weak members never match). A malformed member ends the scan
 * without a match.
 *
 * @example Usage
 * ```ts
 * import { etagListMatches } from "./conditional.ts";
 * etagListMatches('W/"a", "b"', '"a"', true); // true
 * etagListMatches('W/"a"', '"a"', false); // false
 * ```
 */
export function etagListMatches(
  value: string,
  etag: string | null,
  weak: boolean,
): boolean {
  if (value.trim() === "*") return true;
  if (etag === null) return false;
  const n = value.length;
  let i = 0;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x2c /* , */) {
      i++;
      continue;
    }
    let isWeak = false;
    if (c === 0x57 /* W */ && value.charCodeAt(i + 1) === 0x2f /* / */) {
      isWeak = true;
      i += 2;
    }
    if (value.charCodeAt(i) !== 0x22 /* " */) return false;
    const close = value.indexOf('"', i + 1);
    if (close === -1) return false;
    if (
      (weak || !isWeak) && close + 1 - i === etag.length &&
      value.startsWith(etag, i)
    ) {
      return true;
    }
    i = close + 1;
  }
  return false;
}

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";
const IMF =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function utc(
  year: number,
  month: string,
  day: string,
  h: string,
  m: string,
  s: string,
): number {
  const mon = MONTHS.indexOf(month);
  if (mon === -1 || mon % 3 !== 0) return NaN;
  const d = Number(day);
  const hh = Number(h);
  const mm = Number(m);
  const ss = Number(s);
  if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return NaN;
  return Date.UTC(year, mon / 3, d, hh, mm, ss);
}

/**
 * Parses an HTTP-date in any of the three formats of RFC 9110 §5.6.7
 * (IMF-fixdate, obsolete RFC 850, asctime) into epoch ms; NaN otherwise.
 * A two-digit RFC 850 year more than 50 years ahead is taken from the
 * previous century.
 *
 * @example Usage
 * ```ts
 * import { parseHttpDate } from "./conditional.ts";
 * parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"); // 784111777000
 * parseHttpDate("yesterday"); // NaN
 * ```
 */
export function parseHttpDate(value: string): number {
  const v = value.trim();
  let m = IMF.exec(v);
  if (m !== null) return utc(Number(m[3]), m[2], m[1], m[4], m[5], m[6]);
  m = RFC850.exec(v);
  if (m !== null) {
    const now = new Date().getUTCFullYear();
    let year = now - (now % 100) + Number(m[3]);
    if (year > now + 50) year -= 100;
    return utc(year, m[2], m[1], m[4], m[5], m[6]);
  }
  m = ASCTIME.exec(v);
  if (m !== null) {
    return utc(Number(m[6]), m[1], m[2].trim(), m[3], m[4], m[5]);
  }
  return NaN;
}

/**
 * Evaluates the preconditions of a GET or HEAD request in the order of
 * RFC 9110 §13.2.2: `If-Match` (strong comparison; false → `failed`), else
 * `If-Unmodified-Since` (modified after the date → `failed`); then
 * `If-None-Match` (weak comparison; a match → `not_modified`), else
 * `If-Modified-Since` (not modified after the date → `not_modified`).
 * Invalid dates, and dates when the file has no modification time, are
 * ignored. `If-Range` is separate: see {@linkcode ifRangeAllows}.
 */
export function evaluatePreconditions(
  req: HeaderSource,
  v: Validators,
): Precondition {
  const ifMatch = req.header("if-match");
  if (ifMatch !== null) {
    if (!etagListMatches(ifMatch, v.etag, false)) return "failed";
  } else if (v.modifiedSec !== null) {
    const ius = req.header("if-unmodified-since");
    if (ius !== null) {
      const date = parseHttpDate(ius);
      if (!Number.isNaN(date) && v.modifiedSec * 1000 > date) return "failed";
    }
  }
  const ifNoneMatch = req.header("if-none-match");
  if (ifNoneMatch !== null) {
    return etagListMatches(ifNoneMatch, v.etag, true)
      ? "not_modified"
      : "proceed";
  }
  if (v.modifiedSec !== null) {
    const ims = req.header("if-modified-since");
    if (ims !== null) {
      const date = parseHttpDate(ims);
      if (!Number.isNaN(date) && v.modifiedSec * 1000 <= date) {
        return "not_modified";
      }
    }
  }
  return "proceed";
}

/**
 * True when a `Range` may be honoured given the request's `If-Range`
 * (RFC 9110 §13.1.5): no `If-Range`, an entity tag that strongly matches,
 * or an HTTP-date equal to the modification time. A weak tag, another tag,
 * another or invalid date means the whole file is sent instead.
 */
export function ifRangeAllows(value: string | null, v: Validators): boolean {
  if (value === null) return true;
  const t = value.trim();
  if (t.startsWith('"')) return v.etag !== null && t === v.etag;
  if (t.startsWith("W/")) return false;
  if (v.modifiedSec === null) return false;
  return parseHttpDate(t) === v.modifiedSec * 1000;
}

/**
 * The strong `ETag` made from a file's size and modification time, with a
 * suffix naming a precompressed coding (`"4d2-18c5f3a2b10-br"`), or null
 * when the file system gives no modification time.
 */
export function statEtag(
  size: number,
  mtime: Date | null,
  coding: string,
): string | null {
  if (mtime === null) return null;
  const tail = coding === "" ? "" : "-" + coding;
  return `"${size.toString(16)}-${
    Math.trunc(mtime.getTime()).toString(16)
  }${tail}"`;
}
