import assert from "node:assert/strict";
import { App, HttpError } from "../../mod.ts";
import type { Context } from "../../mod.ts";
import {
  denoServe,
  hasCompleteResponse,
  parseResponse,
  rawExchange,
} from "../_helpers.ts";

function adminApp(): App {
  const app = new App();
  app.use(
    "/admin",
    (ctx, next) =>
      ctx.header("authorization") === "Bearer ok"
        ? next()
        : ctx.text("denied", { status: 401 }),
  );
  app.get("/admin", (ctx) => ctx.text("admin home"));
  app.get("/admin/users", (ctx) => ctx.text("admin users"));
  app.get("/:section", (ctx) => ctx.text(`section ${ctx.params.section}`));
  app.get(
    "/:section/users",
    (ctx) => ctx.text(`users of ${ctx.params.section}`),
  );
  return app;
}

Deno.test("routes by method, params, wildcard and reports the pattern", async () => {
  const app = new App();
  app.get(
    "/users/:id",
    (ctx) => ctx.json({ id: ctx.params.id, route: ctx.route }),
  );
  app.post("/users", (ctx) => ctx.text("created", { status: 201 }));
  app.put("/users/:id", (ctx) => ctx.text(`put ${ctx.params.id}`));
  app.patch("/users/:id", (ctx) => ctx.text(`patch ${ctx.params.id}`));
  app.delete("/users/:id", (ctx) => ctx.empty());
  app.all("/any", (ctx) => ctx.text(ctx.method));
  app.get("/files/*", (ctx) => ctx.text(ctx.params["*"]));

  assert.deepEqual(await (await app.request("/users/42")).json(), {
    id: "42",
    route: "/users/:id",
  });
  assert.equal((await app.request("/users", { method: "POST" })).status, 201);
  assert.equal(
    await (await app.request("/users/1", { method: "PUT" })).text(),
    "put 1",
  );
  assert.equal(
    await (await app.request("/users/1", { method: "PATCH" })).text(),
    "patch 1",
  );
  assert.equal(
    (await app.request("/users/1", { method: "DELETE" })).status,
    204,
  );
  assert.equal(
    await (await app.request("/any", { method: "PATCH" })).text(),
    "PATCH",
  );
  assert.equal(
    await (await app.request("/files/a/b/c.txt")).text(),
    "a/b/c.txt",
  );
  assert.equal(await (await app.request("/files/caf%C3%A9")).text(), "café");
});

Deno.test("params are a null-prototype object", async () => {
  const app = new App();
  let seen: Record<string, string> | undefined;
  app.get("/p/:name", (ctx) => {
    seen = ctx.params;
    return ctx.empty();
  });
  await app.request("/p/__proto__");
  assert.equal(Object.getPrototypeOf(seen), null);
  assert.equal(seen!.name, "__proto__");
  assert.equal(({} as Record<string, unknown>).name, undefined);
});

Deno.test("unknown path is 404 problem+json", async () => {
  const app = new App().get("/", (ctx) => ctx.text("ok"));
  const res = await app.request("/nope");
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.equal(body.status, 404);
  assert.equal(body.title, "Not Found");
});

Deno.test("known path with another method is 405 with Allow", async () => {
  const app = new App();
  app.get("/items", (ctx) => ctx.json([]));
  app.post("/items", (ctx) => ctx.empty(201));
  const res = await app.request("/items", { method: "DELETE" });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
  assert.equal((await res.json()).status, 405);
});

Deno.test("HEAD is answered from GET with the same headers and no body", async () => {
  const app = new App();
  app.get("/doc", (ctx) => ctx.text("hello", { headers: { etag: '"1"' } }));
  const get = await app.request("/doc");
  const head = await app.request("/doc", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("etag"), '"1"');
  assert.equal(
    head.headers.get("content-type"),
    get.headers.get("content-type"),
  );
  assert.equal(await head.text(), "");
  assert.equal(await get.text(), "hello");
});

Deno.test("an explicit HEAD route wins over the automatic one", async () => {
  const app = new App();
  app.get("/x", (ctx) => ctx.text("get"));
  app.head("/x", (ctx) => ctx.empty(200, { headers: { "x-head": "1" } }));
  const res = await app.request("/x", { method: "HEAD" });
  assert.equal(res.headers.get("x-head"), "1");
});

