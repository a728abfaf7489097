/**
 * Hono 4 on `Deno.serve`, with the shared 100-route table and the scenario
 * routes. No hardening: this is how Hono runs out of the box.
 *
 * Run: `deno run -A bench/servers/hono.ts --port=0`
 *
 * @module
 */

import { Hono } from "npm:hono@4";
import { ROUTES, SCENARIO_ROUTES } from "../_routes.ts";
import { parseServerArgs, readTls, ready, streamChunks } from "./_common.ts";

const app = new Hono();
for (const route of ROUTES) {
  const key = `${route.method} ${route.path}`;
  if (key === "GET /") app.get("/", (c) => c.text("ok"));
  else if (key === "GET /users/:id") {
    app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  } else if (key === "POST /json") {
    app.post("/json", async (c) => c.json(await c.req.json()));
  } else if (key === "GET /stream") {
    app.get("/stream", (c) => c.body(ReadableStream.from(streamChunks())));
  } else if (!SCENARIO_ROUTES.has(key)) {
    app.on(route.method, route.path, (c) => c.text(key));
  }
}

const args = parseServerArgs();
Deno.serve({
  hostname: "127.0.0.1",
  port: args.port,
  ...readTls(args),
  onListen: (addr) => ready(addr.port),
}, app.fetch);
