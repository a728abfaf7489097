/**
 * The Palisade App every Palisade benchmark server serves: the shared
 * 200-route table plus the scenario routes, like the Hono servers.
 *
 * @module
 */

import { App, DEFAULT_LIMITS } from "../../mod.ts";
import { ROUTES, SCENARIO_ROUTES } from "../_routes.ts";
import { BIG_BODY, streamChunks } from "./_common.ts";

/**
 * Builds the benchmark App. By default it is `new App()`: every default on
 * (request ids, URL and header limits, the 30 s deadline, metrics; the access
 * log is off by default). `hardened` spells those defaults out explicitly and
 * mounts `/metrics`. `off` turns single defaults off (request ids, the
 * deadline, metrics), to measure what each one costs.
 *
 * @example Usage
 * ```ts
 * import { buildApp } from "./_palisade_app.ts";
 * const app = buildApp(false);
 * ```
 */
export function buildApp(
  hardened: boolean,
  off: { requestId?: boolean; deadline?: boolean; metrics?: boolean } = {},
): App {
  const app = off.requestId || off.deadline || off.metrics
    ? new App({
      ...(off.requestId ? { requestIdHeader: false as const } : {}),
      ...(off.deadline ? { deadlineMs: 0 } : {}),
      ...(off.metrics ? { metrics: false } : {}),
    })
    : hardened
    ? new App({
      limits: { ...DEFAULT_LIMITS },
      deadlineMs: 30_000,
      requestIdHeader: "x-request-id",
      metrics: true,
    })
    : new App();
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    if (key === "GET /") app.get("/", (ctx) => ctx.text("ok"));
    else if (key === "GET /users/:id") {
      app.get("/users/:id", (ctx) => ctx.json({ id: ctx.params.id }));
    } else if (key === "POST /json") {
      app.post("/json", async (ctx) => ctx.json(await ctx.body.json()));
    } else if (key === "GET /big") {
      app.get("/big", (ctx) => ctx.text(BIG_BODY));
    } else if (key === "GET /stream") {
      app.get("/stream", (ctx) => ctx.stream(streamChunks()));
    } else if (!SCENARIO_ROUTES.has(key)) {
      const text = (): Response => new Response(key);
      switch (route.method) {
        case "GET":
          app.get(route.path, text);
          break;
        case "POST":
          app.post(route.path, text);
          break;
        case "PUT":
          app.put(route.path, text);
          break;
        case "PATCH":
          app.patch(route.path, text);
          break;
        case "DELETE":
          app.delete(route.path, text);
          break;
      }
    }
  }
  if (hardened) app.get("/metrics", app.metrics.handler());
  return app;
}
