/**
 * The App: routes and middleware behind one standard fetch handler, the same
 * on every transport. Definitions live in a route set, requests in the
 * lifecycle; the App is the user-facing API over both.
 *
 * @module
 */

import type { Context, DefaultState, Handler } from "../context/context.ts";
import type { Limits, RejectReason } from "../http/limits.ts";
import { Metrics } from "../observe/metrics.ts";
import { joinMetricsGroup } from "../observe/metrics_group.ts";
import { pathOf, queryOf } from "../router/path.ts";
import type {
  RejectedRequest,
  RequestSource,
  Servable,
  ServeInfo,
} from "../transport/contract.ts";
import { calledByDenoServe } from "../internal/deno.ts";
import { drainOnSignals } from "./deno_serve.ts";
import { fetchRequest } from "./fetch.ts";
import { Lifecycle } from "./lifecycle.ts";
import { LOCAL_INFO } from "./request_info.ts";
import type { RouteAdder } from "./route_types.ts";
import {
  type AppOptions,
  type AppSettings,
  resolveAppOptions,
} from "./options.ts";
import {
  buildTable,
  type ErrorHandler,
  normalizePrefix,
  type NotFoundHandler,
  RouteSet,
  type Table,
} from "./route_table.ts";

let setOf: (app: App<object>) => RouteSet;
let managedImpl: (app: App<object>) => void;

/**
 * Marks `app` as served by `serve()`, which handles signals itself: the App
 * then never installs the `deno serve` drain on its own.
 */
export function markServed(app: App<object>): void {
  managedImpl(app);
}

/**
 * An HTTP application: routes, middleware and hooks behind a standard fetch
 * handler. Serve it with `serve(app)`, `Deno.serve(app.fetch)`, or `export
 * default app` for `deno serve` and Deno Deploy.
 *
 * @typeParam S The type of `ctx.state` in every handler.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * type State = { user?: { id: string } };
 * const app = new App<State>({ limits: { bodyBytes: 1 << 20 }, deadlineMs: 30_000 });
 * app.get("/users/:id", (ctx) => ctx.json({ id: ctx.params.id, by: ctx.state.user?.id }));
 * app.post("/users", async (ctx) => ctx.json(await ctx.body.json(), { status: 201 }));
 * const res = await app.request("/users/7");
 * await res.json(); // { id: "7" }
 * ```
 */
export class App<S extends object = DefaultState> implements Servable {
  /** The metrics registry; mount `app.metrics.handler()` to expose it. */
  readonly metrics: Metrics;
  readonly #settings: AppSettings;
  readonly #lifecycle: Lifecycle;
  readonly #set: RouteSet;
  /** Whether the App still has to learn who serves it (`deno serve`?). */
  #probe = true;

  static {
    setOf = (app) => app.#set;
    managedImpl = (app) => {
      app.#probe = false;
    };
  }

