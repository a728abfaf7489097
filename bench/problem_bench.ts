/**
 * What rendering an error as `application/problem+json` costs, against a
 * plain text and a plain JSON response.
 *
 * Run: `deno bench bench/problem_bench.ts`
 *
 * @module
 */

import { HttpError, problem } from "../mod.ts";

Deno.bench({
  name: 'new Response("Not Found", { status: 404 })',
  group: "error response",
  baseline: true,
  fn() {
    new Response("Not Found", { status: 404 });
  },
});

Deno.bench({
  name: "Response.json({ error }, { status: 404 })",
  group: "error response",
  fn() {
    Response.json({ error: "Not Found" }, { status: 404 });
  },
});

Deno.bench({
  name: "problem(404)",
  group: "error response",
  fn() {
    problem(404);
  },
});

Deno.bench({
  name: "new HttpError(404, detail).toResponse()",
  group: "error response",
  fn() {
    new HttpError(404, "Item 42 does not exist").toResponse();
  },
});

Deno.bench({
  name: "problem(429, detail, { retry-after })",
  group: "error response",
  fn() {
    problem(429, "Rate limit of 10 requests per second exceeded", {
      "retry-after": "1",
    });
  },
});
