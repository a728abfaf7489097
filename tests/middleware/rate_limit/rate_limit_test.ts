import assert from "node:assert/strict";
import { App } from "../../../src/app/app.ts";
import type { Context } from "../../../src/context/context.ts";
import { rateLimit } from "../../../src/middleware/rate_limit/rate_limit.ts";
import { memoryStore } from "../../../src/middleware/rate_limit/memory_store.ts";
import type { RateLimitStore } from "../../../src/middleware/rate_limit/store.ts";
import { one, parseExposition } from "../../fixtures/prometheus.ts";
import { fakeClock, serveApp } from "./_helpers.ts";

const byHeader = (ctx: Context) => ctx.header("x-client") ?? "anonymous";

Deno.test("rateLimit: exact at the boundary, 429 problem+json with an honest Retry-After", async () => {
  const clock = fakeClock();
  const app = new App();
  app.use(rateLimit({ limit: 3, windowMs: 60_000, now: clock.now }));
  app.get("/", (ctx) => ctx.text("ok"));
  const s = serveApp(app);
  try {
    for (let i = 0; i < 3; i++) {
      const res = await s.get("/");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("ratelimit-policy"), '"default";q=3;w=60');
      assert.equal(
        res.headers.get("ratelimit"),
        `"default";r=${2 - i};t=${20 * (i + 1)}`,
      );
      assert.equal(res.headers.get("retry-after"), null);
    }
    const res = await fetch(s.url + "/");
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.equal(res.headers.get("retry-after"), "20");
    assert.equal(res.headers.get("ratelimit"), '"default";r=0;t=20');
    const body = await res.json();
    assert.equal(body.status, 429);
    assert.equal(body.title, "Too Many Requests");
    assert.match(
      body.detail,
      /Rate limit "default" of 3 per 60000 ms exceeded/,
    );
    // One ms before Retry-After ends, still refused; at its end, allowed.
    clock.advance(19_999);
    assert.equal((await s.get("/")).status, 429);
    clock.advance(1);
    const after = await s.get("/");
    assert.equal(after.status, 200);
    assert.equal(after.headers.get("ratelimit"), '"default";r=0;t=60');
  } finally {
    await s.close();
  }
});

Deno.test("rateLimit: Retry-After rounds a sub-second wait up to whole seconds", async () => {
  const clock = fakeClock();
  const app = new App();
  app.use(rateLimit({ limit: 10, windowMs: 1000, burst: 1, now: clock.now }));
  app.get("/", (ctx) => ctx.text("ok"));
  const s = serveApp(app, "h1");
  try {
    assert.equal((await s.get("/")).status, 200);
    clock.advance(30);
    const res = await s.get("/");
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(res.headers.get("ratelimit"), '"default";r=0;t=1');
    assert.equal(res.headers.get("ratelimit-policy"), '"default";q=10;w=1');
    clock.advance(70); // 100 ms after the first: the next emission
    assert.equal((await s.get("/")).status, 200);
  } finally {
    await s.close();
  }
});

Deno.test("rateLimit: keys are separate; burst bounds the first spend", async () => {
  const clock = fakeClock();
  const app = new App();
  app.use(
    rateLimit({
      limit: 100,
      windowMs: 1000,
      burst: 2,
      key: byHeader,
      now: clock.now,
    }),
  );
  app.get("/", (ctx) => ctx.text("ok"));
  const s = serveApp(app);
  try {
    const a = { "x-client": "a" };
    assert.equal((await s.get("/", a)).status, 200);
    assert.equal((await s.get("/", a)).status, 200);
    assert.equal((await s.get("/", a)).status, 429);
    assert.equal((await s.get("/", { "x-client": "b" })).status, 200);
    clock.advance(10); // one emission interval
    assert.equal((await s.get("/", a)).status, 200);
    assert.equal((await s.get("/", a)).status, 429);
  } finally {
    await s.close();
  }
});

Deno.test("rateLimit: default key groups IPv6 by /64 and maps IPv4-mapped IPv6 to IPv4", async () => {
  const clock = fakeClock();
  const app = new App({ trustProxy: { proxies: ["127.0.0.1"] } });
  app.use(rateLimit({ limit: 1, windowMs: 60_000, now: clock.now }));
  app.get("/", (ctx) => ctx.text("ok"));
  const s = serveApp(app);
  const from = (ip: string) => s.get("/", { "x-forwarded-for": ip });
  try {
    assert.equal((await from("2001:db8:1:2::1")).status, 200);
    assert.equal((await from("2001:db8:1:2:ffff::9")).status, 429, "same /64");
    assert.equal((await from("2001:db8:1:3::1")).status, 200, "next /64");
    assert.equal((await from("192.0.2.7")).status, 200);
    assert.equal((await from("::ffff:192.0.2.7")).status, 429, "mapped IPv4");
    assert.equal((await from("192.0.2.8")).status, 200);
  } finally {
    await s.close();
  }
  const perAddress = new App({ trustProxy: { proxies: ["127.0.0.1"] } });
  perAddress.use(
    rateLimit({ limit: 1, windowMs: 60_000, ipv6Subnet: 0, now: clock.now }),
  );
  perAddress.get("/", (ctx) => ctx.text("ok"));
  const res1 = await perAddress.request("/", {
    headers: { "x-forwarded-for": "2001:db8::1" },
  });
  const res2 = await perAddress.request("/", {
    headers: { "x-forwarded-for": "2001:db8::2" },
  });
  assert.equal(res1.status, 200);
  assert.equal(res2.status, 200, "ipv6Subnet 0 limits each address alone");
});

