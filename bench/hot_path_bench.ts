/**
 * Micro-benchmarks that guard the hot path, one group per concern, each
 * with a `baseline: true` entry, the cheapest honest reference for that
 * concern, so `deno bench` prints every entry as a multiple of it and a
 * change that adds a closure, a copy or a Promise shows up as a bigger
 * multiple on any machine:
 *
 * - `App.handle` on a parsed h1 head (what the h1 engine calls), vs
 *   `new Response("ok")`;
 * - `App.fetch` on a prebuilt `Request`, vs the raw handler
 *   `() => new Response("ok")`, with Hono 4's `app.fetch` (bare and with
 *   requestId + bodyLimit + timeout) on the same Request for comparison;
 * - router match, static and param, on the load harness's 200-route table,
 *   vs a `Map.get`;
 * - Context creation: `App.handle` of a route whose handler returns one
 *   prebuilt Response, vs calling that handler directly;
 * - request ids: `newRequestId()` vs a bare counter, `isValidRequestId` vs a
 *   length check;
 * - problem rendering: `problem()`, `HttpError#toResponse()` and the h1
 *   `problemBytes()`, vs `new Response("Not Found", { status: 404 })`.
 *
 * The App is the load harness's (`bench/servers/_palisade_app.ts`): every
 * default on (request ids, limits, 30 s deadline, metrics), access log off.
 * An entry whose call returns a Response synchronously is measured as a sync
 * bench; one that returns a Promise is awaited (so turning a sync path async
 * shows up too).
 *
 * Run: `deno bench -A bench/hot_path_bench.ts`
 *
 * @module
 */

import { App } from "../src/app/app.ts";
import { Router } from "../src/router/router.ts";
import { isValidRequestId, newRequestId } from "../src/http/request_id.ts";
import { HttpError, problem } from "../src/http/errors.ts";
import { problemBytes } from "../src/transport/h1/response/head.ts";
import { RequestParser } from "../src/transport/h1/parser/parser.ts";
import { H1Source } from "../src/transport/h1/source.ts";
import { buildApp } from "./servers/_palisade_app.ts";
import { buildHono, honoProtections } from "./servers/_hono_app.ts";
import { TYPICAL_HEADERS, typicalGet } from "./_bench_request.ts";
import { ROUTES } from "./_routes.ts";

const INFO = { remoteAddr: { hostname: "127.0.0.1", port: 5000 } };
const LIMITS = { urlBytes: 8192, headerBytes: 16384, headerCount: 100 };
const PUMP = { pullBody() {}, cancelBody() {} };

/** The typical GET of `_bench_request.ts`, parsed once by the h1 parser. */
function parsedHead(target: string): H1Source["head"] {
  const parser = new RequestParser(LIMITS);
  const fields = TYPICAL_HEADERS.map(([n, v]) => `${n}: ${v}\r\n`).join("");
  const bytes = new TextEncoder().encode(
    `GET ${target} HTTP/1.1\r\n${fields}\r\n`,
  );
  if (parser.next(bytes, 0) !== "head") throw new Error("no head");
  return parser.head!;
}

/** A fresh source per request over a parsed head, as the h1 engine makes. */
function source(head: H1Source["head"]): H1Source {
  return new H1Source(head, PUMP, null, "127.0.0.1:8000");
}

let sink = 0;

function check(res: Response): void {
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  sink += res.status;
}

/**
 * Registers `run` as a sync bench when it answers synchronously, else as an
 * async one that awaits it. Runs it once first to check it answers 200.
 */
async function bench(
  group: string,
  name: string,
  run: () => Response | Promise<Response>,
  baseline = false,
): Promise<void> {
  const first = run();
  check(await first);
  if (first instanceof Promise) {
    Deno.bench({ name, group, baseline, fn: async () => check(await run()) });
  } else {
    Deno.bench({ name, group, baseline, fn: () => check(run() as Response) });
  }
}

// App.handle on a parsed h1 head.
const app = buildApp(false);
const HELLO_HEAD = parsedHead("/");
const PARAM_HEAD = parsedHead("/users/42");
await bench(
  "App.handle (h1 head)",
  'new Response("ok")',
  () => new Response("ok"),
  true,
);
await bench(
  "App.handle (h1 head)",
  "App.handle hello",
  () => app.handle(source(HELLO_HEAD), INFO),
);
await bench(
  "App.handle (h1 head)",
  "App.handle param",
  () => app.handle(source(PARAM_HEAD), INFO),
);

