/**
 * The App: routes and middleware behind one standard fetch handler, the same
 * on every transport.
 *
 * @module
 */

import { type Chain, compose, guard, prefixRelation } from "./compose.ts";
import {
  Context,
  type ContextHost,
  type Handler,
  type RouteConfig,
} from "../context/context.ts";
import { type DeadlineList, InflightRegistry } from "./inflight.ts";
import { HttpError, problem } from "../http/errors.ts";
import { checkHeaderLimits } from "../http/header_limits.ts";
import {
  DEFAULT_LIMITS,
  type Limits,
  type RejectReason,
  resolveLimits,
} from "../http/limits.ts";
import { Metrics } from "../observe/metrics.ts";
import { isValidRequestId, newRequestId } from "../http/request_id.ts";
import {
  resolveClientAddr,
  type TrustProxyOptions,
} from "../net/client_addr.ts";
import { normalizePath, pathOf, queryOf } from "../router/path.ts";
import { Router } from "../router/router.ts";
import type {
  RequestSource,
  Servable,
  ServeInfo,
} from "../transport/contract.ts";

/** Per-route settings, given between the path and the handlers. */
export interface RouteOptions {
  /**
   * Limits for this route, merged over the App's. Only the body, JSON, form
   * and query limits apply per route: the URL and header limits are checked
   * before routing, with the App's values.
   */
  limits?: Partial<Limits>;
  /** Deadline of this route in ms, overriding the App's; 0 = none. */
  deadlineMs?: number;
}

/** What the `onReject` hook receives. */
export interface RejectInfo {
  /** Machine-readable reason, also the `reason` label of `palisade_rejections_total`. */
  reason: RejectReason;
  /** Status sent to the client. */
  status: number;
  /** The message sent to the client. */
  detail: string;
  /** The request's Context, or null when rejected before routing. */
  ctx: Context | null;
}

/** Observability hooks of an App; each costs nothing when unset. */
export interface AppHooks {
  /** Called when a request has been routed, before the middleware chain runs. */
  onRequest?: (ctx: Context) => void;
  /** Called when a response is complete (streamed bodies: when they end). */
  onResponse?: (
    ctx: Context,
    res: Response,
    info: { durationMs: number },
  ) => void;
  /**
   * Called with every error that rendered as a 500, and with errors thrown by
   * the other hooks. Default: `console.error`.
   */
  onError?: (error: unknown, ctx: Context | null) => void;
  /** Called for every limit, protocol and deadline rejection. */
  onReject?: (info: RejectInfo) => void;
}

/** Options of {@linkcode App}. */
export interface AppOptions extends AppHooks {
  /** Request limits; see {@linkcode Limits} for each default and its status. */
  limits?: Partial<Limits>;
  /**
   * Deadline of every request in ms. Default 30 000; 0 = none. At the deadline
   * `ctx.signal` aborts with a `TimeoutError`, a client still waiting gets 503,
   * and a started stream is ended.
   */
  deadlineMs?: number;
  /**
   * Header carrying the request id. Default `"x-request-id"`: a valid incoming
   * value (1–200 printable ASCII characters) is kept, otherwise one is
   * generated; it is echoed on every response. `false` turns ids off.
   */
  requestIdHeader?: string | false;
  /**
   * Trust `Forwarded` / `X-Forwarded-For` from these proxy addresses for
   * `ctx.remote`. Default: trust nobody (the socket peer is the client).
   */
  trustProxy?: TrustProxyOptions;
  /** Record Prometheus metrics in `app.metrics`. Default true. */
  metrics?: boolean;
}

interface RouteDef {
  method: string;
  pattern: string;
  options: RouteOptions | undefined;
  handlers: Handler[];
}

interface MiddlewareDef {
  prefix: string;
  fn: Handler;
}

interface RouteEntry extends RouteConfig {
  readonly chain: Chain;
}

const LOCAL_INFO: ServeInfo = {
  remoteAddr: { hostname: "127.0.0.1", port: 0 },
};

/** Epoch ms at which `performance.now()` was 0. */
const TIME_ORIGIN = performance.timeOrigin;

