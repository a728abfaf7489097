import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import {
  accessLog,
  type AccessLogEntry,
  MAX_LOGGED_PATH,
  MAX_LOGGED_USER_AGENT,
} from "../../src/observe/access_log.ts";
import { serve } from "../../src/server/serve.ts";
import { rawExchange } from "../_helpers.ts";

const entry: AccessLogEntry = {
  time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
  requestId: "req-1",
  method: "GET",
  path: "/users/7",
  route: "/users/:id",
  status: 201,
  durationMs: 1.23456789,
  bytesIn: 0,
  bytesOut: 5,
  client: "203.0.113.7",
  userAgent: "curl/8",
  reason: null,
};

function logged(): { lines: string[]; app: (o?: object) => App } {
  const lines: string[] = [];
  return {
    lines,
    app: (o = {}) =>
      new App({ accessLog: accessLog({ sink: (l) => lines.push(l) }), ...o }),
  };
}

Deno.test("access log: one JSON line with the documented fields", () => {
  const lines: string[] = [];
  accessLog({ sink: (line) => lines.push(line) })(entry);
  assert.equal(lines.length, 1);
  const e = JSON.parse(lines[0]);
  assert.deepEqual(e, {
    time: "2026-01-02T03:04:05.006Z",
    id: "req-1",
    method: "GET",
    path: "/users/7",
    route: "/users/:id",
    status: 201,
    durationMs: 1.235,
    bytesIn: 0,
    bytesOut: 5,
    client: "203.0.113.7",
    userAgent: "curl/8",
    reason: null,
  });
});

Deno.test("access log: client bytes cannot forge a line, and long fields are bounded", () => {
  const lines: string[] = [];
  accessLog({ sink: (line) => lines.push(line) })({
    ...entry,
    path: '/a\r\n{"forged":1}\u0000' + "x".repeat(5000),
    userAgent: "ua\n\u001b[31m" + "y".repeat(5000),
  });
  assert.equal(lines.length, 1);
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\r\n\u0000-\u001f]/.test(lines[0]));
  const e = JSON.parse(lines[0]);
  assert.equal(e.path.length, MAX_LOGGED_PATH + 1);
  assert.ok(e.path.startsWith("/a\r\n{"));
  assert.equal(e.userAgent.length, MAX_LOGGED_USER_AGENT + 1);
});

Deno.test("access log: a failing sink never throws into the request", async () => {
  const errors: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    let calls = 0;
    const app = new App({
      accessLog: accessLog({
        sink: () => {
          calls++;
          throw new Error("disk full");
        },
      }),
    });
    app.get("/", (ctx) => ctx.text("ok"));
    assert.equal(await (await app.request("/")).text(), "ok");
    assert.equal(await (await app.request("/")).text(), "ok");
    assert.equal(calls, 2);
    assert.equal(errors.length, 1);
  } finally {
    console.error = original;
  }
});

Deno.test("access log: defaults to console.log", () => {
  const out: unknown[][] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => out.push(args);
  try {
    accessLog()(entry);
  } finally {
    console.log = original;
  }
  assert.equal(out.length, 1);
  assert.equal(JSON.parse(out[0][0] as string).id, "req-1");
});

Deno.test("access log: every request gets a line, rejected ones included", async () => {
  const { lines, app: make } = logged();
  const app = make({ limits: { urlBytes: 64, headerCount: 20 } });
  app.get("/users/:id", (ctx) => ctx.json({ id: ctx.params.id }));
  app.post("/upload", { limits: { bodyBytes: 4 } }, async (ctx) => {
    await ctx.body.text();
    return ctx.text("no");
  });
  const res = await app.request("/users/7?secret=1", {
    headers: { "x-request-id": "r1", "user-agent": "test-agent" },
  });
  await res.text();
  await (await app.request("/nope")).text();
  await (await app.request("/a%2Fb")).text(); // 400 bad path
  await (await app.request("/" + "a".repeat(100))).text(); // 414
  const many: [string, string][] = [];
  for (let i = 0; i < 30; i++) many.push([`x-h${i}`, "v"]);
  await (await app.request("/users/1", { headers: many })).text(); // 431
  await (await app.request("/upload", { method: "POST", body: "too long" }))
    .text(); // 413
  const e = lines.map((l) => JSON.parse(l));
  assert.equal(e.length, 6);
  assert.deepEqual(
    e.map((x) => [x.status, x.reason]),
    [
      [200, null],
      [404, null],
      [400, "bad_path"],
      [414, "url_too_long"],
      [431, "too_many_headers"],
      [413, "body_too_large"],
    ],
  );
  assert.equal(e[0].id, "r1");
  assert.equal(e[0].path, "/users/7");
  assert.equal(e[0].route, "/users/:id");
  assert.equal(e[0].userAgent, "test-agent");
  assert.equal(e[0].client, "127.0.0.1");
  assert.ok(!lines[0].includes("secret"), "the query string is never logged");
  assert.equal(e[0].bytesOut, '{"id":"7"}'.length);
  assert.equal(e[2].path, "/a%2Fb");
  assert.equal(e[5].bytesIn, 0); // refused by its Content-Length: none read
  for (const x of e) assert.equal(typeof x.id, "string");
});

Deno.test("access log: bytesOut counts the UTF-8 size of helper bodies and of streams", async () => {
  const { lines, app: make } = logged();
  const app = make();
  app.get("/t", (c) => c.text("héllo 🌍"));
  app.get("/j", (c) => c.json({ a: "ü" }));
  app.get("/s", (c) => c.stream(["ab", "cdé"]));
  app.post("/in", async (c) => c.text(String((await c.body.bytes()).length)));
  for (const path of ["/t", "/j", "/s"]) {
    await (await app.request(path)).text();
  }
  await (await app.request("/in", { method: "POST", body: "12345" })).text();
  const e = lines.map((l) => JSON.parse(l));
  assert.deepEqual(e.map((x) => x.bytesOut), [
    new TextEncoder().encode("héllo 🌍").length,
    new TextEncoder().encode('{"a":"ü"}').length,
    new TextEncoder().encode("abcdé").length,
    1,
  ]);
  assert.equal(e[3].bytesIn, 5);
});

Deno.test("access log: the h1 engine's 408 and 400 get a line with what was read", async () => {
  const { lines, app: make } = logged();
  const app = make();
  app.get("/", (c) => c.text("ok"));
  const server = serve(app, {
    transport: "h1",
    port: 0,
    hostname: "127.0.0.1",
    headerTimeoutMs: 200,
    shutdown: { signals: [] },
  });
  try {
    const port = server.addr.port;
    const timedOut = await rawExchange(
      port,
      "GET /slow HTTP/1.1\r\nHost: x\r\n",
    );
    assert.match(timedOut, /^HTTP\/1\.1 408 /);
    const bad = await rawExchange(
      port,
      "GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    );
    assert.match(bad, /^HTTP\/1\.1 400 /);
  } finally {
    await server.shutdown();
  }
  const e = lines.map((l) => JSON.parse(l));
  assert.deepEqual(e.map((x) => [x.status, x.reason]), [
    [408, "header_timeout"],
    [400, "bad_request"],
  ]);
  assert.equal(e[0].client, "127.0.0.1");
});
