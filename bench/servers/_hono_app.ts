/**
 * The Hono 4 app every Hono benchmark server serves on `Deno.serve`: the
 * shared 200-route table plus the scenario routes, like the Palisade App,
 * behind the middleware it is given.
 *
 * @module
 */

import { Hono, type MiddlewareHandler } from "npm:hono@4";
import { requestId } from "npm:hono@4/request-id";
import { bodyLimit } from "npm:hono@4/body-limit";
import { timeout } from "npm:hono@4/timeout";
import { ROUTES, SCENARIO_ROUTES } from "../_routes.ts";
import {
  BIG_BODY,
  parseServerArgs,
  readTls,
  ready,
  streamChunks,
} from "./_common.ts";

/**
 * Hono's middleware for the protections Palisade has on by default:
 * `requestId()` (keeps a valid incoming `X-Request-Id`, else a
 * `crypto.randomUUID()`, echoed on the response), `bodyLimit({ maxSize:
 * 1 MiB })` (Palisade's default `bodyBytes`) and `timeout(30_000)`
 * (Palisade's default `deadlineMs`).
 *
 * @example Usage
 * ```ts
 * import { buildHono, honoProtections } from "./_hono_app.ts";
 * const app = buildHono(honoProtections());
 * ```
 */
export function honoProtections(): MiddlewareHandler[] {
  return [requestId(), bodyLimit({ maxSize: 1 << 20 }), timeout(30_000)];
}

/**
 * Builds the benchmark Hono app with `middleware` mounted on every route
 * (before the routes, so it runs first).
 *
 * @example Usage
 * ```ts
 * import { buildHono } from "./_hono_app.ts";
 * const app = buildHono([]);
 * ```
 */
export function buildHono(middleware: MiddlewareHandler[]): Hono {
  const app = new Hono();
  if (middleware.length > 0) app.use(...middleware);
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    if (key === "GET /") app.get("/", (c) => c.text("ok"));
    else if (key === "GET /users/:id") {
      app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    } else if (key === "POST /json") {
      app.post("/json", async (c) => c.json(await c.req.json()));
    } else if (key === "GET /big") {
      app.get("/big", (c) => c.text(BIG_BODY));
    } else if (key === "GET /stream") {
      app.get("/stream", (c) => c.body(ReadableStream.from(streamChunks())));
    } else if (!SCENARIO_ROUTES.has(key)) {
      app.on(route.method, route.path, (c) => c.text(key));
    }
  }
  return app;
}

/**
 * Serves `app` with `Deno.serve` on the port and TLS flags of `Deno.args`
 * and prints the harness's readiness line.
 *
 * @example Usage
 * ```ts ignore
 * import { buildHono, serveHono } from "./_hono_app.ts";
 * serveHono(buildHono([]));
 * ```
 */
export function serveHono(app: Hono): void {
  const args = parseServerArgs();
  Deno.serve({
    hostname: "127.0.0.1",
    port: args.port,
    ...readTls(args),
    onListen: (addr) => ready(addr.port),
  }, app.fetch);
}
