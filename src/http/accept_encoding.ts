/**
 * `Accept-Encoding` negotiation (RFC 9110 §12.5.3).
 *
 * @module
 */

/** A content coding Palisade can produce with `CompressionStream`. */
export type Coding = "gzip" | "deflate";

/** The outcome of {@linkcode negotiateEncoding}. */
export interface EncodingChoice {
  /** The coding to use, or null to send the representation as it is. */
  readonly coding: Coding | null;
  /**
   * The client refused `identity` (`identity;q=0`, or `*;q=0` without an
   * `identity` entry): compress even what would otherwise stay as it is.
   */
  readonly identityRefused: boolean;
}

const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;
const NONE: EncodingChoice = Object.freeze({
  coding: null,
  identityRefused: false,
});

/** The q-value of one list element's parameters, 1 when absent, NaN when invalid. */
function qualityOf(params: string): number {
  let q = 1;
  for (const param of params.split(";")) {
    const eq = param.indexOf("=");
    if (eq === -1) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== "q") continue;
    const value = param.slice(eq + 1).trim();
    q = QVALUE.test(value) ? Number(value) : NaN;
  }
  return q;
}

/**
 * Picks the content coding for a response from the request's
 * `Accept-Encoding` value and the codings the server offers, in its order
 * of preference.
 *
 * A missing header or an empty value means no coding (RFC 9110 allows any
 * coding without the header; servers send identity, as nginx and Go do).
 * Codings are matched case-insensitively, `x-gzip` as `gzip`; `*` stands
 * for every offered coding not listed; `q=0` refuses a coding. The highest
 * q-value wins, ties go to the server's order; `identity` wins only when
 * listed with a higher q-value than the best coding. Elements with an
 * invalid q-value are ignored.
 *
 * @example Usage
 * ```ts
 * import { negotiateEncoding } from "./accept_encoding.ts";
 * negotiateEncoding("deflate;q=0.5, gzip", ["gzip", "deflate"]).coding; // "gzip"
 * negotiateEncoding("*;q=0", ["gzip"]).identityRefused; // true
 * ```
 */
export function negotiateEncoding(
  header: string | null,
  offered: readonly Coding[],
): EncodingChoice {
  if (header === null) return NONE;
  let identity = -1; // -1: not listed
  let star = -1;
  const quality = new Array<number>(offered.length).fill(-1);
  let start = 0;
  while (start <= header.length) {
    let end = header.indexOf(",", start);
    if (end === -1) end = header.length;
    const element = header.slice(start, end);
    start = end + 1;
    const semi = element.indexOf(";");
    const name = (semi === -1 ? element : element.slice(0, semi)).trim()
      .toLowerCase();
    if (name === "") continue;
    const q = semi === -1 ? 1 : qualityOf(element.slice(semi + 1));
    if (Number.isNaN(q)) continue;
    if (name === "*") star = Math.max(star, q);
    else if (name === "identity") identity = Math.max(identity, q);
    else {
      const i = offered.indexOf(name === "x-gzip" ? "gzip" : name as Coding);
      if (i !== -1) quality[i] = Math.max(quality[i], q);
    }
  }
  let best = -1;
  let bestQ = 0;
  for (let i = 0; i < offered.length; i++) {
    const q = quality[i] !== -1 ? quality[i] : star !== -1 ? star : 0;
    if (q > bestQ) {
      best = i;
      bestQ = q;
    }
  }
  const identityRefused = identity === 0 || (identity === -1 && star === 0);
  const coding = best === -1 || identity > bestQ ? null : offered[best];
  if (coding === null && !identityRefused) return NONE;
  return { coding, identityRefused };
}
