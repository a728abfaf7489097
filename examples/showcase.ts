/**
 * The Palisade showcase: a small JSON API with every hardening default on.
 *
 *   npx -y deno@2.9.6 task start        # http://127.0.0.1:8000
 *
 * Try:
 *   curl 127.0.0.1:8000/items
 *   curl '127.0.0.1:8000/items?tag=tools'
 *   curl -X POST 127.0.0.1:8000/items -H 'content-type: application/json' -d '{"name":"saw","tag":"tools"}'
 *   curl -X POST 127.0.0.1:8000/feedback -d 'name=ada&message=hello'
 *   curl -N 127.0.0.1:8000/count
 *   curl -N 127.0.0.1:8000/events
 *   curl 127.0.0.1:8000/metrics
 *
 * @module
 */

import { accessLog, App, HttpError, serve } from "../mod.ts";

interface Item {
  id: number;
  name: string;
  tag: string;
}

const items = new Map<number, Item>([
  [1, { id: 1, name: "hammer", tag: "tools" }],
  [2, { id: 2, name: "apple", tag: "food" }],
]);
let nextId = 3;

const app = new App({
  limits: { bodyBytes: 64 * 1024 },
  deadlineMs: 10_000,
  accessLog: accessLog(),
});

app.get("/", (ctx) =>
  ctx.json({
    name: "Palisade showcase",
    routes: [
      "/items",
      "/items/:id",
      "/feedback",
      "/count",
      "/events",
      "/metrics",
      "/healthz",
    ],
  }));

app.get("/items", (ctx) => {
  const tag = ctx.query.get("tag");
  const list = [...items.values()].filter((i) => tag === null || i.tag === tag);
  return ctx.json(list);
});

app.get("/items/:id", (ctx) => {
  const item = items.get(Number(ctx.params.id));
  if (item === undefined) {
    throw new HttpError(404, `Item ${ctx.params.id} does not exist`);
  }
  return ctx.json(item);
});

app.post("/items", async (ctx) => {
  const input = await ctx.body.json<Partial<Item>>();
  if (typeof input?.name !== "string" || input.name.length === 0) {
    throw new HttpError(422, "Field name must be a non-empty string");
  }
  const item = { id: nextId++, name: input.name, tag: String(input.tag ?? "") };
  items.set(item.id, item);
  return ctx.json(item, {
    status: 201,
    headers: { location: `/items/${item.id}` },
  });
});

app.post("/feedback", async (ctx) => {
  const form = await ctx.body.form();
  return ctx.json({
    thanks: form.get("name") ?? "anonymous",
    length: String(form.get("message") ?? "").length,
  });
});

app.get("/count", (ctx) =>
  ctx.stream((async function* () {
    for (let i = 1; i <= 5; i++) {
      yield `${i}\n`;
      await new Promise((r) => setTimeout(r, 200));
    }
  })()));

app.get("/events", { deadlineMs: 0 }, (ctx) =>
  ctx.sse(async (sse) => {
    while (!sse.signal.aborted) {
      await sse.send({
        event: "tick",
        data: { now: new Date().toISOString() },
      });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }, { heartbeatMs: 15_000 }));

app.get("/metrics", app.metrics.handler());

const server = serve(app, {
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 8000),
  onListen: ({ hostname, port }) =>
    console.log(`Listening on http://${hostname}:${port}/`),
});
app.get("/healthz", server.health());