Deno.test("OPTIONS is 204 with Allow unless an OPTIONS route exists", async () => {
  const app = new App();
  app.get("/a", (ctx) => ctx.text("a"));
  app.put("/a", (ctx) => ctx.text("a"));
  app.get("/b", (ctx) => ctx.text("b"));
  app.options("/b", (ctx) => ctx.text("custom", { status: 200 }));
  const a = await app.request("/a", { method: "OPTIONS" });
  assert.equal(a.status, 204);
  assert.equal(a.headers.get("allow"), "GET, HEAD, OPTIONS, PUT");
  const b = await app.request("/b", { method: "OPTIONS" });
  assert.equal(await b.text(), "custom");
});

Deno.test("middleware runs onion-style in registration order, also when added after routes", async () => {
  const app = new App();
  const order: string[] = [];
  app.get("/", (ctx) => {
    order.push("handler");
    return ctx.text("ok");
  });
  app.use(async (_ctx, next) => {
    order.push("a in");
    const res = await next();
    order.push("a out");
    res.headers.set("x-a", "1");
    return res;
  });
  app.use(async (_ctx, next) => {
    order.push("b in");
    const res = await next();
    order.push("b out");
    return res;
  });
  const res = await app.request("/");
  assert.deepEqual(order, ["a in", "b in", "handler", "b out", "a out"]);
  assert.equal(res.headers.get("x-a"), "1");
});

Deno.test("global middleware also wraps 404 and 405 answers", async () => {
  const app = new App();
  app.use(async (_ctx, next) => {
    const res = await next();
    res.headers.set("x-mw", "1");
    return res;
  });
  app.get("/only", (ctx) => ctx.text("ok"));
  assert.equal((await app.request("/nope")).headers.get("x-mw"), "1");
  assert.equal(
    (await app.request("/only", { method: "POST" })).headers.get("x-mw"),
    "1",
  );
});

Deno.test("middleware can short-circuit and can pass state", async () => {
  const app = new App();
  app.use(async (ctx, next) => {
    ctx.state.user = "ada";
    return await next();
  });
  app.use("/private", (ctx) => ctx.text("stop", { status: 403 }));
  app.get("/me", (ctx) => ctx.text(String(ctx.state.user)));
  app.get("/private/x", (ctx) => ctx.text("never"));
  assert.equal(await (await app.request("/me")).text(), "ada");
  assert.equal((await app.request("/private/x")).status, 403);
});

Deno.test("calling next() twice is a 500 reported to onError", async () => {
  const errors: unknown[] = [];
  const app = new App({ onError: (e) => errors.push(e) });
  app.use(async (_ctx, next) => {
    await next();
    return await next();
  });
  app.get("/", (ctx) => ctx.text("ok"));
  assert.equal((await app.request("/")).status, 500);
  assert.match(String(errors[0]), /next\(\) called more than once/);
});

const BYPASS = [
  ["/admin", 401],
  ["/%61dmin", 401],
  ["/%61%64%6D%69%6E/users", 401],
  ["//admin", 401],
  ["/admin//users", 401],
  ["/admin%2F..", 400],
  ["/admin%2fusers", 400],
  ["/admin%5Cusers", 400],
  ["/admin%00", 400],
] as const;

Deno.test("prefix middleware on /admin cannot be skipped by path tricks (app.request)", async () => {
  const app = adminApp();
  for (const [path, status] of BYPASS) {
    const res = await app.request(path);
    assert.equal(res.status, status, path);
    await res.body?.cancel();
  }
  // The URL parser of `Request` resolves dot segments before the App sees them.
  for (
    const path of ["/./admin", "/x/../admin", "/admin/./users", "/%2e/admin"]
  ) {
    const res = await app.request(path);
    assert.equal(res.status, 401, path);
    await res.body?.cancel();
  }
  const ok = await app.request("/%61dmin", {
    headers: { authorization: "Bearer ok" },
  });
  assert.equal(await ok.text(), "admin home");
  assert.equal(
    await (await app.request("/other/users")).text(),
    "users of other",
  );
});

