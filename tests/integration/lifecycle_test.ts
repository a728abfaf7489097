/**
 * The request lifecycle end to end, on both transports: renderers
 * (`notFound`, `onError`), mutable responses from `next()`, streams cut at
 * the deadline and at a forced shutdown (the client sees an incomplete
 * transfer; SSE ends cleanly), raw streams drained at shutdown, and
 * readiness before the listener closes.
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { HttpError } from "../../src/http/errors.ts";
import { serve, type Server } from "../../src/server/serve.ts";
import { delay, refused } from "../fixtures/raw_http.ts";

const HOST = "127.0.0.1";
const TRANSPORTS = ["deno", "h1"] as const;
type Transport = typeof TRANSPORTS[number];

function start(
  app: App,
  transport: Transport,
  shutdown: { graceMs?: number; readinessDelayMs?: number } = {},
): Server {
  return serve(app, {
    transport,
    hostname: HOST,
    port: 0,
    shutdown: { signals: [], graceMs: 2_000, ...shutdown },
  });
}

/** Sends a raw GET and collects every byte until the server closes or `ms` pass. */
async function rawGet(
  port: number,
  path: string,
  ms = 5_000,
): Promise<{ text: string; reset: boolean }> {
  const conn = await Deno.connect({ hostname: HOST, port });
  const timer = setTimeout(() => conn.close(), ms);
  await conn.write(
    new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    ),
  );
  const decoder = new TextDecoder();
  let text = "";
  let reset = false;
  const buf = new Uint8Array(16 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
  } catch {
    reset = true;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  return { text, reset };
}

/** A chunked body that ended with its last chunk. */
function cleanChunked(text: string): boolean {
  return /\r\n0\r\n\r\n$/.test(text);
}

function infinite(tick = 10): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(c) {
      await delay(tick);
      c.enqueue(new TextEncoder().encode(`tick ${i++}\n`));
    },
  });
}

function renderingApp(seen: unknown[]): App {
  const app = new App({ onError: (e) => seen.push(e) });
  app.notFound((ctx) =>
    ctx.json({ error: "nope", path: ctx.path }, { status: 404 })
  );
  app.onError((error, ctx) =>
    error instanceof HttpError
      ? ctx.json({ error: error.message }, { status: error.status })
      : ctx.text("sorry", { status: 500 })
  );
  app.get("/http", () => {
    throw new HttpError(409, "Taken");
  });
  app.get("/boom", () => {
    throw new Error("secret detail");
  });
  app.post("/only-post", (ctx) => ctx.text("posted"));
  const api = new App();
  api.get("/users", (ctx) => ctx.json([]));
  api.get("/boom", async () => {
    await Promise.resolve();
    throw new Error("async boom");
  });
  const admin = new App();
  admin.notFound((ctx) => ctx.text("admin: no such page", { status: 404 }));
  admin.onError(() => {
    throw new Error("the renderer itself fails");
  });
  admin.get("/boom", () => {
    throw new Error("admin boom");
  });
  app.route("/api", api);
  app.route("/admin", admin);
  return app;
}

