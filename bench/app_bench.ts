/**
 * What the App costs per request in process, with every default on: the
 * `app.request()` test helper, `App.fetch` on a prebuilt-per-call `Request`,
 * and `App.handle` on a head parsed by the h1 engine (what the h1 transport
 * calls). Routed hello and param on the shared 100-route table, plus a
 * middleware that sets a header after `next()`.
 *
 * Run: `deno bench -A bench/app_bench.ts`
 *
 * @module
 */

import { buildApp } from "./servers/_palisade_app.ts";
import { typicalGet } from "./_bench_request.ts";
import { RequestParser } from "../src/transport/h1/parser/parser.ts";
import { H1Source } from "../src/transport/h1/source.ts";
import { TYPICAL_HEADERS } from "./_bench_request.ts";

const app = buildApp(false);
const withMiddleware = buildApp(false);
withMiddleware.use(async (_ctx, next) => {
  const res = await next();
  res.headers.set("x-frame-options", "DENY");
  return res;
});
const INFO = { remoteAddr: { hostname: "127.0.0.1", port: 5000 } };
const LIMITS = { urlBytes: 8192, headerBytes: 16384, headerCount: 100 };
const encoder = new TextEncoder();

function parsed(target: string): H1Source {
  const parser = new RequestParser(LIMITS);
  const fields = TYPICAL_HEADERS.map(([n, v]) => `${n}: ${v}\r\n`).join("");
  const bytes = encoder.encode(`GET ${target} HTTP/1.1\r\n${fields}\r\n`);
  if (parser.next(bytes, 0) !== "head") throw new Error("no head");
  const pump = { pullBody() {}, cancelBody() {} };
  return new H1Source(parser.head!, pump, "http", "127.0.0.1:8000");
}
const HELLO_HEAD = parsed("/").head;
const PARAM_HEAD = parsed("/users/42").head;
const pump = { pullBody() {}, cancelBody() {} };

async function consume(res: Response | Promise<Response>): Promise<void> {
  const r = await res;
  if (r.status !== 200) throw new Error(`status ${r.status}`);
}

Deno.bench("app.request hello", { group: "request" }, async () => {
  await consume(app.request("/"));
});
Deno.bench("app.request param", { group: "request" }, async () => {
  await consume(app.request("/users/42"));
});
Deno.bench("App.fetch hello", { group: "fetch" }, async () => {
  await consume(app.fetch(typicalGet("/"), INFO));
});
Deno.bench("App.fetch param", { group: "fetch" }, async () => {
  await consume(app.fetch(typicalGet("/users/42"), INFO));
});
Deno.bench("App.fetch hello, header set after next()", {
  group: "fetch",
}, async () => {
  await consume(withMiddleware.fetch(typicalGet("/"), INFO));
});
Deno.bench("App.handle hello (h1 head)", { group: "handle" }, async () => {
  await consume(
    app.handle(new H1Source(HELLO_HEAD, pump, "http", "x:1"), INFO),
  );
});
Deno.bench("App.handle param (h1 head)", { group: "handle" }, async () => {
  await consume(
    app.handle(new H1Source(PARAM_HEAD, pump, "http", "x:1"), INFO),
  );
});