function validateDeadline(ms: number, where: string): number {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new TypeError(
      `${where} deadlineMs must be a non-negative integer, got ${String(ms)}`,
    );
  }
  return ms;
}

function joinPath(prefix: string, path: string): string {
  if (prefix === "/" || prefix === "") return path;
  return path === "/" ? prefix : prefix + path;
}

function normalizePrefix(prefix: string): string {
  if (!prefix.startsWith("/")) {
    throw new TypeError(`Path prefix must start with "/", got "${prefix}"`);
  }
  return prefix.length > 1 && prefix.endsWith("/")
    ? prefix.slice(0, -1)
    : prefix;
}

/**
 * An HTTP application: routes, middleware and hooks behind a standard fetch
 * handler. Serve it with `serve(app)`, `Deno.serve(app.fetch)`, or `export
 * default app` for `deno serve` and Deno Deploy.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * const app = new App({ limits: { bodyBytes: 1 << 20 }, deadlineMs: 30_000 });
 * app.get("/users/:id", (ctx) => ctx.json({ id: ctx.params.id }));
 * app.post("/users", async (ctx) => ctx.json(await ctx.body.json(), { status: 201 }));
 * const res = await app.request("/users/7");
 * await res.json(); // { id: "7" }
 * ```
 */
export class App implements Servable {
  /** The metrics registry; mount `app.metrics.handler()` to expose it. */
  readonly metrics: Metrics;
  /** Number of requests completed normally (streams: when they ended). */
  completed = 0;
  #limits: Readonly<Limits>;
  #limitsOverride: Partial<Limits> | undefined;
  #deadlineMs: number;
  #deadlineExplicit: boolean;
  #idHeader: string | false;
  #trust: TrustProxyOptions | undefined;
  #record: boolean;
  #hooks: AppHooks;
  #routes: RouteDef[] = [];
  #middleware: MiddlewareDef[] = [];
  #mounts: { prefix: string; app: App }[] = [];
  #parents = new Set<App>();
  #router: Router<RouteEntry> | null = null;
  #fallback: RouteEntry | null = null;
  #registry = new InflightRegistry();
  #draining = false;
  #defaultList: DeadlineList;
  #host: ContextHost;

