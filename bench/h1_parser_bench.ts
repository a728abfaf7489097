/**
 * What the h1 engine's strict request parser costs per request head: a
 * typical browser GET with 8 header fields in one read, the same head split
 * across two reads, 8 pipelined GETs in one read, and a POST with a 1 KiB
 * body; against a naive, non-validating split-based parse of the same bytes.
 *
 * Run: `deno bench bench/h1_parser_bench.ts`
 *
 * @module
 */

import { RequestParser } from "../src/transport/h1/parser/parser.ts";
import { TYPICAL_HEADERS } from "./_bench_request.ts";
import { jsonPayload } from "./_load_tools.ts";

const LIMITS = { urlBytes: 8192, headerBytes: 16384, headerCount: 100 };
const encoder = new TextEncoder();

function head(requestLine: string, extra: string[] = []): string {
  const fields = TYPICAL_HEADERS.map(([n, v]) =>
    `${n.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase())}: ${v}`
  );
  return [requestLine, ...fields, ...extra, "", ""].join("\r\n");
}

const GET = encoder.encode(head("GET /users/42?tab=posts HTTP/1.1"));
const SPLIT = GET.length >> 1;
const GET_A = GET.subarray(0, SPLIT);
const GET_B = GET.subarray(SPLIT);
const PIPELINED = encoder.encode(
  head("GET /users/42?tab=posts HTTP/1.1").repeat(8),
);
const BODY = jsonPayload();
const POST = encoder.encode(
  head("POST /json HTTP/1.1", [
    "Content-Type: application/json",
    `Content-Length: ${BODY.length}`,
  ]) + BODY,
);
const decoder = new TextDecoder("latin1");

const parser = new RequestParser(LIMITS);

function must(ok: boolean): void {
  if (!ok) throw new Error("Unexpected parser event");
}

Deno.bench({
  name: "naive split parse (no validation), typical GET",
  group: "GET with 8 headers",
  baseline: true,
  fn() {
    const lines = decoder.decode(GET).split("\r\n");
    const [method, target] = lines[0].split(" ");
    const headers: string[] = [];
    for (let i = 1; i < lines.length && lines[i] !== ""; i++) {
      const c = lines[i].indexOf(":");
      headers.push(
        lines[i].slice(0, c).toLowerCase(),
        lines[i].slice(c + 1).trim(),
      );
    }
    must(method === "GET" && target.length > 0 && headers.length === 16);
  },
});

Deno.bench({
  name: "RequestParser, typical GET in one read",
  group: "GET with 8 headers",
  fn() {
    must(parser.next(GET, 0) === "head");
    must(parser.next(GET, parser.offset) === "end");
  },
});

Deno.bench({
  name: "RequestParser, typical GET split across two reads",
  group: "GET with 8 headers",
  fn() {
    must(parser.next(GET_A, 0) === "more");
    must(parser.next(GET_B, 0) === "head");
    must(parser.next(GET_B, parser.offset) === "end");
  },
});

Deno.bench({
  name: "RequestParser, 8 pipelined GETs in one read",
  group: "pipelined and body",
  baseline: true,
  fn() {
    let off = 0;
    for (let i = 0; i < 8; i++) {
      must(parser.next(PIPELINED, off) === "head");
      must(parser.next(PIPELINED, parser.offset) === "end");
      off = parser.offset;
    }
  },
});

Deno.bench({
  name: "RequestParser, POST with a 1 KiB Content-Length body",
  group: "pipelined and body",
  fn() {
    must(parser.next(POST, 0) === "head");
    must(parser.next(POST, parser.offset) === "data");
    must(parser.next(POST, parser.offset) === "end");
  },
});
