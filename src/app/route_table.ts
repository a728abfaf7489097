/**
 * The route table: each App's route, middleware and mount definitions (a
 * {@linkcode RouteSet}), flattened once into one router whose entries carry
 * their composed chain, limits, deadline list and error renderer. Rebuilt
 * lazily after any change, in the App or in a mounted sub-app.
 *
 * @module
 */

import type { Context, Handler } from "../context/context.ts";
import { problem } from "../http/errors.ts";
import { type Limits, resolveLimits } from "../http/limits.ts";
import { hasPathPrefix } from "../router/path.ts";
import { Router } from "../router/router.ts";
import { type Chain, compose, guard, prefixRelation } from "./compose.ts";
import type { DeadlineList, InflightRegistry } from "./inflight.ts";
import { nonNegativeInt } from "../internal/validate.ts";
import type { RouteOptions } from "./options.ts";

/** Renders the 404 of a path no route matches. */
export type NotFoundHandler = (ctx: Context) => Response | Promise<Response>;

/** Renders an error thrown by a handler, middleware or hook. */
export type ErrorHandler = (
  error: unknown,
  ctx: Context,
) => Response | Promise<Response>;

/** What the lifecycle needs of a matched route. */
export interface RouteEntry {
  /** The route pattern, `""` for the fallback (no route matched). */
  readonly pattern: string;
  /** Effective limits of the route. */
  readonly limits: Readonly<Limits>;
  /** The deadline list of the route's `deadlineMs`. */
  readonly list: DeadlineList;
  /** Middleware and handlers, composed. */
  readonly chain: Chain;
  /** The error renderer in force for the route, if any App set one. */
  readonly onError: ErrorHandler | undefined;
}

interface RouteDef {
  method: string;
  pattern: string;
  limits: Partial<Limits> | undefined;
  deadlineMs: number | undefined;
  handlers: Handler[];
}

interface MiddlewareDef {
  prefix: string;
  fn: Handler;
}

/** A routed table: the router and the entry used when nothing matches. */
export interface Table {
  readonly router: Router<RouteEntry>;
  readonly fallback: RouteEntry;
}

/** What each App declares; mounted sets are flattened into their root's table. */
export class RouteSet {
  readonly routes: RouteDef[] = [];
  readonly middleware: MiddlewareDef[] = [];
  readonly mounts: { prefix: string; set: RouteSet }[] = [];
  readonly parents = new Set<RouteSet>();
  notFound: NotFoundHandler | undefined;
  onError: ErrorHandler | undefined;
  /** The built table of this set as a root; null when stale. */
  table: Table | null = null;

  constructor(
    readonly limitsOverride: Partial<Limits> | undefined,
    readonly deadlineMs: number | undefined,
  ) {}

  /**
   * Adds a route from the arguments of `app.get(path, [options], ...handlers)`.
   *
   * @throws {TypeError} naming the route when a handler, an option or the
   * pattern is invalid, so mistakes throw where the route is declared.
   */
  addRoute(
    method: string,
    pattern: string,
    rest: unknown[],
    appLimits: Readonly<Limits>,
  ): void {
    let options: RouteOptions | undefined;
    if (rest.length > 0 && typeof rest[0] !== "function") {
      options = rest.shift() as RouteOptions;
    }
    const handlers = rest as Handler[];
    const where = `Route ${method} ${pattern}`;
    if (handlers.length === 0) throw new TypeError(`${where} has no handler`);
    if (handlers.some((h) => typeof h !== "function")) {
      throw new TypeError(`${where} has a handler that is not a function`);
    }
    if (options?.limits) resolveLimits(appLimits, options.limits);
    if (options?.deadlineMs !== undefined) {
      nonNegativeInt(`deadlineMs of ${where}`, options.deadlineMs);
    }
    new Router<true>().add(method, pattern, true); // validates the pattern
    this.routes.push({
      method,
      pattern,
      limits: options?.limits,
      deadlineMs: options?.deadlineMs,
      handlers,
    });
    this.invalidate();
  }

  /**
   * Adds middleware from the arguments of `app.use([prefix], ...middleware)`.
   *
   * @throws {TypeError} when the prefix or a middleware is invalid.
   */
  addMiddleware(args: (string | Handler)[]): void {
    const prefix = typeof args[0] === "string"
      ? normalizePrefix(args.shift() as string)
      : "/";
    if (args.length === 0) {
      throw new TypeError(`Middleware for "${prefix}" is missing`);
    }
    if (args.some((fn) => typeof fn !== "function")) {
      throw new TypeError(`Middleware for "${prefix}" is not a function`);
    }
    for (const fn of args) this.middleware.push({ prefix, fn: fn as Handler });
    this.invalidate();
  }

  mount(prefix: string, set: RouteSet): void {
    if (set === this || set.#contains(this)) {
      throw new TypeError("An App cannot be mounted inside itself");
    }
    this.mounts.push({ prefix, set });
    set.parents.add(this);
    this.invalidate();
  }

  invalidate(): void {
    this.table = null;
    for (const p of this.parents) p.invalidate();
  }

