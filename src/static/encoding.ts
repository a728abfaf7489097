/**
 * `Accept-Encoding` negotiation (RFC 9110 §12.5.3) for precompressed files.
 *
 * @module
 */

import type { Variant } from "./options.ts";

const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Returns the precompressed `variants` the client accepts, best first:
 * highest q-value, ties in the server's order. A coding is acceptable when
 * listed with q > 0 (`x-gzip` counts as `gzip`), or unlisted while `*` has
 * q > 0; names are case-insensitive and a member with an invalid q-value
 * is ignored. No header, or an empty one, accepts none of them (identity
 * is sent).
 *
 * @example Usage
 * ```ts
 * import { acceptedVariants } from "./encoding.ts";
 * const variants = [{ encoding: "br", suffix: ".br" }, { encoding: "gzip", suffix: ".gz" }] as const;
 * acceptedVariants("gzip, br;q=0.5", variants).map((v) => v.encoding); // ["gzip", "br"]
 * ```
 */
export function acceptedVariants(
  header: string | null,
  variants: readonly Variant[],
): Variant[] {
  if (header === null || variants.length === 0) return [];
  const q = new Map<string, number>();
  for (const member of header.split(",")) {
    const semi = member.indexOf(";");
    let name = (semi === -1 ? member : member.slice(0, semi)).trim()
      .toLowerCase();
    if (name === "") continue;
    if (name === "x-gzip") name = "gzip";
    let weight = 1;
    if (semi !== -1) {
      const param = member.slice(semi + 1).trim();
      const eq = param.indexOf("=");
      if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== "q") {
        continue;
      }
      const value = param.slice(eq + 1).trim();
      if (!QVALUE.test(value)) continue;
      weight = Number(value);
    }
    // A repeated coding keeps its highest weight.
    q.set(name, Math.max(weight, q.get(name) ?? 0));
  }
  const star = q.get("*") ?? 0;
  const out: { v: Variant; w: number }[] = [];
  for (const v of variants) {
    const w = q.get(v.encoding) ?? star;
    if (w > 0) out.push({ v, w });
  }
  // Array.prototype.sort is stable: equal weights keep the server's order.
  out.sort((a, b) => b.w - a.w);
  return out.map((e) => e.v);
}