Deno.test("prefix middleware on /admin cannot be skipped by path tricks (Deno.serve, raw bytes)", async () => {
  const server = denoServe(adminApp());
  try {
    const shapes: [string, number[]][] = [
      ...BYPASS.map(([p, s]) => [p, [s]] as [string, number[]]),
      // Deno.serve may resolve dot segments itself (then the middleware runs)
      // or pass them through (then the App refuses them): never a bypass.
      ["/./admin", [400, 401]],
      ["/x/../admin", [400, 401]],
      ["/%2e/admin", [400, 401]],
      ["/x/%2e%2E/admin", [400, 401]],
      ["/admin/../admin/users", [400, 401]],
      ["/admin\\users", [400, 401]],
    ];
    for (const [path, allowed] of shapes) {
      const text = await rawExchange(
        server.port,
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      );
      const res = parseResponse(text);
      assert.ok(allowed.includes(res.status), `${path} -> ${res.status}`);
      assert.ok(!res.body.includes("admin"), `${path} leaked ${res.body}`);
    }
  } finally {
    await server.close();
  }
});

Deno.test("app.fetch works directly with Deno.serve over keep-alive", async () => {
  const app = new App().get(
    "/hello/:name",
    (ctx) => ctx.text(`hi ${ctx.params.name}`),
  );
  const server = denoServe(app);
  try {
    const text = await rawExchange(
      server.port,
      "GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/b HTTP/1.1\r\nHost: x\r\n\r\n",
      {
        until: (t) =>
          (t.match(/HTTP\/1\.1 200/g) ?? []).length === 2 &&
          hasCompleteResponse(t.slice(t.lastIndexOf("HTTP/1.1 200"))),
      },
    );
    assert.match(text, /hi a/);
    assert.match(text, /hi b/);
  } finally {
    await server.close();
  }
});

Deno.test("sub-apps mount under a prefix with scoped middleware", async () => {
  const api = new App();
  api.use(async (_ctx, next) => {
    const res = await next();
    res.headers.set("x-api", "1");
    return res;
  });
  api.get("/", (ctx) => ctx.text("api root"));
  api.get(
    "/users/:id",
    (ctx) => ctx.json({ id: ctx.params.id, route: ctx.route }),
  );
  const app = new App();
  app.use(async (_ctx, next) => {
    const res = await next();
    res.headers.set("x-root", "1");
    return res;
  });
  app.get("/", (ctx) => ctx.text("root"));
  app.route("/api", api);
  api.get("/late", (ctx) => ctx.text("added after mount"));

  const user = await app.request("/api/users/5");
  assert.deepEqual(await user.json(), { id: "5", route: "/api/users/:id" });
  assert.equal(user.headers.get("x-api"), "1");
  assert.equal(user.headers.get("x-root"), "1");
  assert.equal(await (await app.request("/api")).text(), "api root");
  assert.equal(
    await (await app.request("/api/late")).text(),
    "added after mount",
  );
  const root = await app.request("/");
  assert.equal(root.headers.get("x-api"), null);
  assert.equal(root.headers.get("x-root"), "1");
  assert.throws(
    () => api.route("/loop", app),
    /cannot be mounted inside itself/,
  );
});

Deno.test("sub-app limits and deadline apply to its routes only", async () => {
  const up = new App({ limits: { bodyBytes: 4 } });
  up.post("/", async (ctx) => ctx.text(await ctx.body.text()));
  const app = new App();
  app.post("/", async (ctx) => ctx.text(await ctx.body.text()));
  app.route("/small", up);
  assert.equal(
    (await app.request("/small", { method: "POST", body: "12345" })).status,
    413,
  );
  assert.equal(
    (await app.request("/", { method: "POST", body: "12345" })).status,
    200,
  );
});

Deno.test("HttpError renders problem+json with status, detail and headers", async () => {
  const app = new App();
  app.get("/", () => {
    throw new HttpError(429, "Rate limit of 10 requests per second exceeded", {
      headers: { "retry-after": "1" },
    });
  });
  const res = await app.request("/");
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "1");
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.deepEqual(await res.json(), {
    type: "about:blank",
    title: "Too Many Requests",
    status: 429,
    detail: "Rate limit of 10 requests per second exceeded",
  });
  assert.throws(() => new HttpError(200), RangeError);
});