  #contains(other: RouteSet): boolean {
    return this.mounts.some((m) => m.set === other || m.set.#contains(other));
  }
}

/** Joins a mount prefix and a path: `("/api", "/users")` → `"/api/users"`. */
export function joinPath(prefix: string, path: string): string {
  if (prefix === "/" || prefix === "") return path;
  return path === "/" ? prefix : prefix + path;
}

/** Validates a middleware or mount prefix and drops a trailing slash. */
export function normalizePrefix(prefix: string): string {
  if (typeof prefix !== "string" || !prefix.startsWith("/")) {
    throw new TypeError(
      `Path prefix must start with "/", got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix.length > 1 && prefix.endsWith("/")
    ? prefix.slice(0, -1)
    : prefix;
}

/** A mounted scope's renderers, for requests under its prefix. */
interface Scope {
  prefix: string;
  notFound: NotFoundHandler | undefined;
  onError: ErrorHandler | undefined;
}

/**
 * Builds the table of `root`: every route of it and of its mounted sets,
 * each with the middleware that applies to it and the nearest App's
 * renderers; plus the fallback chain (404, 405 with `Allow`, automatic
 * OPTIONS) behind the root's middleware.
 */
export function buildTable(
  root: RouteSet,
  registry: InflightRegistry,
  app: { readonly limits: Readonly<Limits>; readonly deadlineMs: number },
): Table {
  const { limits, deadlineMs } = app;
  const router = new Router<RouteEntry>();
  const scopes: Scope[] = [];
  flatten(root, {
    router,
    registry,
    scopes,
    prefix: "/",
    inherited: [],
    limits,
    deadlineMs,
    notFound: undefined,
    onError: undefined,
  });
  // Deepest prefix first, so the nearest App's renderer wins.
  scopes.sort((a, b) => b.prefix.length - a.prefix.length);
  const scopeOf = (path: string): Scope | undefined =>
    scopes.find((s) => hasPathPrefix(path, s.prefix));
  const fallbackChain = compose([
    ...root.middleware.map((m) =>
      m.prefix === "/" ? m.fn : guard(m.prefix, m.fn)
    ),
    (ctx) => fallbackResponse(router, ctx, scopeOf(ctx.path)?.notFound),
  ]);
  const hasOnError = scopes.some((s) => s.onError !== undefined);
  return {
    router,
    fallback: {
      pattern: "",
      limits,
      list: registry.list(deadlineMs),
      chain: fallbackChain,
      onError: hasOnError
        ? (error, ctx) => {
          const onError = scopeOf(ctx.path)?.onError;
          if (onError === undefined) throw error;
          return onError(error, ctx);
        }
        : undefined,
    },
  };
}

interface FlattenState {
  router: Router<RouteEntry>;
  registry: InflightRegistry;
  scopes: Scope[];
  prefix: string;
  inherited: MiddlewareDef[];
  limits: Readonly<Limits>;
  deadlineMs: number;
  notFound: NotFoundHandler | undefined;
  onError: ErrorHandler | undefined;
}

function flatten(set: RouteSet, st: FlattenState): void {
  const notFound = set.notFound ?? st.notFound;
  const onError = set.onError ?? st.onError;
  st.scopes.push({ prefix: st.prefix, notFound, onError });
  const mws = st.inherited.concat(
    set.middleware.map((m) => ({
      prefix: joinPath(st.prefix, m.prefix),
      fn: m.fn,
    })),
  );
  for (const r of set.routes) {
    const pattern = joinPath(st.prefix, r.pattern);
    const fns: Handler[] = [];
    for (const m of mws) {
      const rel = prefixRelation(pattern, m.prefix);
      if (rel === "always") fns.push(m.fn);
      else if (rel === "maybe") fns.push(guard(m.prefix, m.fn));
    }
    fns.push(...r.handlers);
    st.router.add(r.method, pattern, {
      pattern,
      limits: resolveLimits(st.limits, r.limits),
      list: st.registry.list(r.deadlineMs ?? st.deadlineMs),
      chain: compose(fns),
      onError,
    });
  }
  for (const { prefix, set: sub } of set.mounts) {
    flatten(sub, {
      ...st,
      prefix: joinPath(st.prefix, prefix),
      inherited: mws,
      limits: resolveLimits(st.limits, sub.limitsOverride),
      deadlineMs: sub.deadlineMs ?? st.deadlineMs,
      notFound,
      onError,
    });
  }
}

function fallbackResponse(
  router: Router<RouteEntry>,
  ctx: Context,
  notFound: NotFoundHandler | undefined,
): Response | Promise<Response> {
  const allowed = router.allowed(ctx.path);
  if (allowed.length === 0) {
    return notFound !== undefined
      ? notFound(ctx)
      : problem(404, `No route matches ${ctx.path}`);
  }
  const set = new Set(allowed);
  if (set.has("GET")) set.add("HEAD");
  set.add("OPTIONS");
  const allow = [...set].sort().join(", ");
  if (ctx.method === "OPTIONS") {
    return new Response(null, { status: 204, headers: { allow } });
  }
  return problem(
    405,
    `Method ${ctx.method} is not allowed for ${ctx.path}`,
    { allow },
  );
}
