import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { createClient, TimeoutError } from "../../src/client/mod.ts";
import { upstream } from "./_upstream.ts";

/**
 * An upstream that answers only after `ms` or when the caller goes away;
 * `finished` tells which happened.
 */
function slowUpstream(ms: number) {
  let done!: (how: "aborted" | "answered") => void;
  const finished = new Promise<"aborted" | "answered">((r) => done = r);
  const up = upstream(async (req) => {
    const how = await new Promise<"aborted" | "answered">((resolve) => {
      const timer = setTimeout(() => resolve("answered"), ms);
      req.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve("aborted");
      }, { once: true });
    });
    done(how);
    return new Response("late");
  });
  return { up, finished };
}

Deno.test("ctx.deadline cuts the call: the App answers its own 503 at the deadline, the upstream is cancelled, the call rejects with TimeoutError", async () => {
  const { up, finished } = slowUpstream(5_000);
  using client = createClient({ baseUrl: up.url, timeoutMs: 10_000 });
  let settle!: (e: unknown) => void;
  const callError = new Promise<unknown>((r) => settle = r);
  const unhandled: unknown[] = [];
  const app = new App({ deadlineMs: 200, onError: (e) => unhandled.push(e) });
  app.get("/via", async (ctx) => {
    try {
      const res = await client.get("/slow", { ctx });
      return new Response(res.body, res);
    } catch (e) {
      settle(e);
      throw e;
    }
  });
  const server = serve(app, {
    port: 0,
    hostname: "127.0.0.1",
    shutdown: { signals: [] },
  });
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/via`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.match((await res.json()).detail, /deadline of 200 ms/);
    assert.equal(await finished, "aborted");
    // The call rejects with the client's TimeoutError (an HttpError, so the
    // App, which has answered already, does not report it as unhandled).
    const error = await callError;
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.phase, "deadline");
    assert.ok(
      error.timeoutMs > 0 && error.timeoutMs <= 200,
      String(error.timeoutMs),
    );
    assert.ok(error.cause instanceof DOMException);
    assert.equal(error.cause.name, "TimeoutError");
    assert.deepEqual(unhandled, []);
  } finally {
    await server.shutdown();
    await up.close();
  }
});

Deno.test("a timeoutMs shorter than the deadline wins: the escaping TimeoutError renders 504 without naming the upstream", async () => {
  const { up, finished } = slowUpstream(5_000);
  using client = createClient({ baseUrl: up.url, timeoutMs: 100 });
  const app = new App({ deadlineMs: 10_000 });
  app.get("/via", async (ctx) => {
    const res = await client.get("/slow?token=t0p", { ctx });
    return new Response(res.body, res);
  });
  try {
    const res = await app.request("/via");
    assert.equal(res.status, 504);
    const body = await res.text();
    assert.equal(JSON.parse(body).detail, "Upstream request timed out");
    assert.ok(!body.includes("127.0.0.1") && !body.includes("t0p"), body);
    assert.equal(await finished, "aborted");
  } finally {
    await up.close();
  }
});

Deno.test("ctx.signal cancels the call with its reason", async () => {
  const { up, finished } = slowUpstream(5_000);
  using client = createClient({ baseUrl: up.url });
  const ac = new AbortController();
  const ctx = { deadline: Infinity, signal: ac.signal, requestId: "" };
  const reason = new Error("client went away");
  try {
    const call = client.get("/slow", { ctx });
    while (up.hits === 0) await new Promise((r) => setTimeout(r, 1));
    ac.abort(reason);
    await assert.rejects(call, (e) => e === reason);
    assert.equal(await finished, "aborted");
  } finally {
    await up.close();
  }
});

Deno.test("a client disconnecting from the App cancels the upstream call through ctx.signal", async () => {
  const { up, finished } = slowUpstream(5_000);
  using client = createClient({ baseUrl: up.url });
  // The App reports the handler's rejection with the disconnect reason.
  const reported: unknown[] = [];
  const app = new App({ deadlineMs: 0, onError: (e) => reported.push(e) });
  app.get("/via", async (ctx) => {
    const res = await client.get("/slow", { ctx });
    return new Response(res.body, res);
  });
  const server = serve(app, {
    port: 0,
    hostname: "127.0.0.1",
    shutdown: { signals: [] },
  });
  try {
    const ac = new AbortController();
    const call = fetch(`http://127.0.0.1:${server.addr.port}/via`, {
      signal: ac.signal,
    });
    while (up.hits === 0) await new Promise((r) => setTimeout(r, 1));
    ac.abort();
    await assert.rejects(call);
    assert.equal(await finished, "aborted");
    while (reported.length === 0) await new Promise((r) => setTimeout(r, 1));
    assert.equal((reported[0] as Error).name, "AbortError");
  } finally {
    await server.shutdown();
    await up.close();
  }
});

Deno.test("ctx.requestId travels as x-request-id unless the call sets one", async () => {
  const up = upstream((req) => new Response(req.headers.get("x-request-id")));
  using client = createClient({ baseUrl: up.url });
  const app = new App();
  app.get(
    "/fwd",
    async (ctx) => ctx.text(await (await client.get("/", { ctx })).text()),
  );
  app.get("/own", async (ctx) =>
    ctx.text(
      await (await client.get("/", {
        ctx,
        headers: { "x-request-id": "mine" },
      })).text(),
    ));
  try {
    const kept = await app.request("/fwd", {
      headers: { "x-request-id": "abc-123" },
    });
    assert.equal(await kept.text(), "abc-123");
    const generated = await app.request("/fwd");
    const id = generated.headers.get("x-request-id");
    assert.ok(id);
    assert.equal(await generated.text(), id);
    assert.equal(await (await app.request("/own")).text(), "mine");
  } finally {
    await up.close();
  }
});