for (const transport of TRANSPORTS) {
  Deno.test(`lifecycle [${transport}]: notFound and onError render, sub-apps inherit or override`, async () => {
    const seen: unknown[] = [];
    const server = start(renderingApp(seen), transport);
    const base = `http://${HOST}:${server.addr.port}`;
    try {
      const get = async (path: string, init?: RequestInit) => {
        const res = await fetch(base + path, init);
        return {
          status: res.status,
          type: res.headers.get("content-type"),
          body: await res.text(),
        };
      };
      assert.deepEqual(await get("/missing"), {
        status: 404,
        type: "application/json",
        body: '{"error":"nope","path":"/missing"}',
      });
      assert.deepEqual(
        (await get("/api/missing")).body,
        '{"error":"nope","path":"/api/missing"}',
      );
      assert.deepEqual(await get("/admin/missing"), {
        status: 404,
        type: "text/plain;charset=UTF-8",
        body: "admin: no such page",
      });
      assert.equal((await get("/http")).body, '{"error":"Taken"}');
      assert.deepEqual(
        [(await get("/boom")).status, (await get("/boom")).body],
        [500, "sorry"],
      );
      assert.equal((await get("/api/boom")).body, "sorry");
      // A renderer that throws falls back to the generic problem+json 500.
      const admin = await get("/admin/boom");
      assert.equal(admin.status, 500);
      assert.equal(admin.type, "application/problem+json");
      assert.ok(!admin.body.includes("admin boom"));
      // 405 stays automatic, with Allow.
      const res = await fetch(base + "/only-post");
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "OPTIONS, POST");
      await res.body?.cancel();
      // The observer hook still hears about every unknown error.
      const messages = seen.map((e) => (e as Error).message);
      for (
        const m of [
          "secret detail",
          "async boom",
          "admin boom",
          "the renderer itself fails",
        ]
      ) {
        assert.ok(messages.includes(m), m);
      }
      assert.ok(!seen.some((e) => e instanceof HttpError));
    } finally {
      await server.shutdown();
    }
  });

  Deno.test(`lifecycle [${transport}]: next() gives a mutable response for fetch(), redirect and error results`, async () => {
    const upstream = Deno.serve(
      { hostname: HOST, port: 0, onListen() {} },
      () => new Response("from upstream", { headers: { "x-up": "1" } }),
    );
    const app = new App();
    app.use(async (_ctx, next) => {
      const res = await next();
      res.headers.set("x-frame-options", "DENY");
      return res;
    });
    app.get("/proxy", () => fetch(`http://${HOST}:${upstream.addr.port}/`));
    app.get("/redirect", () => Response.redirect("http://example.com/", 302));
    app.get("/error", () => Response.error());
    const server = start(app, transport);
    const base = `http://${HOST}:${server.addr.port}`;
    try {
      const proxied = await fetch(base + "/proxy");
      assert.equal(proxied.status, 200);
      assert.equal(proxied.headers.get("x-frame-options"), "DENY");
      assert.equal(proxied.headers.get("x-up"), "1");
      assert.equal(await proxied.text(), "from upstream");
      const redirect = await fetch(base + "/redirect", { redirect: "manual" });
      assert.equal(redirect.status, 302);
      assert.equal(redirect.headers.get("location"), "http://example.com/");
      assert.equal(redirect.headers.get("x-frame-options"), "DENY");
      await redirect.body?.cancel();
      const error = await fetch(base + "/error");
      assert.equal(error.status, 500);
      assert.equal(error.headers.get("x-frame-options"), "DENY");
      await error.body?.cancel();
    } finally {
      await server.shutdown();
      await upstream.shutdown();
    }
  });

  Deno.test(`lifecycle [${transport}]: at the deadline ctx.stream and raw streams are cut, ctx.sse ends cleanly`, async () => {
    const app = new App({ deadlineMs: 150 });
    app.get("/stream", (ctx) =>
      ctx.stream((async function* () {
        for (let i = 0;; i++) {
          yield `part ${i}\n`;
          await delay(10);
        }
      })()));
    app.get("/raw", () => new Response(infinite()));
    app.get("/sse", (ctx) =>
      ctx.sse(async (sse) => {
        while (!sse.signal.aborted) {
          await sse.send({ data: "x" });
          await delay(10);
        }
      }, { heartbeatMs: 0 }));
    const server = start(app, transport);
    const port = server.addr.port;
    try {
      const [stream, raw, sse] = await Promise.all([
        rawGet(port, "/stream"),
        rawGet(port, "/raw"),
        rawGet(port, "/sse"),
      ]);
      assert.match(stream.text, /^HTTP\/1\.1 200 /);
      assert.ok(stream.text.includes("part 1"), stream.text.slice(0, 200));
      assert.ok(!cleanChunked(stream.text), "ctx.stream must not end cleanly");
      assert.ok(raw.text.includes("tick 1"));
      assert.ok(!cleanChunked(raw.text), "a raw stream must not end cleanly");
      assert.ok(sse.text.includes("data: x"));
      assert.ok(cleanChunked(sse.text), "SSE ends with its last chunk");
      assert.match(app.metrics.text(), /^palisade_deadline_exceeded_total 3$/m);
    } finally {
      await server.shutdown();
    }
  });

  Deno.test(`lifecycle [${transport}]: a forced shutdown cuts open streams and finished resolves`, async () => {
    const app = new App({ deadlineMs: 0 });
    let started!: () => void;
    const streaming = new Promise<void>((r) => started = r);
    app.get("/stream", (ctx) =>
      ctx.stream((async function* () {
        started();
        for (let i = 0;; i++) {
          yield `part ${i}\n`;
          await delay(10);
        }
      })()));
    app.get("/raw", () => new Response(infinite()));
    const server = start(app, transport, { graceMs: 200 });
    const port = server.addr.port;
    const stream = rawGet(port, "/stream");
    const raw = rawGet(port, "/raw");
    await streaming;
    await delay(50);
    const report = await server.shutdown();
    const [s, r] = await Promise.all([stream, raw]);
    assert.ok(s.text.includes("part 1") && !cleanChunked(s.text));
    assert.ok(r.text.includes("tick 1") && !cleanChunked(r.text));
    assert.deepEqual({ completed: report.completed, aborted: report.aborted }, {
      completed: 0,
      aborted: 2,
    });
    assert.ok(report.durationMs < 2_000, `${report.durationMs} ms`);
    assert.equal(app.inflight, 0);
  });

  Deno.test(`lifecycle [${transport}]: readiness turns 503 while new connections are still served`, async () => {
    const app = new App();
    const holder: { server?: Server } = {};
    app.get("/", (ctx) => ctx.text("ok"));
    app.get("/healthz", () => holder.server!.health()());
    const server = holder.server = start(app, transport, {
      readinessDelayMs: 400,
    });
    const port = server.addr.port;
    const base = `http://${HOST}:${port}`;
    assert.equal((await (await fetch(base + "/healthz")).json()).status, "ok");
    const finished = server.shutdown();
    // During the delay: a new connection is accepted; the probe sees 503.
    const probe = await rawGet(port, "/healthz");
    assert.match(probe.text, /^HTTP\/1\.1 503 /);
    const page = await rawGet(port, "/");
    assert.match(page.text, /^HTTP\/1\.1 200 /);
    assert.ok(page.text.endsWith("ok"));
    await finished;
    assert.ok(await refused(port), "the listener is closed after the delay");
  });
}