Deno.test("rateLimit: several limiters compose, the tightest wins the RateLimit field", async () => {
  const clock = fakeClock();
  const app = new App();
  app.use(
    rateLimit({
      name: "hour",
      limit: 100,
      windowMs: 3_600_000,
      key: byHeader,
      now: clock.now,
    }),
  );
  app.get(
    "/",
    rateLimit({
      name: "sec",
      limit: 2,
      windowMs: 1000,
      key: byHeader,
      now: clock.now,
    }),
    (ctx) => ctx.text("ok"),
  );
  const s = serveApp(app);
  try {
    const policy = '"hour";q=100;w=3600, "sec";q=2;w=1';
    const r1 = await s.get("/");
    assert.equal(r1.headers.get("ratelimit-policy"), policy);
    // hour: r=99 t=36; sec: r=1 t=1 → sec is tighter.
    assert.equal(r1.headers.get("ratelimit"), '"sec";r=1;t=1');
    const r2 = await s.get("/");
    assert.equal(r2.headers.get("ratelimit"), '"sec";r=0;t=1');
    const r3 = await s.get("/");
    assert.equal(r3.status, 429);
    assert.equal(r3.headers.get("ratelimit-policy"), policy);
    assert.equal(r3.headers.get("ratelimit"), '"sec";r=0;t=1');
    assert.equal(r3.headers.get("retry-after"), "1");
  } finally {
    await s.close();
  }
});

Deno.test("rateLimit: skip, cost, and a cost above the burst", async () => {
  const clock = fakeClock();
  const errors: unknown[] = [];
  const app = new App({ onError: (e) => void errors.push(e) });
  app.use(rateLimit({
    limit: 10,
    windowMs: 1000,
    now: clock.now,
    skip: (ctx) => ctx.path === "/health",
    cost: (ctx) => Number(ctx.query.get("cost") ?? 1),
  }));
  app.get("/health", (ctx) => ctx.text("ok"));
  app.get("/", (ctx) => ctx.text("ok"));
  const s = serveApp(app);
  try {
    const skipped = await s.get("/health");
    assert.equal(skipped.status, 200);
    assert.equal(skipped.headers.get("ratelimit"), null);
    const heavy = await s.get("/?cost=8");
    assert.equal(heavy.headers.get("ratelimit"), '"default";r=2;t=1');
    const free = await s.get("/?cost=0");
    assert.equal(free.status, 200);
    assert.equal(free.headers.get("ratelimit"), '"default";r=2;t=1');
    const tooMuch = await s.get("/?cost=3");
    assert.equal(tooMuch.status, 429);
    assert.equal(tooMuch.headers.get("retry-after"), "1");
    const never = await fetch(s.url + "/?cost=11");
    assert.equal(never.status, 429);
    assert.equal(never.headers.get("retry-after"), null);
    assert.match(
      (await never.json()).detail,
      /cost of 11 exceeds the burst of 10/,
    );
    const bad = await s.get("/?cost=1.5");
    assert.equal(bad.status, 500);
    assert.match(
      String(errors[0]),
      /cost must return a non-negative integer, got 1.5/,
    );
  } finally {
    await s.close();
  }
});

Deno.test("rateLimit: refusals are counted in palisade_rate_limited_total{limiter}", async () => {
  const clock = fakeClock();
  const app = new App();
  app.use(
    "/api",
    rateLimit({ name: "api", limit: 1, windowMs: 1000, now: clock.now }),
  );
  app.get("/api", (ctx) => ctx.text("ok"));
  app.get("/metrics", app.metrics.handler());
  await app.request("/api");
  await app.request("/api");
  await app.request("/api");
  const text = await (await app.request("/metrics")).text();
  const { samples } = parseExposition(text);
  assert.equal(
    one(samples, "palisade_rate_limited_total", { limiter: "api" }),
    2,
  );
});

Deno.test("rateLimit: 10 000 unique keys against maxKeys 1000 keep the store at 1000", async () => {
  const clock = fakeClock();
  const store = memoryStore({ maxKeys: 1000 });
  const app = new App();
  app.use(
    rateLimit({
      limit: 1,
      windowMs: 60_000,
      key: byHeader,
      store,
      now: clock.now,
    }),
  );
  app.get("/", (ctx) => ctx.text("ok"));
  const s = serveApp(app, "h1");
  try {
    for (let i = 0; i < 10_000; i += 50) {
      const batch = [];
      for (let j = i; j < i + 50; j++) {
        batch.push(s.get("/", { "x-client": `k${j}` }));
      }
      for (const res of await Promise.all(batch)) assert.equal(res.status, 200);
      assert.ok(store.size <= 1000);
    }
    assert.equal(store.size, 1000);
    // The newest keys are still limited; the oldest were forgotten.
    assert.equal((await s.get("/", { "x-client": "k9999" })).status, 429);
    assert.equal((await s.get("/", { "x-client": "k0" })).status, 200);
  } finally {
    await s.close();
  }
});

