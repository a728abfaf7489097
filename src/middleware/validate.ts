/**
 * `validate(target, schema)`: request validation with any Standard Schema
 * (zod 4, valibot, arktype, …).
 *
 * @module
 */

import type { Context, ValidTarget } from "../context/context.ts";
import { setValid } from "../context/internal.ts";
import type { Validator } from "../app/route_types.ts";

/**
 * A Standard Schema v1 (https://standardschema.dev): the interface zod 4,
 * valibot and arktype schemas implement. Only what `validate()` uses.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The standard properties. */
  readonly "~standard": StandardSchemaV1Props<Input, Output>;
}

/** The `~standard` properties of a {@linkcode StandardSchemaV1}. */
export interface StandardSchemaV1Props<Input = unknown, Output = Input> {
  /** The version of the standard: 1. */
  readonly version: 1;
  /** The library implementing it, e.g. `"zod"`. */
  readonly vendor: string;
  /** Validates `value`, synchronously or not. */
  readonly validate: (
    value: unknown,
  ) =>
    | StandardSchemaV1Result<Output>
    | Promise<StandardSchemaV1Result<Output>>;
  /** Inferred types; present only at the type level. */
  readonly types?: StandardSchemaV1Types<Input, Output> | undefined;
}

/** The result of a Standard Schema validation. */
export type StandardSchemaV1Result<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaV1Issue> };

/** One validation problem. */
export interface StandardSchemaV1Issue {
  /** What is wrong. */
  readonly message: string;
  /** Where: property keys, or segments holding a key. */
  readonly path?:
    | ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>
    | undefined;
}

/** The input and output types of a Standard Schema. */
export interface StandardSchemaV1Types<Input = unknown, Output = Input> {
  /** The type the schema accepts. */
  readonly input: Input;
  /** The type the schema produces. */
  readonly output: Output;
}

/** The output type of a Standard Schema. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<
  S["~standard"]["types"]
>["output"];

/** Options of {@linkcode validate}. */
export interface ValidateOptions {
  /**
   * Most issues listed in a 422 response. Default 20; the `detail` gives
   * the total. Must be a positive integer.
   */
  maxIssues?: number;
  /**
   * Longest issue message and path segment, in characters; longer ones are
   * cut and end with `…`. Default 200. Must be a positive integer.
   */
  maxMessageLength?: number;
}

/** One entry of the `issues` member of a 422 response. */
export interface ValidationIssue {
  /** The keys leading to the value, outermost first; `[]` for the value itself. */
  path: string[];
  /** What is wrong with it. */
  message: string;
}

const TARGETS: readonly ValidTarget[] = [
  "json",
  "form",
  "query",
  "params",
  "headers",
  "cookies",
];
const MAX_PATH_SEGMENTS = 32;

