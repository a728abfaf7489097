import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { delay, RawConn, refused } from "../fixtures/raw_http.ts";

const HOST = "127.0.0.1";

/** An App whose GET /stuck never answers; `running` resolves once it is hit. */
function stuckApp(): { app: App; running: Promise<void> } {
  let started!: () => void;
  const running = new Promise<void>((r) => started = r);
  const app = new App({ deadlineMs: 0 });
  app.get("/stuck", () => {
    started();
    return new Promise<Response>(() => {});
  });
  return { app, running };
}

for (const transport of ["deno", "h1"] as const) {
  Deno.test(`shutdown [${transport}]: SSE stream, slow request and idle keep-alive drain within graceMs`, async () => {
    const graceMs = 2_000;
    let slowStarted!: () => void;
    const slowRunning = new Promise<void>((r) => slowStarted = r);
    let sseReason: unknown;
    const app = new App();
    app.get("/", (ctx) => ctx.text("ok"));
    app.get("/slow", async (ctx) => {
      slowStarted();
      await delay(300);
      return ctx.text("slow done");
    });
    app.get("/events", { deadlineMs: 0 }, (ctx) =>
      ctx.sse(async (sse) => {
        await sse.send({ event: "hello", data: "1" });
        await new Promise((resolve) =>
          sse.signal.addEventListener("abort", resolve)
        );
        sseReason = sse.signal.reason;
      }, { heartbeatMs: 0 }));
    const server = serve(app, {
      hostname: HOST,
      port: 0,
      transport,
      shutdown: { graceMs, signals: [] },
    });
    app.get("/healthz", server.health());
    const port = server.addr.port;

    // An SSE client that has received its first event.
    const sse = await fetch(`http://${HOST}:${port}/events`);
    assert.equal(sse.status, 200);
    const reader = sse.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.equal(first, "event: hello\ndata: 1\n\n");

    // An idle keep-alive connection, after one request.
    const idle = await RawConn.open(port);
    await idle.get("/");
    assert.equal((await idle.readResponse()).status, 200);

    // A slow request in flight.
    const slow = await RawConn.open(port);
    await slow.get("/slow");
    await slowRunning;

    assert.equal((await app.request("/healthz")).status, 200);
    const start = performance.now();
    const finished = server.shutdown();
    assert.equal(server.draining, true);
    const health = await app.request("/healthz");
    assert.equal(health.status, 503);
    assert.equal(
      health.headers.get("content-type"),
      "application/problem+json",
    );
    await health.body?.cancel();

    // The slow request gets its full 200, then its connection closes.
    const slowRes = await slow.readResponse();
    assert.equal(slowRes.status, 200);
    assert.equal(slowRes.body, "slow done");
    assert.equal(await slow.closedWithin(graceMs), true);

    // The SSE client sees a clean end of stream, not an error.
    let rest = "";
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.equal(rest, "");
    assert.ok(sseReason instanceof DOMException);

    // The idle connection is closed by the server.
    assert.equal(await idle.closedWithin(graceMs), true);

    const report = await finished;
    const elapsed = performance.now() - start;
    assert.ok(elapsed < graceMs + 500, `shutdown took ${elapsed} ms`);
    assert.ok(report.durationMs <= elapsed);
    assert.equal(report.aborted, 0);
    // The slow request, the SSE stream and the /healthz probe while draining.
    assert.equal(report.completed, 3);
    assert.equal(await refused(port), true);
    assert.equal(await server.shutdown(), report); // idempotent
  });

  Deno.test(`shutdown [${transport}]: a handler that ignores everything is aborted at graceMs`, async () => {
    const graceMs = 300;
    let signal!: AbortSignal;
    let started!: () => void;
    const running = new Promise<void>((r) => started = r);
    const app = new App({ deadlineMs: 0 });
    app.get("/stuck", (ctx) => {
      signal = ctx.signal;
      started();
      return new Promise<Response>(() => {}); // never settles
    });
    const server = serve(app, {
      hostname: HOST,
      port: 0,
      transport,
      shutdown: { graceMs, signals: [] },
    });
    const conn = await RawConn.open(server.addr.port);
    await conn.get("/stuck", { "x-request-id": "stuck-1" });
    await running;
    const start = performance.now();
    const finished = server.shutdown();
    const res = await conn.readResponse();
    const waited = performance.now() - start;
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("x-request-id"), "stuck-1");
    assert.ok(waited >= graceMs - 5, `aborted after ${waited} ms`);
    assert.equal(signal.aborted, true);
    assert.ok(signal.reason instanceof DOMException);
    assert.equal(signal.reason.name, "AbortError");
    assert.equal(signal.reason.message, "Server is shutting down");
    const report = await finished;
    assert.equal(report.aborted, 1);
    assert.equal(report.completed, 0);
    assert.ok(report.durationMs >= graceMs - 5);
    assert.ok(
      report.durationMs < graceMs + 500,
      `took ${report.durationMs} ms`,
    );
    conn.close();
  });

  Deno.test(`shutdown [${transport}]: a second signal forces the shutdown`, async () => {
    const { app, running } = stuckApp();
    const server = serve(app, {
      hostname: HOST,
      port: 0,
      transport,
      shutdown: { graceMs: 60_000, signals: ["SIGUSR2"] },
    });
    const conn = await RawConn.open(server.addr.port);
    await conn.get("/stuck");
    await running;
    Deno.kill(Deno.pid, "SIGUSR2");
    while (!server.draining) await delay(5);
    assert.equal(await refused(server.addr.port), true);
    const start = performance.now();
    Deno.kill(Deno.pid, "SIGUSR2");
    const res = await conn.readResponse();
    assert.equal(res.status, 503);
    const report = await server.finished;
    assert.ok(performance.now() - start < 5_000); // far below graceMs
    assert.equal(report.aborted, 1);
    conn.close();
  });

  Deno.test(`shutdown [${transport}]: shutdown({ graceMs: 0 }) during a drain forces it`, async () => {
    const { app, running } = stuckApp();
    const server = serve(app, {
      hostname: HOST,
      port: 0,
      transport,
      shutdown: { graceMs: 60_000, signals: [] },
    });
    const conn = await RawConn.open(server.addr.port);
    await conn.get("/stuck");
    await running;
    const first = server.shutdown();
    const second = server.shutdown({ graceMs: 0 });
    assert.equal(first, second);
    assert.equal((await conn.readResponse()).status, 503);
    assert.equal((await first).aborted, 1);
    conn.close();
  });

  Deno.test(`shutdown [${transport}]: onShutdown is called once when the shutdown begins`, async () => {
    const calls: unknown[] = [];
    const app = new App();
    const server = serve(app, {
      hostname: HOST,
      port: 0,
      transport,
      shutdown: { graceMs: 1234, signals: [] },
      onShutdown: (info) => {
        calls.push(info);
        throw new Error("ignored");
      },
    });
    assert.deepEqual(calls, []);
    server.shutdown();
    server.shutdown();
    assert.deepEqual(calls, [{ graceMs: 1234 }]);
    const report = await server.finished;
    assert.deepEqual([report.completed, report.aborted], [0, 0]);
  });

  Deno.test(`shutdown [${transport}]: 50 start/shutdown cycles leave no listeners, timers or resources`, async () => {
    // Deno's sanitizers do not see signal listeners: count them with a spy.
    const add = Deno.addSignalListener;
    const remove = Deno.removeSignalListener;
    const active = new Set<string>();
    let added = 0;
    Deno.addSignalListener = (signal, handler) => {
      added++;
      active.add(signal);
      add(signal, handler);
    };
    Deno.removeSignalListener = (signal, handler) => {
      active.delete(signal);
      remove(signal, handler);
    };
    try {
      const app = new App();
      app.get("/", (ctx) => ctx.text("ok"));
      for (let i = 0; i < 50; i++) {
        // Default signals: SIGINT and SIGTERM listeners are added and removed.
        const server = serve(app, { hostname: HOST, port: 0, transport });
        assert.deepEqual([...active].sort(), ["SIGINT", "SIGTERM"]);
        const res = await fetch(`http://${HOST}:${server.addr.port}/`);
        assert.equal(await res.text(), "ok");
        const report = await server.shutdown();
        assert.equal(report.aborted, 0);
        assert.equal(active.size, 0);
      }
      assert.equal(added, 100);
    } finally {
      Deno.addSignalListener = add;
      Deno.removeSignalListener = remove;
    }
    // Deno's test sanitizers (ops, resources, timers) check the rest.
  });
}

Deno.test("shutdown: graceMs is validated", () => {
  const app = new App();
  for (const graceMs of [-1, 1.5, NaN]) {
    assert.throws(
      () => serve(app, { hostname: HOST, port: 0, shutdown: { graceMs } }),
      (e: unknown) => e instanceof TypeError && e.message.includes("graceMs"),
    );
  }
});
