/**
 * `Range: bytes=…` request header parsing (RFC 9110 §14.1.2, §14.2).
 *
 * Only a single range is ever served (206). A request for several ranges
 * gets the whole file (200), which RFC 9110 allows ("a server MAY ignore
 * the Range header field"): no `multipart/byteranges`, so no range
 * amplification (many small or overlapping ranges costing more than the
 * file) is possible.
 *
 * @module
 */

/** What to send for a request's `Range`. */
export type RangePlan =
  | { readonly kind: "whole" }
  | { readonly kind: "unsatisfiable" }
  | { readonly kind: "single"; readonly start: number; readonly end: number };

/** Most range specs looked at; a longer list is ignored (whole file). */
export const MAX_RANGES = 8;

const WHOLE: RangePlan = Object.freeze({ kind: "whole" });
const UNSATISFIABLE: RangePlan = Object.freeze({ kind: "unsatisfiable" });
const DIGITS = /^[0-9]+$/;

/**
 * Decides how to answer `Range: header` for a representation of `size`
 * bytes.
 *
 * - `whole` (send 200 with the whole file): a syntactically invalid header,
 *   another unit than `bytes`, more than one range spec (at most
 *   {@linkcode MAX_RANGES} are even parsed) with at least one satisfiable.
 * - `unsatisfiable` (416 with `Content-Range: bytes *\/size`): no spec
 *   overlaps the file (`first-pos >= size`, a zero suffix, any range of an
 *   empty file).
 * - `single` with inclusive `start`/`end`: `first-last` (last clamped to
 *   the end), `first-` (to the end) and `-suffix` (the last bytes, or the
 *   whole file when it is shorter).
 *
 * @example Usage
 * ```ts
 * import { planRange } from "./range.ts";
 * planRange("bytes=0-99", 1000); // { kind: "single", start: 0, end: 99 }
 * planRange("bytes=-100", 1000); // { kind: "single", start: 900, end: 999 }
 * planRange("bytes=1000-", 1000); // { kind: "unsatisfiable" }
 * ```
 */
export function planRange(header: string, size: number): RangePlan {
  const eq = header.indexOf("=");
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== "bytes") {
    return WHOLE;
  }
  const specs = header.slice(eq + 1).split(",");
  let count = 0;
  let single: RangePlan = UNSATISFIABLE;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === "") continue; // empty list elements are allowed
    if (++count > MAX_RANGES) return WHOLE;
    const dash = spec.indexOf("-");
    if (dash === -1) return WHOLE;
    const first = spec.slice(0, dash);
    const last = spec.slice(dash + 1);
    if (first === "") {
      if (!DIGITS.test(last)) return WHOLE;
      const suffix = Number(last);
      if (suffix > 0 && size > 0) {
        single = {
          kind: "single",
          start: suffix >= size ? 0 : size - suffix,
          end: size - 1,
        };
      }
      continue;
    }
    if (!DIGITS.test(first) || (last !== "" && !DIGITS.test(last))) {
      return WHOLE;
    }
    const start = Number(first);
    const end = last === "" ? Infinity : Number(last);
    if (end < start) return WHOLE; // invalid spec: ignore the header
    if (start < size) {
      single = { kind: "single", start, end: Math.min(end, size - 1) };
    }
  }
  if (count === 0) return WHOLE;
  if (single.kind === "unsatisfiable") return UNSATISFIABLE;
  return count === 1 ? single : WHOLE;
}