  /** Creates an App. @throws {TypeError} naming an invalid option. */
  constructor(options: AppOptions = {}) {
    this.#settings = resolveAppOptions(options);
    this.metrics = new Metrics();
    this.#lifecycle = new Lifecycle(this.#settings, this.metrics);
    this.#set = new RouteSet(
      options.limits,
      this.#settings.deadlineExplicit ? this.#settings.deadlineMs : undefined,
    );
    this.fetch = this.fetch.bind(this);
    this.handle = this.handle.bind(this);
  }

  /** The App-wide limits in force; transports read the URL and header ones. */
  get limits(): Readonly<Limits> {
    return this.#settings.limits;
  }

  /** The request-id header (lower case); false when ids are off. */
  get requestIdHeader(): string | false {
    return this.#settings.idHeader;
  }

  /** Requests whose response has not completed, open streams included. */
  get inflight(): number {
    return this.#lifecycle.registry.size;
  }

  /** Requests whose response was handed to the transport in full. */
  get completed(): number {
    return this.#lifecycle.completed;
  }

  /** Requests cut off before their last byte (deadline, shutdown, client gone). */
  get aborted(): number {
    return this.#lifecycle.aborted;
  }

  #add(method: string, path: string, rest: unknown[]): this {
    this.#set.addRoute(method, path, rest, this.#settings.limits);
    return this;
  }

  /**
   * Registers a GET route (HEAD is answered from it automatically).
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().get("/users/:id", (ctx) => ctx.text(ctx.params.id));
   * ```
   */
  readonly get: RouteAdder<S, this> = (path: string, ...rest: unknown[]) =>
    this.#add("GET", path, rest);

  /**
   * Registers a POST route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().post("/items", async (ctx) => ctx.json(await ctx.body.json(), { status: 201 }));
   * ```
   */
  readonly post: RouteAdder<S, this> = (path: string, ...rest: unknown[]) =>
    this.#add("POST", path, rest);

  /**
   * Registers a PUT route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().put("/items/:id", (ctx) => ctx.empty());
   * ```
   */
  readonly put: RouteAdder<S, this> = (path: string, ...rest: unknown[]) =>
    this.#add("PUT", path, rest);

  /**
   * Registers a PATCH route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().patch("/items/:id", (ctx) => ctx.empty());
   * ```
   */
  readonly patch: RouteAdder<S, this> = (path: string, ...rest: unknown[]) =>
    this.#add("PATCH", path, rest);

  /**
   * Registers a DELETE route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().delete("/items/:id", (ctx) => ctx.empty());
   * ```
   */
  readonly delete: RouteAdder<S, this> = (path: string, ...rest: unknown[]) =>
    this.#add("DELETE", path, rest);

  /**
   * Registers a HEAD route, taking precedence over the automatic one.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().head("/file", (ctx) => ctx.empty(200));
   * ```
   */
  readonly head: RouteAdder<S, this> = (path: string, ...rest: unknown[]) =>
    this.#add("HEAD", path, rest);

  /**
   * Registers an OPTIONS route, replacing the automatic 204 with `Allow`.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().options("/items", (ctx) => ctx.empty(204));
   * ```
   */
  readonly options: RouteAdder<S, this> = (
    path: string,
    ...rest: unknown[]
  ) => this.#add("OPTIONS", path, rest);

  /**
   * Registers a route for every method.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().all("/echo", (ctx) => ctx.text(ctx.method));
   * ```
   */
  readonly all: RouteAdder<S, this> = (path: string, ...rest: unknown[]) =>
    this.#add("ALL", path, rest);

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
  use(...middleware: Handler<S>[]): this;
  /** Adds middleware for paths under `prefix`. */
  use(prefix: string, ...middleware: Handler<S>[]): this;
  use(...args: (string | Handler<S>)[]): this {
    this.#set.addMiddleware(args as (string | Handler)[]);
    return this;
  }

  /**
   * Mounts `app`'s routes under `prefix`. The sub-app's middleware applies to
   * its own routes only, after this App's middleware; its explicit limits and
   * deadline apply to its routes; its `notFound` and `onError` apply under
   * its prefix (else this App's do). Routes added to it later are picked up.
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
  route<T extends object>(prefix: string, app: App<T>): this {
    this.#set.mount(normalizePrefix(prefix), setOf(app));
    return this;
  }

  /**
   * Renders the 404 answer of paths no route matches (405 and OPTIONS stay
   * automatic). Mounted sub-apps inherit it unless they set their own.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().notFound((ctx) => ctx.json({ error: "nope" }, { status: 404 }));
   * ```
   */
  notFound(handler: (ctx: Context<S>) => Response | Promise<Response>): this {
    if (typeof handler !== "function") {
      throw new TypeError("The notFound handler is not a function");
    }
    this.#set.notFound = handler as NotFoundHandler;
    this.#set.invalidate();
    return this;
  }

  /**
   * Renders errors thrown by handlers and middleware, `HttpError`s included
   * (by default they render as problem+json, anything else as a generic
   * 500). Mounted sub-apps inherit it unless they set their own. An error it
   * throws itself is rendered the default way. Unknown errors still reach
   * the `onError` observer hook of the App options.
   *
   * @example Usage
   * ```ts
   * import { App, HttpError } from "@palisade/server";
   * new App().onError((error, ctx) =>
   *   error instanceof HttpError ? error.toResponse() : ctx.text("sorry", { status: 500 }));
   * ```
   */
  onError(
    handler: (error: unknown, ctx: Context<S>) => Response | Promise<Response>,
  ): this {
    if (typeof handler !== "function") {
      throw new TypeError("The onError handler is not a function");
    }
    this.#set.onError = handler as ErrorHandler;
    this.#set.invalidate();
    return this;
  }

  #table(): Table {
    return this.#set.table ??= buildTable(
      this.#set,
      this.#lifecycle.registry,
      this.#settings,
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
    if (this.#probe) {
      this.#probe = false;
      if (info !== undefined && calledByDenoServe()) {
        drainOnSignals(this, {
          graceMs: this.#settings.graceMs,
          onDrained: joinMetricsGroup(this.metrics, "deno-serve"),
        });
      }
    }
    return fetchRequest(
      this.#lifecycle,
      this.#table(),
      this.#settings.limits,
      req,
      info,
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
    return this.#lifecycle.run(
      this.#table(),
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
    const registry = this.#lifecycle.registry;
    registry.hold();
    try {
      return await this.fetch(req, LOCAL_INFO);
    } finally {
      registry.release();
    }
  }

  /**
   * Records a rejection a transport made before any request existed (the h1
   * engine's 408, 431): counts it, calls `onReject`, writes its access-log
   * line. Called by transports: `app.reject("header_timeout", 408, detail)`.
   */
  reject(
    reason: RejectReason,
    status: number,
    detail: string,
    request?: RejectedRequest,
  ): string | undefined {
    return this.#lifecycle.rejectedByTransport(reason, status, detail, request);
  }

  /**
   * Graceful drain, called by servers when a shutdown starts: later
   * responses carry `Connection: close`, `ctx.sse` streams end cleanly,
   * WebSockets get 1001; the rest go on until {@linkcode App.abortAll}.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().drain();
   * ```
   */
  drain(reason: unknown = shutdownReason()): void {
    this.#lifecycle.drain(reason);
  }

  /** Resolves when no request is in flight and no WebSocket is open. */
  idle(): Promise<void> {
    return this.#lifecycle.idle();
  }

  /**
   * Forced shutdown: aborts every in-flight request's `ctx.signal` with
   * `reason`, answers those still waiting with 503, cuts open streams (the
   * client sees an incomplete transfer) and closes WebSockets. Returns how
   * many requests were cut.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * new App().abortAll(); // 0
   * ```
   */
  abortAll(reason: unknown = shutdownReason()): number {
    return this.#lifecycle.abortAll(reason);
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