function positiveInteger(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(
      `Option ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/**
 * A null-prototype record of `entries`: a repeated key becomes an array of
 * its values in order. Keys `__proto__`, `constructor` and `prototype` are
 * dropped, as JSON bodies drop them.
 */
function toRecord(
  entries: Iterable<[string, unknown]>,
): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, value] of entries) {
    if (key === "__proto__" || key === "constructor" || key === "prototype") {
      continue;
    }
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

async function readTarget(ctx: Context, target: ValidTarget): Promise<unknown> {
  switch (target) {
    case "json":
      return await ctx.body.json();
    case "form":
      return toRecord(await ctx.body.form());
    case "query":
      return toRecord(ctx.query);
    case "params":
      return ctx.params;
    case "headers":
      return toRecord(ctx.req.headers);
    case "cookies":
      return toRecord(Object.entries(ctx.cookies.all()));
  }
}

function keyText(key: PropertyKey): string {
  return typeof key === "symbol" ? key.description ?? "" : String(key);
}

function issueOf(issue: StandardSchemaV1Issue, max: number): ValidationIssue {
  const path: string[] = [];
  const segments = issue?.path;
  if (Array.isArray(segments)) {
    for (const segment of segments.slice(0, MAX_PATH_SEGMENTS)) {
      const key = typeof segment === "object" && segment !== null
        ? segment.key
        : segment;
      path.push(clip(keyText(key), max));
    }
  }
  return { path, message: clip(String(issue?.message), max) };
}

function failure(
  target: ValidTarget,
  issues: ReadonlyArray<StandardSchemaV1Issue>,
  maxIssues: number,
  maxLength: number,
): Response {
  const n = issues.length;
  const listed = issues.slice(0, maxIssues).map((i) => issueOf(i, maxLength));
  let detail = `Request ${target} failed validation with ${n} issue${
    n === 1 ? "" : "s"
  }`;
  if (n > maxIssues) detail += `; the first ${maxIssues} are listed`;
  const body = {
    type: "about:blank",
    title: "Unprocessable Content",
    status: 422,
    detail,
    issues: listed,
  };
  return new Response(JSON.stringify(body), {
    status: 422,
    headers: { "content-type": "application/problem+json" },
  });
}

/**
 * Validates one part of the request with a Standard Schema v1 (zod 4,
 * valibot, arktype, …) before the handler runs, and stores the schema's
 * output for `ctx.valid(target)`.
 *
 * Targets: `"json"` (`ctx.body.json()`, with its limits and errors),
 * `"form"` (`ctx.body.form()`), `"query"` (`ctx.query`), `"params"`
 * (`ctx.params`), `"headers"` (lower-case names) and `"cookies"` (the
 * `Cookie` header, first value of a repeated name, signatures not
 * checked). Form, query, headers and cookies become a null-prototype record
 * whose repeated keys hold arrays of their values (form files stay `File`
 * objects); keys `__proto__`, `constructor` and `prototype` are dropped.
 *
 * A value that fails validation is answered 422 `application/problem+json`
 * with `issues`: `{ path: string[], message }` entries, at most
 * `maxIssues`, messages and path segments cut at `maxMessageLength`. A
 * schema that throws (or returns something that is not a result) is a
 * server bug: the error propagates and renders as a 500.
 *
 * @throws {TypeError} at factory time for an unknown target, a value that
 * is not a Standard Schema v1, or an invalid option.
 *
 * @example Usage
 * ```ts ignore
 * import { z } from "npm:zod@4";
 * import { App } from "../app/app.ts";
 * import { validate } from "./validate.ts";
 * const app = new App();
 * const Item = z.object({ name: z.string().min(1), price: z.number() });
 * app.post("/items", validate("json", Item), (ctx) => ctx.json(ctx.valid("json")));
 * ```
 */
export function validate<T extends ValidTarget, S extends StandardSchemaV1>(
  target: T,
  schema: S,
  options?: ValidateOptions,
): Validator<{ readonly [K in T]: InferOutput<S> }> {
  if (!TARGETS.includes(target)) {
    throw new TypeError(
      `validate() target must be one of ${TARGETS.join(", ")}, got ${
        String(target)
      }`,
    );
  }
  const standard = schema?.["~standard"];
  if (standard?.version !== 1 || typeof standard.validate !== "function") {
    throw new TypeError(
      `validate("${target}") schema must implement Standard Schema v1`,
    );
  }
  const maxIssues = positiveInteger("maxIssues", options?.maxIssues) || 20;
  const maxLength =
    positiveInteger("maxMessageLength", options?.maxMessageLength) || 200;

  return async function validator(ctx, next): Promise<Response> {
    const value = await readTarget(ctx, target);
    const result = await standard.validate(value);
    if (typeof result !== "object" || result === null) {
      throw new TypeError(
        `validate("${target}") schema returned ${String(result)}, not a result`,
      );
    }
    if (result.issues !== undefined) {
      if (!Array.isArray(result.issues)) {
        throw new TypeError(
          `validate("${target}") schema returned issues that are not an array`,
        );
      }
      return failure(target, result.issues, maxIssues, maxLength);
    }
    setValid(ctx, target, result.value);
    return await next();
  };
}
