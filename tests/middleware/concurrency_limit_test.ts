import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { concurrencyLimit } from "../../src/middleware/concurrency_limit.ts";
import { one, parseExposition } from "../fixtures/prometheus.ts";
import { serveApp } from "./rate_limit/_helpers.ts";

/** A handler that holds each request until `release()`; counts who started. */
function holding(): {
  started: string[];
  release: () => void;
  waitStarted: (n: number) => Promise<void>;
  handler: (
    ctx: { query: URLSearchParams; text: (s: string) => Response },
  ) => Promise<Response>;
} {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  return {
    started,
    release: () => gates.shift()?.(),
    async waitStarted(n) {
      while (started.length < n) await new Promise((r) => setTimeout(r, 2));
    },
    async handler(ctx) {
      const id = ctx.query.get("id") ?? "?";
      started.push(id);
      await new Promise<void>((r) => gates.push(r));
      return ctx.text(id);
    },
  };
}

Deno.test("concurrencyLimit: over max without a queue is 503 at once, with Retry-After and a metric", async () => {
  const h = holding();
  const app = new App();
  app.get("/work", concurrencyLimit({ max: 2 }), h.handler);
  const s = serveApp(app);
  try {
    const a = fetch(`${s.url}/work?id=a`);
    const b = fetch(`${s.url}/work?id=b`);
    await h.waitStarted(2);
    const c = await fetch(`${s.url}/work?id=c`);
    assert.equal(c.status, 503);
    assert.equal(c.headers.get("retry-after"), "1");
    assert.equal(c.headers.get("content-type"), "application/problem+json");
    assert.match(
      (await c.json()).detail,
      /All 2 slots and 0 queue places are taken/,
    );
    h.release();
    h.release();
    assert.deepEqual(
      await Promise.all([a, b].map(async (p) => (await p).text())),
      ["a", "b"],
    );
    const d = fetch(`${s.url}/work?id=d`);
    await h.waitStarted(3);
    h.release();
    assert.equal(await (await d).text(), "d", "slots were given back");
    const { samples } = parseExposition(app.metrics.text());
    assert.equal(
      one(samples, "palisade_shed_total", { reason: "queue_full" }),
      1,
    );
  } finally {
    await s.close();
  }
});

Deno.test("concurrencyLimit: the queue is FIFO, bounded, and times out", async () => {
  const h = holding();
  const app = new App();
  app.get(
    "/work",
    concurrencyLimit({ max: 1, queue: 2, queueTimeoutMs: 0 }),
    h.handler,
  );
  const s = serveApp(app, "h1");
  try {
    const a = fetch(`${s.url}/work?id=a`);
    await h.waitStarted(1);
    const b = fetch(`${s.url}/work?id=b`);
    await new Promise((r) => setTimeout(r, 20));
    const c = fetch(`${s.url}/work?id=c`);
    await new Promise((r) => setTimeout(r, 20));
    const full = await fetch(`${s.url}/work?id=x`);
    assert.equal(full.status, 503);
    await full.body?.cancel();
    for (let i = 1; i <= 3; i++) {
      h.release();
      if (i < 3) await h.waitStarted(i + 1);
    }
    assert.deepEqual(h.started, ["a", "b", "c"]);
    assert.deepEqual(
      await Promise.all([a, b, c].map(async (p) => (await p).text())),
      ["a", "b", "c"],
    );
  } finally {
    await s.close();
  }

  const h2 = holding();
  const timed = new App();
  timed.get(
    "/work",
    concurrencyLimit({ max: 1, queue: 1, queueTimeoutMs: 30 }),
    h2.handler,
  );
  const s2 = serveApp(timed);
  try {
    const a = fetch(`${s2.url}/work?id=a`);
    await h2.waitStarted(1);
    const late = await fetch(`${s2.url}/work?id=b`);
    assert.equal(late.status, 503);
    assert.match((await late.json()).detail, /queueTimeoutMs of 30 ms/);
    assert.deepEqual(h2.started, ["a"], "the timed-out request never ran");
    h2.release();
    assert.equal(await (await a).text(), "a");
    const { samples } = parseExposition(timed.metrics.text());
    assert.equal(
      one(samples, "palisade_shed_total", { reason: "queue_timeout" }),
      1,
    );
  } finally {
    await s2.close();
  }
});

Deno.test("concurrencyLimit: the deadline applies while queued, and the waiter leaves the queue", async () => {
  const h = holding();
  const app = new App();
  const limit = concurrencyLimit({ max: 1, queue: 1, queueTimeoutMs: 0 });
  app.get("/work", limit, h.handler);
  app.get("/quick", { deadlineMs: 50 }, limit, (ctx) => ctx.text("quick"));
  const s = serveApp(app);
  try {
    const a = fetch(`${s.url}/work?id=a`);
    await h.waitStarted(1);
    const queued = await fetch(`${s.url}/quick`);
    assert.equal(queued.status, 503);
    assert.match((await queued.json()).detail, /deadline of 50 ms/);
    // Had the expired waiter stayed in the queue, this one would be refused.
    const next = fetch(`${s.url}/work?id=b`);
    await new Promise((r) => setTimeout(r, 20));
    h.release();
    assert.equal(await (await a).text(), "a");
    await h.waitStarted(2);
    h.release();
    assert.equal(await (await next).text(), "b");
  } finally {
    await s.close();
  }
});

Deno.test("concurrencyLimit: a client that gives up while queued frees its place", async () => {
  const h = holding();
  const app = new App();
  app.get(
    "/work",
    concurrencyLimit({ max: 1, queue: 1, queueTimeoutMs: 0 }),
    h.handler,
  );
  const s = serveApp(app, "h1");
  try {
    const a = fetch(`${s.url}/work?id=a`);
    await h.waitStarted(1);
    const ac = new AbortController();
    const gone = fetch(`${s.url}/work?id=gone`, { signal: ac.signal }).catch((
      e,
    ) => e);
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    await gone;
    await new Promise((r) => setTimeout(r, 30));
    const b = fetch(`${s.url}/work?id=b`);
    await new Promise((r) => setTimeout(r, 20));
    h.release();
    await h.waitStarted(2);
    h.release();
    assert.equal(await (await a).text(), "a");
    assert.equal(await (await b).text(), "b");
    assert.deepEqual(h.started, ["a", "b"], "the abandoned request never ran");
  } finally {
    await s.close();
  }
});

Deno.test("concurrencyLimit: a throwing handler gives its slot back", async () => {
  const app = new App({ onError: () => {} });
  const limit = concurrencyLimit({ max: 1 });
  app.get("/boom", limit, () => {
    throw new Error("boom");
  });
  app.get("/async-boom", limit, async () => {
    await Promise.resolve();
    throw new Error("boom");
  });
  app.get("/ok", limit, (ctx) => ctx.text("ok"));
  assert.equal((await app.request("/boom")).status, 500);
  assert.equal((await app.request("/async-boom")).status, 500);
  assert.equal((await app.request("/ok")).status, 200);
});

Deno.test("concurrencyLimit: invalid options throw a TypeError naming the option", () => {
  assert.throws(
    () => concurrencyLimit({ max: 0 }),
    /^TypeError: Option max must be a positive integer, got 0$/,
  );
  assert.throws(
    () => concurrencyLimit({ max: 1, retryAfterSec: -1 }),
    /^TypeError: Option retryAfterSec must be a non-negative integer, got -1$/,
  );
});