Deno.test("unknown errors are a generic 500 without message or stack, sent to onError", async () => {
  const seen: unknown[] = [];
  const app = new App({ onError: (e, ctx) => seen.push([e, ctx?.route]) });
  app.get("/sync", () => {
    throw new Error("secret database password");
  });
  app.get("/async", async () => {
    await Promise.resolve();
    throw new Error("secret token");
  });
  for (const path of ["/sync", "/async"]) {
    const res = await app.request(path);
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.ok(!text.includes("secret"), text);
    assert.ok(!text.includes("at "), text);
    assert.deepEqual(JSON.parse(text), {
      type: "about:blank",
      title: "Internal Server Error",
      status: 500,
    });
  }
  assert.equal(seen.length, 2);
  assert.equal((seen[0] as [Error, string])[1], "/sync");
});

Deno.test("a handler returning a non-Response is a 500 with a developer error", async () => {
  const seen: unknown[] = [];
  const app = new App({ onError: (e) => seen.push(e) });
  app.get(
    "/",
    (() => ({ not: "a response" })) as unknown as (ctx: Context) => Response,
  );
  const res = await app.request("/");
  assert.equal(res.status, 500);
  assert.ok(seen[0] instanceof TypeError);
  assert.match(
    (seen[0] as Error).message,
    /GET \/ returned object, not a Response/,
  );
});

Deno.test("response helpers set types and statuses", async () => {
  const app = new App();
  app.get(
    "/json",
    (ctx) => ctx.json({ a: 1 }, { status: 201, headers: { "x-y": "z" } }),
  );
  app.get("/text", (ctx) => ctx.text("t"));
  app.get("/html", (ctx) => ctx.html("<b>h</b>"));
  app.get("/empty", (ctx) => ctx.empty());
  const json = await app.request("/json");
  assert.equal(json.status, 201);
  assert.equal(json.headers.get("content-type"), "application/json");
  assert.equal(json.headers.get("x-y"), "z");
  assert.equal(
    (await app.request("/text")).headers.get("content-type"),
    "text/plain;charset=UTF-8",
  );
  assert.equal(
    (await app.request("/html")).headers.get("content-type"),
    "text/html; charset=utf-8",
  );
  assert.equal((await app.request("/empty")).status, 204);
});

Deno.test("redirect refuses protocol-relative and non-http(s) targets unless allowed", async () => {
  const app = new App();
  app.get("/go", (ctx) => ctx.redirect(ctx.query.get("to") ?? "/"));
  app.get(
    "/unsafe",
    (ctx) => ctx.redirect("//elsewhere.example", { allowUnsafe: true }),
  );
  const cases: [string, number][] = [
    ["/home", 302],
    ["https://example.com/x", 302],
    ["http://example.com", 302],
    ["relative/path", 302],
    ["//evil.example", 400],
    ["/\\evil.example", 400],
    ["javascript:alert(1)", 400],
    ["data:text/html,x", 400],
    ["\\\\evil.example", 400],
  ];
  for (const [to, status] of cases) {
    const res = await app.request(`/go?to=${encodeURIComponent(to)}`);
    assert.equal(res.status, status, to);
    if (status === 302) assert.equal(res.headers.get("location"), to);
    await res.body?.cancel();
  }
  assert.equal(
    (await app.request("/unsafe")).headers.get("location"),
    "//elsewhere.example",
  );
});

Deno.test("query and url are parsed lazily and correctly", async () => {
  const app = new App();
  app.get(
    "/q",
    (ctx) =>
      ctx.json({
        a: ctx.query.getAll("a"),
        host: ctx.url.host,
        path: ctx.path,
      }),
  );
  const res = await app.request("/q?a=1&a=2&b=%20");
  assert.deepEqual(await res.json(), {
    a: ["1", "2"],
    host: "localhost",
    path: "/q",
  });
});

