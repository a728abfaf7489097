/**
 * Peeks at the static body Deno keeps for `new Response(string |
 * Uint8Array)` (and `Response.json`), without consuming it, so middleware
 * can learn a body's size without reading a stream.
 *
 * @module
 */

// Deno keeps such a body as a static value until someone reads `res.body`.
// The symbol is looked up by description; when a Deno version changes this,
// the lookup fails and every body counts as a stream of unknown length.
const RESPONSE = Object.getOwnPropertySymbols(new Response("")).find((s) =>
  s.description === "response"
);

interface StaticBody {
  body: unknown;
  consumed: boolean;
}

/**
 * The unconsumed static body of `res` (a string or bytes), or undefined for
 * a stream, a consumed body or no body. Read `res.headers` first: Deno
 * builds the inner body of a string response lazily, together with its
 * headers.
 *
 * @example Usage
 * ```ts
 * import { staticBody } from "./response_body.ts";
 * const res = new Response("hello");
 * res.headers;
 * staticBody(res); // "hello"
 * ```
 */
export function staticBody(res: Response): string | Uint8Array | undefined {
  if (RESPONSE === undefined) return undefined;
  const inner =
    (res as unknown as Record<symbol, { body?: unknown }>)[RESPONSE];
  const body = inner?.body as { streamOrStatic?: unknown } | null | undefined;
  const sos = body?.streamOrStatic as StaticBody | undefined;
  if (
    sos === undefined || sos === null || sos instanceof ReadableStream ||
    sos.consumed !== false
  ) return undefined;
  const value = sos.body;
  return typeof value === "string" || value instanceof Uint8Array
    ? value
    : undefined;
}
