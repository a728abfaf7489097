/**
 * The same end-to-end behaviour on every transport: `"deno"` and `"h1"`,
 * each over plain TCP and over TLS, driven by `fetch` (HTTP/2 where
 * `Deno.serve` negotiates it over TLS).
 */

import assert from "node:assert/strict";
import { App } from "../../mod.ts";
import { serve, type ServeOptions } from "../../src/server/serve.ts";

const dir = new URL("../fixtures/", import.meta.url);
const ca = Deno.readTextFileSync(new URL("ca_cert.pem", dir));
const tlsFiles = {
  certFile: new URL("server_cert.pem", dir).pathname,
  keyFile: new URL("server_key.pem", dir).pathname,
};

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Probe {
  aborted: Promise<unknown>;
  started: Promise<void>;
}

function matrixApp(probe: { reset(): Probe; current: Probe | null }): App {
  const app = new App();
  app.get("/", (ctx) => ctx.text("ok"));
  app.get(
    "/users/:id",
    (ctx) => ctx.json({ id: ctx.params.id, q: ctx.query.get("q") }),
  );
  app.post(
    "/users",
    async (ctx) => ctx.json(await ctx.body.json(), { status: 201 }),
  );
  app.post("/small", { limits: { bodyBytes: 1024 } }, async (ctx) => {
    const bytes = await ctx.body.bytes();
    return ctx.text(`got ${bytes.length}`);
  });
  app.post("/count", async (ctx) => {
    let n = 0;
    for await (const chunk of ctx.body.stream()) n += chunk.length;
    return ctx.json({ n });
  });
  app.post("/form", async (ctx) => {
    const form = await ctx.body.form();
    return ctx.json(
      Object.fromEntries(form as unknown as Iterable<[string, string]>),
    );
  });
  app.get("/stream", (ctx) =>
    ctx.stream((async function* () {
      for (let i = 0; i < 5; i++) {
        yield `part ${i}\n`;
        await delay(1);
      }
    })()));
  app.get("/events", { deadlineMs: 0 }, (ctx) =>
    ctx.sse(async (sse) => {
      await sse.send({ event: "hello", data: "1" });
      await new Promise((r) => sse.signal.addEventListener("abort", r));
    }, { heartbeatMs: 0 }));
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  app.get("/big", () => new Response(big.slice()));
  app.get("/redirect", (ctx) => ctx.redirect("/users/1"));
  app.get("/late", { deadlineMs: 100 }, async (ctx) => {
    await delay(1000);
    return ctx.text("too late");
  });
  app.get("/remote", (ctx) => ctx.json(ctx.remote));
  app.get("/cookies", () => {
    const h = new Headers();
    h.append("set-cookie", "a=1");
    h.append("set-cookie", "b=2");
    return new Response("c", { headers: h });
  });
  app.get("/wait", { deadlineMs: 0 }, async (ctx) => {
    const p = probe.current!;
    (p as unknown as { start(): void }).start();
    await new Promise((r) => ctx.signal.addEventListener("abort", r));
    (p as unknown as { abort(reason: unknown): void }).abort(ctx.signal.reason);
    return ctx.text("aborted");
  });
  app.get("/metrics", app.metrics.handler());
  return app;
}

function makeProbe(): { reset(): Probe; current: Probe | null } {
  const holder = {
    current: null as Probe | null,
    reset(): Probe {
      let start!: () => void;
      let abort!: (r: unknown) => void;
      const p = {
        started: new Promise<void>((r) => start = r),
        aborted: new Promise<unknown>((r) => abort = r),
        start: () => start(),
        abort: (r: unknown) => abort(r),
      };
      holder.current = p;
      return p;
    },
  };
  return holder;
}