Deno.test("ctx.stream sends a chunked body from an async iterable", async () => {
  const app = new App();
  app.get("/s", (ctx) =>
    ctx.stream((async function* () {
      yield "a";
      yield new TextEncoder().encode("b");
      yield "c";
    })()));
  const res = await app.request("/s");
  assert.equal(await res.text(), "abc");
  assert.equal(app.inflight, 0);
});

Deno.test("invalid options throw at construction naming the option", () => {
  assert.throws(() => new App({ limits: { bodyBytes: -1 } }), /bodyBytes/);
  assert.throws(() => new App({ limits: { jsonDepth: 1.5 } }), /jsonDepth/);
  assert.throws(() => new App({ limits: { nope: 1 } as never }), /nope/);
  assert.throws(() => new App({ deadlineMs: -5 }), /deadlineMs/);
  const app = new App();
  assert.throws(
    () => app.get("/x", { limits: { formFields: 0 } }, (c) => c.empty()),
    /formFields/,
  );
  assert.throws(() => app.get("no-slash", (c) => c.empty()), TypeError);
  assert.throws(() => app.get("/x"), /has no handler/);
});

Deno.test("a stream replaced by a bodiless response does not stay in flight", async () => {
  const app = new App({ deadlineMs: 0 });
  app.use(async (_ctx, next) => {
    await next(); // drops the streamed response without reading it
    return new Response(null, { status: 304 });
  });
  app.get("/s", (ctx) => ctx.stream(["never read"]));
  const res = await app.request("/s");
  assert.equal(res.status, 304);
  assert.equal(app.inflight, 0);
  const head = await app.request("/s", { method: "HEAD" });
  assert.equal(head.status, 304);
  assert.equal(app.inflight, 0);
});

Deno.test("throwing hooks never fail a request or crash the process", async () => {
  const seen: unknown[] = [];
  const app = new App({
    deadlineMs: 1000,
    onRequest: (ctx) => {
      if (ctx.path === "/boom-request") throw new Error("onRequest failed");
    },
    onResponse: () => {
      throw new Error("onResponse failed");
    },
    onReject: () => {
      throw new Error("onReject failed");
    },
    onError: (e) => seen.push((e as Error).message),
    limits: { urlBytes: 32 },
  });
  app.get("/async", async (ctx) => {
    await Promise.resolve();
    return ctx.text("fine");
  });
  app.get("/boom-request", (ctx) => ctx.text("unreachable"));
  const ok = await app.request("/async");
  assert.equal(await ok.text(), "fine");
  // A throwing onRequest is reported and ignored, like the other hooks.
  const boom = await app.request("/boom-request");
  assert.equal(boom.status, 200);
  assert.equal(await boom.text(), "unreachable");
  assert.equal((await app.request("/" + "x".repeat(40))).status, 414);
  assert.ok(seen.includes("onResponse failed"));
  assert.ok(seen.includes("onRequest failed"));
  assert.ok(seen.includes("onReject failed"));
  assert.equal(app.inflight, 0);
  assert.match(app.metrics.text(), /^http_server_active_requests 0$/m);
});

Deno.test("maxInFlight sheds requests over the cap with 503 and Retry-After before routing", async () => {
  const app = new App({ maxInFlight: 2, deadlineMs: 0 });
  const gate = Promise.withResolvers<void>();
  app.get("/wait", async (ctx) => {
    await gate.promise;
    return ctx.text("done");
  });
  const first = app.request("/wait");
  const second = app.request("/wait");
  await new Promise((r) => setTimeout(r, 10));
  const shed = await app.request("/wait");
  assert.equal(shed.status, 503);
  assert.equal(shed.headers.get("retry-after"), "1");
  assert.match(await shed.text(), /maxInFlight limit of 2/);
  gate.resolve();
  assert.equal(await (await first).text(), "done");
  assert.equal(await (await second).text(), "done");
  assert.equal((await app.request("/wait")).status, 200);
  assert.match(
    app.metrics.text(),
    /palisade_shed_total\{reason="max_in_flight"\} 1/,
  );
  assert.match(
    app.metrics.text(),
    /palisade_rejections_total\{reason="overloaded"\} 1/,
  );
});