Deno.test("rateLimit: long keys are hashed before they reach the store", async () => {
  const seen: string[] = [];
  const store: RateLimitStore = {
    name: "spy",
    onError: "open",
    check(key) {
      seen.push(key);
      return { allowed: true, remaining: 1, resetMs: 0, retryAfterMs: 0 };
    },
  };
  const app = new App();
  app.use(rateLimit({ limit: 1, windowMs: 1000, store, key: byHeader }));
  app.get("/", (ctx) => ctx.text("ok"));
  await app.request("/", { headers: { "x-client": "x".repeat(5000) } });
  await app.request("/", { headers: { "x-client": "short" } });
  assert.equal(seen[0].length, "default:".length + 43);
  assert.equal(seen[1], "default:short");
});

function failingStore(onError: "open" | "closed"): RateLimitStore {
  return {
    name: "broken",
    onError,
    check: () => Promise.reject(new Error("connection refused")),
  };
}

Deno.test("rateLimit: a failing store fails open or closed, counted and logged once per interval", async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    const clock = fakeClock();
    for (const mode of ["open", "closed"] as const) {
      logged.length = 0;
      const app = new App();
      app.use(
        rateLimit({
          name: mode,
          limit: 1,
          windowMs: 1000,
          store: failingStore(mode),
          now: clock.now,
        }),
      );
      app.get("/", (ctx) => ctx.text("ok"));
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        const res = await app.request("/");
        statuses.push(res.status);
        assert.equal(res.headers.get("ratelimit"), null);
      }
      assert.deepEqual(statuses, Array(5).fill(mode === "open" ? 200 : 503));
      assert.equal(logged.length, 1, "one log line for five failures");
      clock.advance(10_000);
      await app.request("/");
      assert.equal(logged.length, 2);
      assert.match(String(logged[1][0]), /and 4 more times/);
      const { samples } = parseExposition(app.metrics.text());
      assert.equal(
        one(samples, "palisade_rate_limit_store_errors_total", {
          limiter: mode,
        }),
        6,
      );
    }
  } finally {
    console.error = original;
  }
});

Deno.test("rateLimit: asynchronous stores are timed by store name", async () => {
  const store: RateLimitStore = {
    name: "slow",
    onError: "open",
    check: () =>
      Promise.resolve({
        allowed: true,
        remaining: 0,
        resetMs: 1,
        retryAfterMs: 0,
      }),
  };
  const app = new App();
  app.use(rateLimit({ limit: 1, windowMs: 1000, store }));
  app.get("/", (ctx) => ctx.text("ok"));
  // The first check tells the limiter the store is asynchronous.
  for (let i = 0; i < 3; i++) await app.request("/");
  const { samples } = parseExposition(app.metrics.text());
  assert.equal(
    one(samples, "palisade_rate_limit_store_duration_seconds_count", {
      store: "slow",
    }),
    2,
  );
});

Deno.test("rateLimit: invalid options throw a TypeError naming the option", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { limit: 0, windowMs: 1000 },
      /^Option limit must be a positive integer, got 0$/,
    ],
    [
      { limit: 1, windowMs: 1.5 },
      /^Option windowMs must be a positive integer, got 1.5$/,
    ],
    [
      { limit: 1, windowMs: 1000, burst: -1 },
      /^Option burst must be a positive integer, got -1$/,
    ],
    [
      { limit: 1, windowMs: 1000, ipv6Subnet: 129 },
      /^Option ipv6Subnet must be an integer from 0 to 128, got 129$/,
    ],
    [
      { limit: 1, windowMs: 1000, name: "bad\nname" },
      /^Option name must be 1 to 64 printable ASCII/,
    ],
    [
      { limit: 1, windowMs: 1000, key: "ip" },
      /^Option key must be a function$/,
    ],
    [
      { limit: 1, windowMs: 1000, store: {} },
      /^Option store must be a RateLimitStore$/,
    ],
    [
      { limit: 2 ** 40, windowMs: 2 ** 20 },
      /^Options burst and windowMs must have 2 × burst × windowMs at most 2\^53 − 1, got burst 1099511627776 and windowMs 1048576$/,
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => rateLimit(options as unknown as Parameters<typeof rateLimit>[0]),
      (e: unknown) => e instanceof TypeError && message.test(e.message),
      JSON.stringify(options),
    );
  }
  assert.throws(
    () => memoryStore({ maxKeys: 0 }),
    /^TypeError: Option maxKeys must be a positive integer, got 0$/,
  );
});