for (const transport of ["deno", "h1"] as const) {
  for (const tls of [false, true]) {
    const label = `${transport}${tls ? "+tls" : ""}`;
    Deno.test(`transport matrix [${label}]: the same behaviour end to end`, async (t) => {
      const probe = makeProbe();
      const app = matrixApp(probe);
      const options: ServeOptions = {
        hostname: "127.0.0.1",
        port: 0,
        transport,
        shutdown: { graceMs: 1000, signals: [] },
      };
      if (tls) options.tls = tlsFiles;
      const server = serve(app, options);
      const base = `${tls ? "https" : "http"}://${
        tls ? "localhost" : "127.0.0.1"
      }:${server.addr.port}`;
      const client = Deno.createHttpClient(tls ? { caCerts: [ca] } : {});
      const go = (path: string, init: RequestInit = {}) =>
        fetch(base + path, { ...init, client });
      try {
        await t.step("GET text", async () => {
          const res = await go("/");
          assert.equal(res.status, 200);
          assert.equal(
            res.headers.get("content-type"),
            "text/plain;charset=UTF-8",
          );
          assert.ok(res.headers.get("x-request-id"));
          assert.equal(await res.text(), "ok");
        });
        await t.step("route params and query", async () => {
          const res = await go("/users/42?q=x%20y");
          assert.deepEqual(await res.json(), { id: "42", q: "x y" });
        });
        await t.step("POST JSON", async () => {
          const res = await go("/users", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ name: "Ada" }),
          });
          assert.equal(res.status, 201);
          assert.deepEqual(await res.json(), { name: "Ada" });
        });
        await t.step("404 and 405 with Allow", async () => {
          const a = await go("/nope");
          assert.equal(a.status, 404);
          assert.equal(
            a.headers.get("content-type"),
            "application/problem+json",
          );
          await a.body?.cancel();
          const b = await go("/users/1", { method: "DELETE" });
          assert.equal(b.status, 405);
          assert.equal(b.headers.get("allow"), "GET, HEAD, OPTIONS");
          await b.body?.cancel();
        });
        await t.step("HEAD and OPTIONS", async () => {
          const h = await go("/users/1", { method: "HEAD" });
          assert.equal(h.status, 200);
          assert.equal(await h.text(), "");
          const o = await go("/users/1", { method: "OPTIONS" });
          assert.equal(o.status, 204);
          assert.equal(o.headers.get("allow"), "GET, HEAD, OPTIONS");
        });
        await t.step("declared body over the limit is 413", async () => {
          const res = await go("/small", {
            method: "POST",
            body: "x".repeat(5000),
          });
          assert.equal(res.status, 413);
          assert.match(
            (await res.json()).detail,
            /bodyBytes limit of 1024 bytes/,
          );
        });
        await t.step("streamed upload is counted", async () => {
          const chunk = new Uint8Array(16 * 1024);
          let i = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(c) {
              if (i++ < 8) c.enqueue(chunk);
              else c.close();
            },
          });
          const res = await go(
            "/count",
            { method: "POST", body, duplex: "half" } as RequestInit,
          );
          assert.deepEqual(await res.json(), { n: 8 * 16 * 1024 });
        });
        await t.step("urlencoded form", async () => {
          const res = await go("/form", {
            method: "POST",
            body: new URLSearchParams("a=1&b=two"),
          });
          assert.deepEqual(await res.json(), { a: "1", b: "two" });
        });
        await t.step("streamed response", async () => {
          const res = await go("/stream");
          assert.equal(
            await res.text(),
            "part 0\npart 1\npart 2\npart 3\npart 4\n",
          );
        });
        await t.step("SSE event arrives before the stream ends", async () => {
          const res = await go("/events");
          assert.equal(
            res.headers.get("content-type"),
            "text/event-stream; charset=utf-8",
          );
          const reader = res.body!.getReader();
          const first = new TextDecoder().decode((await reader.read()).value);
          assert.equal(first, "event: hello\ndata: 1\n\n");
          await reader.cancel();
        });
        await t.step("1 MiB response intact", async () => {
          const bytes = new Uint8Array(await (await go("/big")).arrayBuffer());
          assert.equal(bytes.length, 1 << 20);
          let ok = true;
          for (let i = 0; i < bytes.length; i++) {
            if (bytes[i] !== i % 251) ok = false;
          }
          assert.ok(ok);
        });
        await t.step("incoming x-request-id is echoed", async () => {
          const res = await go("/", {
            headers: { "x-request-id": "matrix-1" },
          });
          assert.equal(res.headers.get("x-request-id"), "matrix-1");
          await res.body?.cancel();
        });
        await t.step("redirect", async () => {
          const res = await go("/redirect", { redirect: "manual" });
          assert.equal(res.status, 302);
          assert.equal(res.headers.get("location"), "/users/1");
          await res.body?.cancel();
        });
        await t.step("deadline answers 503", async () => {
          const res = await go("/late");
          assert.equal(res.status, 503);
          assert.match((await res.json()).detail, /deadline of 100 ms/);
        });
        await t.step("ctx.remote is the client", async () => {
          const res = await go("/remote");
          assert.equal((await res.json()).hostname, "127.0.0.1");
        });
        await t.step("two set-cookie headers", async () => {
          const res = await go("/cookies");
          assert.deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
          await res.body?.cancel();
        });
        await t.step("client abort aborts ctx.signal", async () => {
          const p = probe.reset();
          const ac = new AbortController();
          const req = go("/wait", { signal: ac.signal }).catch((e) => e);
          await p.started;
          ac.abort();
          await req;
          const reason = await p.aborted;
          assert.ok(reason instanceof DOMException);
          assert.equal(reason.name, "AbortError");
        });
        await t.step("metrics count by route pattern", async () => {
          const text = await (await go("/metrics")).text();
          assert.match(text, /http_route="\/users\/:id"/);
          assert.match(
            text,
            /palisade_rejections_total\{reason="body_too_large"\} 1/,
          );
        });
      } finally {
        client.close();
        await server.shutdown();
      }
    });
  }
}
