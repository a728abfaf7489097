/**
 * The types of the route registration methods: params typed from the path,
 * and the outputs of `validate()` steps flowing to the handlers after them.
 * Each overload is checked once per call with tail-recursive pattern types,
 * so a 200-route App stays cheap to type-check.
 *
 * @module
 */

import type { Handler, Middleware, ValidMap } from "../context/context.ts";
import type { ParamsOf } from "../router/params.ts";
import type { RouteOptions } from "./options.ts";

/**
 * A handler or middleware step of a route that may add validated outputs
 * (`validate()` middleware) for the steps after it; see {@linkcode Validator}.
 */
export type Step<S, P, In extends ValidMap, Out extends ValidMap> =
  & Handler<S, P, In>
  & { readonly "~validated"?: Out };

/**
 * A middleware that validates part of the request and makes the output
 * available to later handlers as `ctx.valid(target)`, typed.
 */
export type Validator<Out extends ValidMap> = Middleware & {
  readonly "~validated"?: Out;
};

/**
 * The route registration methods (`app.get`, `app.post`, …): a path, optional
 * {@linkcode RouteOptions}, then one or more handlers. `ctx.params` is typed
 * from the path (`"/users/:id"` gives `{ id: string }`, a trailing `*` gives
 * `"*"`), and `ctx.valid(target)` from `validate()` steps before the handler.
 */
export interface RouteAdder<S, A> {
  /** A route with one handler. */
  <Path extends string>(path: Path, handler: Handler<S, ParamsOf<Path>>): A;
  /** A route with one step (middleware or validator) and a handler. */
  <Path extends string, V1 extends ValidMap = Record<never, never>>(
    path: Path,
    step1: Step<S, ParamsOf<Path>, Record<never, never>, V1>,
    handler: Handler<S, ParamsOf<Path>, V1>,
  ): A;
  /** A route with two steps and a handler. */
  <
    Path extends string,
    V1 extends ValidMap = Record<never, never>,
    V2 extends ValidMap = Record<never, never>,
  >(
    path: Path,
    step1: Step<S, ParamsOf<Path>, Record<never, never>, V1>,
    step2: Step<S, ParamsOf<Path>, V1, V2>,
    handler: Handler<S, ParamsOf<Path>, V1 & V2>,
  ): A;
  /** A route with three steps and a handler. */
  <
    Path extends string,
    V1 extends ValidMap = Record<never, never>,
    V2 extends ValidMap = Record<never, never>,
    V3 extends ValidMap = Record<never, never>,
  >(
    path: Path,
    step1: Step<S, ParamsOf<Path>, Record<never, never>, V1>,
    step2: Step<S, ParamsOf<Path>, V1, V2>,
    step3: Step<S, ParamsOf<Path>, V1 & V2, V3>,
    handler: Handler<S, ParamsOf<Path>, V1 & V2 & V3>,
  ): A;
  /** A route with options and one handler. */
  <Path extends string>(
    path: Path,
    options: RouteOptions,
    handler: Handler<S, ParamsOf<Path>>,
  ): A;
  /** A route with options, one step and a handler. */
  <Path extends string, V1 extends ValidMap = Record<never, never>>(
    path: Path,
    options: RouteOptions,
    step1: Step<S, ParamsOf<Path>, Record<never, never>, V1>,
    handler: Handler<S, ParamsOf<Path>, V1>,
  ): A;
  /** A route with options, two steps and a handler. */
  <
    Path extends string,
    V1 extends ValidMap = Record<never, never>,
    V2 extends ValidMap = Record<never, never>,
  >(
    path: Path,
    options: RouteOptions,
    step1: Step<S, ParamsOf<Path>, Record<never, never>, V1>,
    step2: Step<S, ParamsOf<Path>, V1, V2>,
    handler: Handler<S, ParamsOf<Path>, V1 & V2>,
  ): A;
  /** A route with any number of handlers (validated outputs untyped). */
  <Path extends string>(
    path: Path,
    ...handlers: Handler<S, ParamsOf<Path>>[]
  ): A;
  /** A route with options and any number of handlers. */
  <Path extends string>(
    path: Path,
    options: RouteOptions,
    ...handlers: Handler<S, ParamsOf<Path>>[]
  ): A;
}
