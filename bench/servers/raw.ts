/**
 * Baseline server: raw `Deno.serve`. With `--scenario=hello` (and the
 * scenarios that reuse it) the handler is exactly `() => new Response("ok")`;
 * other scenarios get the least code that answers them without a framework.
 * `--handler=hello` forces `() => new Response("ok")` for any scenario (the
 * `raw-ok` row, the budget's reference). Without a scenario it answers every
 * scenario path (idle and soak runs).
 *
 * Run: `deno run -A bench/servers/raw.ts --port=0 [--scenario=hello] [--handler=hello]`
 *
 * @module
 */

import {
  BIG_BODY,
  parseServerArgs,
  readTls,
  ready,
  streamChunks,
} from "./_common.ts";

type Handler = (req: Request) => Response | Promise<Response>;

function hello(): Response {
  return new Response("ok");
}

function param(req: Request): Response {
  const url = req.url;
  return Response.json({ id: url.slice(url.lastIndexOf("/") + 1) });
}

async function json(req: Request): Promise<Response> {
  return Response.json(await req.json());
}

function big(): Response {
  return new Response(BIG_BODY);
}

function stream(): Response {
  return new Response(ReadableStream.from(streamChunks()));
}

function all(req: Request): Response | Promise<Response> {
  const url = req.url;
  const path = url.slice(url.indexOf("/", url.indexOf("//") + 2));
  if (path === "/") return hello();
  if (path.startsWith("/users/")) return param(req);
  if (path === "/json" && req.method === "POST") return json(req);
  if (path === "/stream") return stream();
  if (path === "/big") return big();
  return new Response("Not Found", { status: 404 });
}

const HANDLERS: Record<string, Handler> = { hello, param, json, big, stream };

const args = parseServerArgs();
const handler: Handler = args.handler === ""
  ? all
  : HANDLERS[args.handler] ?? hello;

Deno.serve({
  hostname: "127.0.0.1",
  port: args.port,
  ...readTls(args),
  onListen: (addr) => ready(addr.port),
}, handler);
