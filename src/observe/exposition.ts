/**
 * The Prometheus text exposition format 0.0.4: escaping label values,
 * formatting sample values, and the response that carries an exposition.
 *
 * @module
 */

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabel(value: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x5c || c === 0x22 || c === 0x0a) {
      out += value.slice(start, i) +
        (c === 0x5c ? "\\\\" : c === 0x22 ? '\\"' : "\\n");
      start = i + 1;
    }
  }
  return start === 0 ? value : out + value.slice(start);
}

/** Formats a sample value as Prometheus (Go `strconv.ParseFloat`) reads it. */
export function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** An exposition as `text/plain; version=0.0.4`, never cached. */
export function expositionResponse(text: string): Response {
  return new Response(text, {
    headers: {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}
