/**
 * Route params typed from a route pattern at compile time:
 * `ParamsOf<"/users/:id/posts/:postId">` is `{ id: string; postId: string }`
 * and a trailing `*` adds `"*"`. The types recurse once per `/` segment
 * (tail position), so checking a 200-route App stays cheap.
 *
 * @module
 */

/** The `/`-separated segments of a pattern, as a union. */
export type PathSegments<P extends string> = P extends
  `${infer Head}/${infer Rest}` ? Head | PathSegments<Rest>
  : P;

/** The param name a segment declares: `:id` → `"id"`, `*` → `"*"`, else never. */
export type ParamName<S extends string> = S extends `:${infer Name}` ? Name
  : S extends "*" ? "*"
  : never;

/**
 * The params object of a route pattern: one string per `:name` segment, and
 * `"*"` for a trailing wildcard. A pattern only known as `string` gives a
 * string record.
 *
 * @example Usage
 * ```ts
 * import type { ParamsOf } from "./params.ts";
 * const p: ParamsOf<"/users/:id/files/*"> = { id: "7", "*": "a/b.txt" };
 * ```
 */
export type ParamsOf<P extends string> = string extends P
  ? Readonly<Record<string, string>>
  : { readonly [K in ParamName<PathSegments<P>>]: string };
