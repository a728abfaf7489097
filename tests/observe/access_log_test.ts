import assert from "node:assert/strict";
import { accessLog } from "../../src/observe/access_log.ts";

const ctx = { requestId: "req-1", method: "GET", route: "/users/:id" };

Deno.test("access log: one JSON line with the documented fields", () => {
  const lines: string[] = [];
  const hook = accessLog({ sink: (line) => lines.push(line) });
  const before = Date.now();
  hook(
    ctx,
    new Response("hello", { status: 201, headers: { "content-length": "5" } }),
    { durationMs: 1.23456789 },
  );
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes("\n"));
  const entry = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(entry), [
    "time",
    "id",
    "method",
    "route",
    "status",
    "durationMs",
    "bytes",
  ]);
  assert.ok(Date.parse(entry.time) >= before - 1);
  assert.equal(entry.time, new Date(entry.time).toISOString());
  assert.equal(entry.id, "req-1");
  assert.equal(entry.method, "GET");
  assert.equal(entry.route, "/users/:id");
  assert.equal(entry.status, 201);
  assert.equal(entry.durationMs, 1.235);
  assert.equal(entry.bytes, 5);
});

Deno.test("access log: bytes is null when the length is unknown or invalid", () => {
  const lines: string[] = [];
  const hook = accessLog({ sink: (line) => lines.push(line) });
  hook(ctx, new Response(new ReadableStream()), { durationMs: 0 });
  hook(ctx, new Response(null, { headers: { "content-length": "x" } }), {
    durationMs: 0,
  });
  assert.deepEqual(lines.map((l) => JSON.parse(l).bytes), [null, null]);
});

Deno.test("access log: a route with quotes or line breaks stays one line of valid JSON", () => {
  const lines: string[] = [];
  const hook = accessLog({ sink: (line) => lines.push(line) });
  hook({ ...ctx, route: '/a"\n\u2028b' }, new Response(null), {
    durationMs: 0,
  });
  assert.ok(!lines[0].includes("\n"));
  assert.equal(JSON.parse(lines[0]).route, '/a"\n\u2028b');
});

Deno.test("access log: a failing sink never throws into the request", () => {
  const errors: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    let calls = 0;
    const hook = accessLog({
      sink: () => {
        calls++;
        throw new Error("disk full");
      },
    });
    hook(ctx, new Response(null), { durationMs: 0 });
    hook(ctx, new Response(null), { durationMs: 0 });
    assert.equal(calls, 2);
    assert.equal(errors.length, 1);
  } finally {
    console.error = original;
  }
});

Deno.test("access log: defaults to console.log", () => {
  const logged: unknown[][] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => logged.push(args);
  try {
    accessLog()(ctx, new Response(null), { durationMs: 0 });
  } finally {
    console.log = original;
  }
  assert.equal(logged.length, 1);
  assert.equal(JSON.parse(logged[0][0] as string).id, "req-1");
});

Deno.test("access log: an App with the hook logs one line per request, errors included", async () => {
  const { App } = await import("../../src/app/app.ts");
  const lines: string[] = [];
  const app = new App({
    onResponse: accessLog({ sink: (l) => lines.push(l) }),
  });
  app.get("/users/:id", (ctx) => ctx.json({ id: ctx.params.id }));
  await (await app.request("/users/zq9z?secret=1", {
    headers: { "x-request-id": "r1" },
  })).text();
  await (await app.request("/nope")).text();
  assert.equal(lines.length, 2);
  const [a, b] = lines.map((l) => JSON.parse(l));
  assert.equal(a.id, "r1");
  assert.equal(a.method, "GET");
  assert.equal(a.route, "/users/:id");
  assert.equal(a.status, 200);
  assert.ok(a.durationMs >= 0);
  assert.ok(!lines[0].includes("zq9z") && !lines[0].includes("secret"));
  assert.equal(b.route, "");
  assert.equal(b.status, 404);
});

Deno.test("access log: bytes counts the UTF-8 size of text sent by Context helpers", async () => {
  const { App } = await import("../../src/app/app.ts");
  const lines: string[] = [];
  const app = new App({
    onResponse: accessLog({ sink: (l) => lines.push(l) }),
  });
  app.get("/t", (c) => c.text("héllo 🌍"));
  app.get("/j", (c) => c.json({ a: "ü" }));
  await (await app.request("/t")).text();
  await (await app.request("/j")).text();
  assert.deepEqual(lines.map((l) => JSON.parse(l).bytes), [
    new TextEncoder().encode("héllo 🌍").length,
    new TextEncoder().encode('{"a":"ü"}').length,
  ]);
});
