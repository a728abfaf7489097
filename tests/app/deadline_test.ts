import assert from "node:assert/strict";
import { App } from "../../mod.ts";
import {
  denoServe,
  hasCompleteResponse,
  parseResponse,
  rawExchange,
} from "../_helpers.ts";

Deno.test("a handler that never resolves gets the client a 503 at the deadline (real socket)", async () => {
  const app = new App({ deadlineMs: 200 });
  app.get("/hang", () => new Promise<Response>(() => {}));
  const server = denoServe(app);
  try {
    const started = performance.now();
    const text = await rawExchange(
      server.port,
      "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n",
      { until: hasCompleteResponse },
    );
    const elapsed = performance.now() - started;
    const res = parseResponse(text);
    assert.equal(res.status, 503);
    assert.equal(res.headers["content-type"], "application/problem+json");
    assert.match(JSON.parse(res.body).detail, /deadline of 200 ms/);
    // Not before the deadline; the upper bound only catches a hang.
    assert.ok(
      elapsed >= 190 && elapsed < 2_000,
      `answered after ${elapsed} ms`,
    );
    assert.equal(app.inflight, 0);
    assert.match(app.metrics.text(), /^palisade_deadline_exceeded_total 1$/m);
  } finally {
    await server.close();
  }
});

Deno.test("a handler that honours ctx.signal sees a TimeoutError", async () => {
  const app = new App({ deadlineMs: 50 });
  let reason: unknown;
  app.get("/", (ctx) =>
    new Promise<Response>((resolve) => {
      ctx.signal.addEventListener("abort", () => {
        reason = ctx.signal.reason;
        resolve(ctx.text("too late"));
      });
    }));
  const res = await app.request("/");
  assert.equal(res.status, 503);
  assert.ok(reason instanceof DOMException);
  assert.equal((reason as DOMException).name, "TimeoutError");
});

Deno.test("route deadline overrides the App's, 0 means none, ctx.deadline is epoch ms", async () => {
  const app = new App({ deadlineMs: 30 });
  let deadline = 0;
  app.get("/long", { deadlineMs: 0 }, async (ctx) => {
    deadline = ctx.deadline;
    await new Promise((r) => setTimeout(r, 80));
    return ctx.text("done");
  });
  app.get("/short", { deadlineMs: 10 }, async (ctx) => {
    await new Promise((r) => setTimeout(r, 60));
    return ctx.text("late");
  });
  app.get("/now", (ctx) => ctx.text(String(ctx.deadline)));
  assert.equal(await (await app.request("/long")).text(), "done");
  assert.equal(deadline, Infinity);
  assert.equal((await app.request("/short")).status, 503);
  const before = Date.now();
  const at = Number(await (await app.request("/now")).text());
  // Within a millisecond of clock rounding.
  assert.ok(at >= before + 29 && at <= Date.now() + 31, `${at} vs ${before}`);
  assert.ok(Number.isInteger(at));
});

Deno.test("the in-flight count is released at the deadline even if the handler ignores it", async () => {
  const app = new App({ deadlineMs: 40 });
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  app.get("/", async (ctx) => {
    await gate;
    return ctx.text("ignored the deadline");
  });
  const pending = [app.request("/"), app.request("/"), app.request("/")];
  assert.equal(app.inflight, 3);
  const results = await Promise.all(pending);
  assert.deepEqual(results.map((r) => r.status), [503, 503, 503]);
  assert.equal(app.inflight, 0);
  assert.match(app.metrics.text(), /^http_server_active_requests 0$/m);
  release();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(app.inflight, 0);
});

Deno.test("a started stream is cut at the deadline: the reader sees an error", async () => {
  const app = new App({ deadlineMs: 100 });
  let returned = false;
  app.get("/s", (ctx) =>
    ctx.stream((async function* () {
      try {
        for (let i = 0;; i++) {
          yield `${i}\n`;
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        returned = true;
      }
    })()));
  const res = await app.request("/s");
  assert.equal(res.status, 200);
  let text = "";
  const decoder = new TextDecoder();
  await assert.rejects(async () => {
    for await (const chunk of res.body!) text += decoder.decode(chunk);
  }, (e: unknown) => e instanceof DOMException && e.name === "TimeoutError");
  assert.ok(text.startsWith("0\n1\n"), text);
  // The generator's finally runs once its pending step completes.
  for (let i = 0; i < 50 && !returned; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(returned, "the producer was stopped");
  assert.equal(app.inflight, 0);
});

Deno.test("client disconnect aborts ctx.signal with AbortError (Deno.serve)", async () => {
  const app = new App({ deadlineMs: 5000 });
  let resolveReason!: (r: unknown) => void;
  const reasonSeen = new Promise((r) => resolveReason = r);
  let started!: () => void;
  const handlerStarted = new Promise<void>((r) => started = r);
  app.get("/wait", (ctx) =>
    new Promise<Response>((resolve) => {
      ctx.signal.addEventListener("abort", () => {
        resolveReason(ctx.signal.reason);
        resolve(ctx.empty());
      });
      started();
    }));
  const server = denoServe(app);
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    await conn.write(
      new TextEncoder().encode("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    await handlerStarted;
    conn.close();
    const reason = await reasonSeen;
    assert.ok(reason instanceof DOMException);
    assert.equal((reason as DOMException).name, "AbortError");
  } finally {
    await server.close();
  }
});