// App.fetch on a prebuilt Request, against the raw handler and Hono.
const noid = buildApp(false, { requestId: true });
const withMiddleware = buildApp(false);
withMiddleware.use(async (_ctx, next) => {
  const res = await next();
  res.headers.set("x-frame-options", "DENY");
  return res;
});
const hono = buildHono([]);
const honoProtected = buildHono(honoProtections());
const HELLO = typicalGet("/");
const PARAM = typicalGet("/users/42");
const raw = (_req: Request): Response => new Response("ok");
await bench(
  "App.fetch",
  'raw handler () => new Response("ok")',
  () => raw(HELLO),
  true,
);
await bench("App.fetch", "App.fetch hello", () => app.fetch(HELLO, INFO));
await bench("App.fetch", "App.fetch param", () => app.fetch(PARAM, INFO));
await bench(
  "App.fetch",
  "App.fetch hello, no request id",
  () => noid.fetch(HELLO, INFO),
);
await bench(
  "App.fetch",
  "App.fetch hello, middleware sets a header after next()",
  () => withMiddleware.fetch(HELLO, INFO),
);
await bench("App.fetch", "hono.fetch hello", () => hono.fetch(HELLO));
await bench(
  "App.fetch",
  "hono.fetch hello + requestId, bodyLimit, timeout",
  () => honoProtected.fetch(HELLO),
);

// Router match on the 200-route table.
const router = new Router<number>();
const statics = new Map<string, number>();
ROUTES.forEach((r, i) => {
  router.add(r.method, r.path, i);
  if (r.method === "GET" && !/[:*]/.test(r.path)) statics.set(r.path, i);
});
const ROUTER = `router match (${ROUTES.length}-route table)`;
for (
  const [name, baseline, find] of [
    ['Map.get("/health")', true, () => statics.get("/health")],
    [
      "Router.match GET /health (static)",
      false,
      () => router.match("GET", "/health")?.value,
    ],
    [
      "Router.match GET /users/12345 (param)",
      false,
      () => router.match("GET", "/users/12345")?.value,
    ],
    [
      "Router.match GET /repos/a/b/issues/7/comments (3 params)",
      false,
      () => router.match("GET", "/repos/a/b/issues/7/comments")?.value,
    ],
  ] as const
) {
  if (find() === undefined) throw new Error(`${name}: no route`);
  Deno.bench({
    name,
    group: ROUTER,
    baseline,
    fn: () => {
      sink += find()!;
    },
  });
}

// Context creation: the App's whole per-request work around a handler that
// does nothing (returns one prebuilt Response), vs calling it directly.
const CONSTANT = new Response(null);
const constant = (): Response => CONSTANT;
const CONST_HEAD = parsedHead("/const");
const defaults = buildApp(false).get("/const", constant);
const lean = new App({ requestIdHeader: false, deadlineMs: 0, metrics: false })
  .get("/const", constant);
const CONTEXT = "Context creation (handler returns a prebuilt Response)";
await bench(CONTEXT, "handler called directly", constant, true);
await bench(
  CONTEXT,
  "App.handle, every default on",
  () => defaults.handle(source(CONST_HEAD), INFO),
);
await bench(
  CONTEXT,
  "App.handle, no request id, no deadline, no metrics",
  () => lean.handle(source(CONST_HEAD), INFO),
);

// Request ids.
let counter = 0;
const INCOMING = "4bf92f35-77b3-4da6-a3ce-929d0e0e4736";
Deno.bench({
  name: "String(++counter)",
  group: "request id: generate",
  baseline: true,
  fn: () => {
    sink += String(++counter).length;
  },
});
Deno.bench({
  name: "newRequestId()",
  group: "request id: generate",
  fn: () => {
    sink += newRequestId().length;
  },
});
Deno.bench({
  name: "crypto.randomUUID() (Hono's requestId)",
  group: "request id: generate",
  fn: () => {
    sink += crypto.randomUUID().length;
  },
});
Deno.bench({
  name: "length check only",
  group: "request id: validate incoming",
  baseline: true,
  fn: () => {
    if (INCOMING.length > 0 && INCOMING.length <= 200) sink++;
  },
});
Deno.bench({
  name: "isValidRequestId(uuid)",
  group: "request id: validate incoming",
  fn: () => {
    if (isValidRequestId(INCOMING)) sink++;
  },
});
Deno.bench({
  name: "/[^\\w\\-=]/.test(uuid) (Hono's requestId)",
  group: "request id: validate incoming",
  fn: () => {
    if (!/[^\w\-=]/.test(INCOMING)) sink++;
  },
});

// Problem rendering.
const PROBLEM = "problem rendering";
for (
  const [name, render] of [
    [
      'new Response("Not Found", { status: 404 })',
      () => new Response("Not Found", { status: 404 }).status,
    ],
    [
      "Response.json({ error }, { status: 404 })",
      () => Response.json({ error: "Not Found" }, { status: 404 }).status,
    ],
    ["problem(404)", () => problem(404).status],
    ['problem(404, "x")', () => problem(404, "x").status],
    [
      "new HttpError(404, detail).toResponse()",
      () => new HttpError(404, "Item 42 does not exist").toResponse().status,
    ],
    [
      "problem(429, detail, { retry-after })",
      () =>
        problem(429, "Rate limit of 10 requests per second exceeded", {
          "retry-after": "1",
        }).status,
    ],
    [
      'problemBytes(404, "x") (h1 early answer)',
      () => problemBytes(404, "x").length,
    ],
  ] as const
) {
  Deno.bench({
    name,
    group: PROBLEM,
    baseline: name.startsWith("new Response"),
    fn: () => {
      sink += render();
    },
  });
}

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