  /**
   * Creates an App.
   *
   * @throws {TypeError} when a limit or `deadlineMs` is invalid, naming it.
   */
  constructor(options: AppOptions = {}) {
    this.#limitsOverride = options.limits;
    this.#limits = resolveLimits(DEFAULT_LIMITS, options.limits);
    this.#deadlineExplicit = options.deadlineMs !== undefined;
    this.#deadlineMs = validateDeadline(options.deadlineMs ?? 30_000, "App");
    this.#idHeader = options.requestIdHeader === undefined
      ? "x-request-id"
      : options.requestIdHeader && options.requestIdHeader.toLowerCase();
    this.#trust = options.trustProxy;
    this.#record = options.metrics !== false;
    this.#hooks = {
      onRequest: options.onRequest,
      onResponse: options.onResponse,
      onError: options.onError,
      onReject: options.onReject,
    };
    this.metrics = new Metrics();
    this.#defaultList = this.#registry.list(this.#deadlineMs);
    this.#host = {
      expire: (ctx) => this.#expire(ctx),
      streamEnded: (ctx, error) => this.#streamEnded(ctx, error),
      reject: (reason, status, detail, ctx) =>
        this.#reject(reason, status, detail, ctx),
      metrics: this.#record ? this.metrics : undefined,
      remote: (ctx, peer) =>
        this.#trust === undefined
          ? peer
          : resolveClientAddr(peer, (n) => ctx.header(n), this.#trust),
    };
    this.fetch = this.fetch.bind(this);
    this.handle = this.handle.bind(this);
  }

  /**
   * The App-wide limits in force (defaults merged with the `limits` option).
   * Transports read the URL and header limits from here.
   */
  get limits(): Readonly<Limits> {
    return this.#limits;
  }

  /** Requests whose response has not completed, open streams included. */
  get inflight(): number {
    return this.#registry.size;
  }

  #add(
    method: string,
    path: string,
    rest: (RouteOptions | Handler)[],
  ): this {
    let options: RouteOptions | undefined;
    if (rest.length > 0 && typeof rest[0] !== "function") {
      options = rest.shift() as RouteOptions;
    }
    const handlers = rest as Handler[];
    if (handlers.length === 0) {
      throw new TypeError(`Route ${method} ${path} has no handler`);
    }
    for (const h of handlers) {
      if (typeof h !== "function") {
        throw new TypeError(
          `Route ${method} ${path} has a handler that is not a function`,
        );
      }
    }
    if (options?.limits) resolveLimits(this.#limits, options.limits);
    if (options?.deadlineMs !== undefined) {
      validateDeadline(options.deadlineMs, `Route ${method} ${path}`);
    }
    // Validate the pattern now, so mistakes throw where the route is declared.
    new Router<true>().add(method, path, true);
    this.#routes.push({ method, pattern: path, options, handlers });
    this.#invalidate();
    return this;
  }

  /**
   * Registers a GET route (HEAD is answered from it automatically).
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().get("/health", (ctx) => ctx.text("ok"));
   * ```
   */
  get(path: string, ...rest: (RouteOptions | Handler)[]): this {
    return this.#add("GET", path, rest);
  }

  /**
   * Registers a POST route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().post("/items", async (ctx) => ctx.json(await ctx.body.json(), { status: 201 }));
   * ```
   */
  post(path: string, ...rest: (RouteOptions | Handler)[]): this {
    return this.#add("POST", path, rest);
  }

  /**
   * Registers a PUT route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().put("/items/:id", (ctx) => ctx.empty());
   * ```
   */
  put(path: string, ...rest: (RouteOptions | Handler)[]): this {
    return this.#add("PUT", path, rest);
  }

  /**
   * Registers a PATCH route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().patch("/items/:id", (ctx) => ctx.empty());
   * ```
   */
  patch(path: string, ...rest: (RouteOptions | Handler)[]): this {
    return this.#add("PATCH", path, rest);
  }

  /**
   * Registers a DELETE route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().delete("/items/:id", (ctx) => ctx.empty());
   * ```
   */
  delete(path: string, ...rest: (RouteOptions | Handler)[]): this {
    return this.#add("DELETE", path, rest);
  }

  /**
   * Registers a HEAD route, taking precedence over the automatic one.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().head("/file", (ctx) => ctx.empty(200));
   * ```
   */
  head(path: string, ...rest: (RouteOptions | Handler)[]): this {
    return this.#add("HEAD", path, rest);
  }

  /**
   * Registers an OPTIONS route, replacing the automatic 204 with `Allow`.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().options("/items", (ctx) => ctx.empty(204));
   * ```
   */
  options(path: string, ...rest: (RouteOptions | Handler)[]): this {
    return this.#add("OPTIONS", path, rest);
  }

  /**
   * Registers a route for every method.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().all("/echo", (ctx) => ctx.text(ctx.method));
   * ```
   */
  all(path: string, ...rest: (RouteOptions | Handler)[]): this {
    return this.#add("ALL", path, rest);
  }

  /**
   * Adds middleware for every request, or for paths under `prefix` (the
   * prefix itself and everything below it, after path normalisation).
   * Middleware runs in the order it was added, around every route whenever it
   * was registered, and around the 404/405/OPTIONS answers.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.use(async (ctx, next) => {
   *   const res = await next();
   *   res.headers.set("x-frame-options", "DENY");
   *   return res;
   * });
   * app.use("/admin", (ctx, next) =>
   *   ctx.header("authorization") ? next() : ctx.text("no", { status: 401 }));
   * ```
   */
  use(prefixOrMiddleware: string | Handler, middleware?: Handler): this {
    let prefix = "/";
    let fn: Handler;
    if (typeof prefixOrMiddleware === "string") {
      prefix = normalizePrefix(prefixOrMiddleware);
      if (typeof middleware !== "function") {
        throw new TypeError(`Middleware for "${prefix}" is not a function`);
      }
      fn = middleware;
    } else {
      fn = prefixOrMiddleware;
      if (typeof fn !== "function") {
        throw new TypeError("Middleware is not a function");
      }
    }
    this.#middleware.push({ prefix, fn });
    this.#invalidate();
    return this;
  }

  /**
   * Mounts `app`'s routes under `prefix`. The sub-app's middleware applies to
   * its own routes only, after this App's middleware; its explicit limits and
   * deadline apply to its routes. Routes added to it later are picked up.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const api = new App();
   * api.get("/users", (ctx) => ctx.json([]));
   * const app = new App();
   * app.route("/api", api); // GET /api/users
   * ```
   */
  route(prefix: string, app: App): this {
    if (app === this || app.#contains(this)) {
      throw new TypeError("An App cannot be mounted inside itself");
    }
    this.#mounts.push({ prefix: normalizePrefix(prefix), app });
    app.#parents.add(this);
    this.#invalidate();
    return this;
  }

  #contains(other: App): boolean {
    return this.#mounts.some((m) => m.app === other || m.app.#contains(other));
  }

  #invalidate(): void {
    this.#router = null;
    for (const p of this.#parents) p.#invalidate();
  }

  #build(): Router<RouteEntry> {
    const router = new Router<RouteEntry>();
    const top = this.#middleware;
    this.#flatten(this, router, "/", [], this.#limits, this.#deadlineMs);
    const fallbackChain = compose([
      ...top.map((m) => (m.prefix === "/" ? m.fn : guard(m.prefix, m.fn))),
      (ctx) => this.#fallbackResponse(ctx),
    ]);
    this.#fallback = {
      pattern: "",
      limits: this.#limits,
      list: this.#defaultList,
      chain: fallbackChain,
    };
    this.#router = router;
    return router;
  }

  #flatten(
    root: App,
    router: Router<RouteEntry>,
    prefix: string,
    inherited: MiddlewareDef[],
    limits: Readonly<Limits>,
    deadlineMs: number,
  ): void {
    const mws = inherited.concat(
      this.#middleware.map((m) => ({
        prefix: joinPath(prefix, m.prefix),
        fn: m.fn,
      })),
    );
    for (const r of this.#routes) {
      const pattern = joinPath(prefix, r.pattern);
      const chainFns: Handler[] = [];
      for (const m of mws) {
        const rel = prefixRelation(pattern, m.prefix);
        if (rel === "always") chainFns.push(m.fn);
        else if (rel === "maybe") chainFns.push(guard(m.prefix, m.fn));
      }
      chainFns.push(...r.handlers);
      router.add(r.method, pattern, {
        pattern,
        limits: resolveLimits(limits, r.options?.limits),
        list: root.#registry.list(r.options?.deadlineMs ?? deadlineMs),
        chain: compose(chainFns),
      });
    }
    for (const { prefix: at, app: sub } of this.#mounts) {
      sub.#flatten(
        root,
        router,
        joinPath(prefix, at),
        mws,
        resolveLimits(limits, sub.#limitsOverride),
        sub.#deadlineExplicit ? sub.#deadlineMs : deadlineMs,
      );
    }
  }

  #fallbackResponse(ctx: Context): Response {
    const router = this.#router!;
    const allowed = router.allowed(ctx.path);
    if (allowed.length === 0) {
      return problem(404, `No route matches ${ctx.path}`);
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

  /**
   * The standard fetch handler: pass it to `Deno.serve`, or export the App as
   * default for `deno serve` and Deno Deploy. Checks the URL and header limits,
   * normalises the path, routes, and runs the chain under the deadline.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App().get("/", (ctx) => ctx.text("ok"));
   * const res = await app.fetch(new Request("http://localhost/"));
   * res.status; // 200
   * ```
   */
  fetch(req: Request, info?: ServeInfo): Response | Promise<Response> {
    const url = req.url;
    const limits = this.#limits;
    let start = url.indexOf("//");
    start = start === -1 ? 0 : url.indexOf("/", start + 2);
    if (start === -1) start = url.length;
    if (url.length - start > limits.urlBytes) {
      return this.#early(
        "url_too_long",
        414,
        `Request target exceeds the urlBytes limit of ${limits.urlBytes} bytes`,
        req,
        null,
      );
    }
    const headerCheck = checkHeaderLimits(
      req.headers,
      limits.headerCount,
      limits.headerBytes,
    );
    if (headerCheck === 1) {
      return this.#early(
        "too_many_headers",
        431,
        `Request has more than the headerCount limit of ${limits.headerCount} header fields`,
        req,
        null,
      );
    }
    if (headerCheck === 2) {
      return this.#early(
        "headers_too_large",
        431,
        `Request header fields exceed the headerBytes limit of ${limits.headerBytes} bytes`,
        req,
        null,
      );
    }
    const q = url.indexOf("?", start);
    return this.#dispatch(
      req,
      null,
      info,
      req.method,
      q === -1 ? url.slice(start) : url.slice(start, q),
      q === -1 ? "" : url.slice(q + 1),
    );
  }

  /**
   * Handles a request parsed by a transport (the h1 engine) without building
   * a `Request` unless something asks for one. The transport has already
   * enforced the URL and header limits.
   *
   * @example Usage
   * ```ts ignore
   * // Called by transports; apps use fetch() or serve().
   * app.handle(source, { remoteAddr: { hostname: "127.0.0.1", port: 5000 } });
   * ```
   */
  handle(src: RequestSource, info: ServeInfo): Response | Promise<Response> {
    const target = src.target;
    return this.#dispatch(
      null,
      src,
      info,
      src.method,
      pathOf(target),
      queryOf(target),
    );
  }

  /**
   * Sends `input` (a path like `"/users/1"`, a URL or a Request) through the
   * App in process, without a network. For tests.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App().get("/", (ctx) => ctx.text("ok"));
   * const res = await app.request("/");
   * await res.text(); // "ok"
   * ```
   */
  async request(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    const req = input instanceof Request
      ? (init ? new Request(input, init) : input)
      : new Request(
        typeof input === "string" && input.startsWith("/")
          ? "http://localhost" + input // keep "//x" a path, not a host
          : new URL(input, "http://localhost"),
        init,
      );
    this.#registry.hold();
    try {
      return await this.fetch(req, LOCAL_INFO);
    } finally {
      this.#registry.release();
    }
  }

  #early(
    reason: RejectReason,
    status: number,
    detail: string,
    req: Request | null,
    src: RequestSource | null,
  ): Response {
    this.#reject(reason, status, detail, null);
    const res = problem(status, detail);
    const idHeader = this.#idHeader;
    if (idHeader !== false) {
      res.headers.set(idHeader, this.#requestId(idHeader, req, src));
    }
    return res;
  }

  #requestId(
    idHeader: string,
    req: Request | null,
    src: RequestSource | null,
  ): string {
    const incoming = req !== null
      ? req.headers.get(idHeader)
      : src!.header(idHeader);
    return incoming !== null && isValidRequestId(incoming)
      ? incoming
      : newRequestId();
  }

  #dispatch(
    req: Request | null,
    src: RequestSource | null,
    info: ServeInfo | undefined,
    method: string,
    rawPath: string,
    query: string,
  ): Response | Promise<Response> {
    const router = this.#router ?? this.#build();
    let path: string;
    try {
      path = normalizePath(rawPath);
    } catch (e) {
      if (e instanceof HttpError) {
        return this.#early("bad_path", e.status, e.message, req, src);
      }
      throw e;
    }
    let head = false;
    let match = router.match(method, path);
    if (match === null && method === "HEAD") {
      match = router.match("GET", path);
      head = match !== null;
    }
    let entry: RouteEntry;
    let params: Record<string, string>;
    if (match === null) {
      entry = this.#fallback!;
      params = Object.create(null);
    } else {
      entry = match.value;
      params = match.params;
    }
    const ctx = new Context(
      this.#host,
      req,
      src,
      info,
      method,
      path,
      query,
      params,
      entry,
    );
    const idHeader = this.#idHeader;
    if (idHeader !== false) ctx.requestId = this.#requestId(idHeader, req, src);
    const list = entry.list;
    // One clock read serves the deadline and the duration metric.
    const now = performance.now();
    ctx._start = now;
    if (list.ms > 0) ctx.deadline = Math.round(TIME_ORIGIN + now) + list.ms;
    if (this.#record) this.metrics.active++;
    if (head) ctx._phase = 3;
    let res: Response | Promise<Response>;
    try {
      this.#hooks.onRequest?.(ctx);
      res = entry.chain(ctx);
    } catch (e) {
      res = this.#errorResponse(ctx, e);
    }
    if (!(res instanceof Promise)) return this.#respond(ctx, res);
    this.#registry.add(list, ctx);
    return new Promise<Response>((resolve) => {
      ctx._resolve = resolve;
      res.then(
        (r) => this.#respond(ctx, r),
        (e) => this.#respond(ctx, this.#errorResponse(ctx, e)),
      );
    });
  }

  #errorResponse(ctx: Context, error: unknown): Response {
    if (error instanceof HttpError) return error.toResponse();
    this.#reportError(error, ctx);
    return problem(500);
  }

  /**
   * Sends `error` to `onError`, or to `console.error` when no hook is set or
   * the hook itself throws: a failing hook must never fail a request or
   * become an unhandled rejection that ends the process.
   */
  #reportError(error: unknown, ctx: Context | null): void {
    const onError = this.#hooks.onError;
    if (onError !== undefined) {
      try {
        onError(error, ctx);
        return;
      } catch (hookError) {
        console.error("Palisade: the onError hook threw", hookError);
      }
    }
    console.error("Palisade: unhandled error in a request", error);
  }

  /** Settles `ctx` with `res` unless the deadline or a shutdown already did. */
  #respond(ctx: Context, res: unknown): Response {
    const head = ctx._phase === 3;
    if (ctx._phase === 1 || ctx._phase === 2) {
      // Answered already (deadline or forced shutdown): drop this response.
      if (res instanceof Response) res.body?.cancel().catch(() => {});
      return res as Response;
    }
    if (!(res instanceof Response)) {
      this.#reportError(
        new TypeError(
          `Handler for ${ctx.method} ${ctx.route || ctx.path} returned ${
            res === null ? "null" : typeof res
          }, not a Response`,
        ),
        ctx,
      );
      res = problem(500);
    }
    let out = res as Response;
    ctx._phase = 1;
    const idHeader = this.#idHeader;
    if (idHeader !== false || this.#draining) {
      try {
        this.#stamp(out, ctx.requestId);
      } catch {
        // Immutable headers (Response.redirect, Response.error): copy once.
        out = new Response(out.body, out);
        this.#stamp(out, ctx.requestId);
      }
    }
    if (head && out.body !== null) {
      out.body.cancel().catch(() => {});
      out = new Response(null, out);
    }
    const stream = ctx._stream;
    if (stream !== null && out.body === null) {
      // A HEAD answer, or middleware replaced the stream with a bodiless
      // response: nobody will read the stream, so end it now.
      stream.finish(undefined);
    }
    const resolve = ctx._resolve;
    if (stream === null || out.body === null) this.#complete(ctx, out);
    else {
      ctx._status = out.status;
      if (ctx._list === null) this.#registry.add(ctx._config.list, ctx);
    }
    if (resolve !== null) resolve(out);
    return out;
  }

  /** Adds the request id and, while draining, `Connection: close`. */
  #stamp(res: Response, requestId: string): void {
    if (this.#idHeader !== false) res.headers.set(this.#idHeader, requestId);
    if (this.#draining) res.headers.set("connection", "close");
  }

  /**
   * Marks `ctx` finished: metrics, hooks, unread body, registry. Counts it
   * in `completed` unless it was cut off by a forced shutdown.
   */
  #complete(ctx: Context, res: Response | null, aborted = false): void {
    ctx._phase = 2;
    ctx._detach();
    this.#registry.remove(ctx);
    if (!aborted) this.completed++;
    const status = res !== null ? res.status : ctx._status;
    const onResponse = this.#hooks.onResponse;
    if (this.#record || onResponse !== undefined) {
      const durationMs = performance.now() - ctx._start;
      if (this.#record) {
        this.metrics.active--;
        this.metrics.record(ctx.method, ctx.route, status, durationMs / 1000);
      }
      if (onResponse !== undefined) {
        try {
          onResponse(ctx, res ?? new Response(null, { status }), {
            durationMs,
          });
        } catch (e) {
          this.#reportError(e, ctx);
        }
      }
    }
    const body = ctx._bodyIfUsed;
    if (body !== undefined) body.cancel();
    else if (ctx.method !== "GET" && ctx.method !== "HEAD") {
      const stream = ctx._rawBody;
      if (stream !== null && !stream.locked) stream.cancel().catch(() => {});
    }
  }

  #streamEnded(ctx: Context, error?: unknown): void {
    if (ctx._phase === 2) return;
    if (ctx._phase === 0 || ctx._phase === 3) {
      // The stream ended before the response was handed out (client gone,
      // or middleware read the body): nothing is left to track, so the
      // response completes when it is handed out.
      if (error !== undefined) ctx._abort(error);
      ctx._stream = null;
      return;
    }
    if (error !== undefined) ctx._abort(error);
    this.#complete(ctx, null);
  }

  #expire(ctx: Context): void {
    if (ctx._phase === 2) return;
    const reason = new DOMException(
      `Request exceeded its deadline of ${ctx._config.list.ms} ms`,
      "TimeoutError",
    );
    ctx._abort(reason);
    if (this.#record) this.metrics.deadlineExceeded();
    this.#reject("deadline", 503, reason.message, ctx);
    if (ctx._phase === 1) {
      ctx._stream?.finish(reason);
      this.#complete(ctx, null);
      return;
    }
    const res = problem(503, reason.message);
    this.#stamp(res, ctx.requestId);
    this.#complete(ctx, res);
    ctx._resolve?.(res);
  }

  #reject(
    reason: RejectReason,
    status: number,
    detail: string,
    ctx: Context | null,
  ): void {
    if (this.#record) this.metrics.reject(reason);
    const onReject = this.#hooks.onReject;
    if (onReject !== undefined) {
      try {
        onReject({ reason, status, detail, ctx });
      } catch (e) {
        this.#reportError(e, ctx);
      }
    }
  }

  /**
   * Records a rejection made by a transport before any request existed (for
   * example the h1 engine's 408 or 431): counts it and calls `onReject`.
   *
   * @example Usage
   * ```ts ignore
   * app.reject("header_timeout", 408, "Request head not received within headerTimeoutMs of 10000 ms");
   * ```
   */
  reject(reason: RejectReason, status: number, detail: string): void {
    this.#reject(reason, status, detail, null);
  }

  /**
   * Graceful drain: tells every open `ctx.stream` / `ctx.sse` response to
   * finish (its writer's signal aborts with `reason`) and ends it cleanly,
   * and marks every later response with `Connection: close`.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.drain(); // servers call this on shutdown
   * ```
   */
  drain(reason: unknown = shutdownReason()): void {
    this.#draining = true;
    this.#registry.forEach((item) => {
      const ctx = item as Context;
      if (ctx._phase === 1) ctx._stream?.finish(reason);
    });
  }

  /**
   * Resolves when no request is in flight.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * await new App().idle();
   * ```
   */
  idle(): Promise<void> {
    return this.#registry.idle();
  }

  /**
   * Forced shutdown: aborts every in-flight request's `ctx.signal` with
   * `reason`, answers those still waiting with 503, ends open streams.
   * Returns how many requests were aborted.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().abortAll(); // 0
   * ```
   */
  abortAll(reason: unknown = shutdownReason()): number {
    let n = 0;
    this.#registry.forEach((item) => {
      const ctx = item as Context;
      if (ctx._phase === 2) return;
      n++;
      ctx._abort(reason);
      if (ctx._phase === 1) {
        ctx._stream?.finish(reason);
        this.#complete(ctx, null, true);
        return;
      }
      const res = problem(503, "Server is shutting down");
      this.#stamp(res, ctx.requestId);
      this.#complete(ctx, res, true);
      ctx._resolve?.(res);
    });
    return n;
  }
}

/**
 * The abort reason used for requests cut off by a forced shutdown: an
 * `AbortError` DOMException whose message says the server is shutting down.
 *
 * @example Usage
 * ```ts
 * import { shutdownReason } from "@palisade/server";
 * shutdownReason().message; // "Server is shutting down"
 * ```
 */
export function shutdownReason(): DOMException {
  return new DOMException("Server is shutting down", "AbortError");
}
