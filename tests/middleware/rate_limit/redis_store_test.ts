import assert from "node:assert/strict";
import { createClient } from "npm:redis@4";
import { Redis } from "npm:ioredis@5";
import fc from "npm:fast-check@4";
import { App } from "../../../src/app/app.ts";
import type { Context } from "../../../src/context/context.ts";
import { rateLimit } from "../../../src/middleware/rate_limit/rate_limit.ts";
import { redisStore } from "../../../src/middleware/rate_limit/redis_store.ts";
import { gcra, type Tat } from "../../../src/middleware/rate_limit/gcra.ts";
import { one, parseExposition } from "../../fixtures/prometheus.ts";
import {
  fakeClock,
  hasBinary,
  HOST,
  NO_REDIS,
  type RedisServer,
  serveApp,
  startRedis,
} from "./_helpers.ts";

const ignore = !hasBinary("redis-server");
if (ignore) console.warn(NO_REDIS);

const byHeader = (ctx: Context) => ctx.header("x-client") ?? "anonymous";

type Send = (args: string[]) => Promise<unknown>;

/** An npm:redis client; its raw command function and a way to close it. */
async function nodeRedis(
  port: number,
): Promise<{ send: Send; close(): Promise<void> }> {
  const client = createClient({ url: `redis://${HOST}:${port}` });
  client.on("error", () => {}); // reconnect noise after the server stops
  await client.connect();
  return {
    send: (args) => client.sendCommand(args),
    async close() {
      await client.disconnect().catch(() => {});
    },
  };
}

/** An npm:ioredis client, likewise. */
function ioRedis(port: number): { send: Send; close(): Promise<void> } {
  const client = new Redis(port, HOST, {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
  });
  client.on("error", () => {});
  return {
    send: (args) => client.call(args[0], ...args.slice(1)),
    close() {
      client.disconnect();
      return Promise.resolve();
    },
  };
}

async function withRedis(
  fn: (redis: RedisServer) => Promise<void>,
): Promise<void> {
  const redis = await startRedis();
  try {
    await fn(redis);
  } finally {
    await redis.stop();
  }
}

function limitedApp(
  send: Send,
  clock: { now: () => number },
  onError?: "open" | "closed",
): App {
  const app = new App();
  app.use(rateLimit({
    limit: 3,
    windowMs: 60_000,
    key: byHeader,
    now: clock.now,
    store: redisStore({ sendCommand: send, onError, timeoutMs: 300 }),
  }));
  app.get("/", (ctx) => ctx.text("ok"));
  return app;
}

const sanitize = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "redisStore: two Apps on one Redis share counts (npm:redis and npm:ioredis)",
  ignore,
  ...sanitize,
  fn: () =>
    withRedis(async (redis) => {
      const a = await nodeRedis(redis.port);
      const b = ioRedis(redis.port);
      const clock = fakeClock();
      const s1 = serveApp(limitedApp(a.send, clock));
      const s2 = serveApp(limitedApp(b.send, clock), "h1");
      try {
        const h = { "x-client": "alice" };
        const r1 = await s1.get("/", h);
        const r2 = await s2.get("/", h);
        const r3 = await s1.get("/", h);
        assert.deepEqual([r1.status, r2.status, r3.status], [200, 200, 200]);
        assert.deepEqual(
          [r1, r2, r3].map((r) => r.headers.get("ratelimit")),
          ['"default";r=2;t=20', '"default";r=1;t=40', '"default";r=0;t=60'],
        );
        const r4 = await s2.get("/", h);
        assert.equal(r4.status, 429);
        assert.equal(r4.headers.get("retry-after"), "20");
        assert.equal((await s1.get("/", h)).status, 429);
        assert.equal((await s2.get("/", { "x-client": "bob" })).status, 200);
        clock.advance(20_000); // Retry-After is honest across instances
        assert.equal((await s1.get("/", h)).status, 200);
        assert.equal((await s2.get("/", h)).status, 429);
        // The key expires with the TAT.
        const ttl = Number(await a.send(["PTTL", "palisade:rl:default:alice"]));
        assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
      } finally {
        await s1.close();
        await s2.close();
        await a.close();
        await b.close();
      }
    }),
});

Deno.test({
  name:
    "redisStore: EVALSHA falls back to EVAL after SCRIPT FLUSH; one round trip otherwise",
  ignore,
  ...sanitize,
  fn: () =>
    withRedis(async (redis) => {
      const a = await nodeRedis(redis.port);
      const sent: string[] = [];
      const send: Send = (args) => {
        sent.push(args[0]);
        return a.send(args);
      };
      try {
        const store = redisStore({ sendCommand: send, prefix: "t:" });
        const p = { limit: 2, windowMs: 1000, burst: 2 };
        const now = 1_700_000_000_000;
        assert.equal((await store.check("k", 1, p, now)).allowed, true);
        assert.deepEqual(
          sent,
          ["EVALSHA", "EVAL"],
          "first use loads the script",
        );
        sent.length = 0;
        assert.equal((await store.check("k", 1, p, now)).allowed, true);
        assert.deepEqual(sent, ["EVALSHA"]);
        await a.send(["SCRIPT", "FLUSH"]);
        sent.length = 0;
        const r = await store.check("k", 1, p, now);
        assert.deepEqual(sent, ["EVALSHA", "EVAL"]);
        assert.deepEqual(r, {
          allowed: false,
          remaining: 0,
          resetMs: 1000,
          retryAfterMs: 500,
        });
      } finally {
        await a.close();
      }
    }),
});

Deno.test({
  name: "redisStore: the Lua script computes exactly what gcra() does",
  ignore,
  ...sanitize,
  fn: () =>
    withRedis(async (redis) => {
      const b = ioRedis(redis.port);
      const store = redisStore({ sendCommand: b.send, prefix: "eq:" });
      let run = 0;
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.record({
              limit: fc.integer({ min: 1, max: 100_000 }),
              windowMs: fc.integer({ min: 1, max: 86_400_000 }),
              burst: fc.integer({ min: 1, max: 1000 }),
            }),
            fc.array(
              fc.record({
                dt: fc.integer({ min: 0, max: 100_000 }),
                cost: fc.integer({ min: 0, max: 5 }),
              }),
              { maxLength: 25 },
            ),
            async (p, steps) => {
              const key = `k${run++}`;
              const tat: Tat = { ms: 0, frac: 0 };
              let now = 1_700_000_000_000;
              for (const s of steps) {
                now += s.dt;
                const cost = Math.min(s.cost, p.burst);
                const expected = gcra(tat, cost, p, now);
                assert.deepEqual(
                  await store.check(key, cost, p, now),
                  expected,
                );
              }
            },
          ),
          { numRuns: 60 },
        );
      } finally {
        await b.close();
      }
    }),
});

for (const mode of ["open", "closed"] as const) {
  Deno.test({
    name: `redisStore: Redis stopped mid-test fails ${mode}, with a metric`,
    ignore,
    ...sanitize,
    fn: async () => {
      const redis = await startRedis();
      const a = await nodeRedis(redis.port);
      const b = ioRedis(redis.port);
      const clock = fakeClock();
      const apps = [
        limitedApp(a.send, clock, mode),
        limitedApp(b.send, clock, mode),
      ];
      const servers = apps.map((app) => serveApp(app));
      const original = console.error;
      const logged: unknown[] = [];
      console.error = (...args: unknown[]) => void logged.push(args);
      try {
        for (const s of servers) assert.equal((await s.get("/")).status, 200);
        await redis.stop();
        for (const s of servers) {
          for (let i = 0; i < 3; i++) {
            const res = await s.get("/");
            assert.equal(res.status, mode === "open" ? 200 : 503);
            assert.equal(res.headers.get("ratelimit"), null);
          }
        }
        for (const app of apps) {
          const { samples } = parseExposition(app.metrics.text());
          assert.equal(
            one(samples, "palisade_rate_limit_store_errors_total", {
              limiter: "default",
            }),
            3,
          );
        }
        assert.equal(logged.length, 2, "one log line per limiter");
      } finally {
        console.error = original;
        for (const s of servers) await s.close();
        await a.close();
        await b.close();
        await redis.stop();
      }
    },
  });
}

Deno.test("redisStore: invalid options throw a TypeError naming the option", () => {
  const send: Send = () => Promise.resolve(null);
  assert.throws(
    () => redisStore({} as never),
    /^TypeError: Option sendCommand must be a function$/,
  );
  assert.throws(
    () => redisStore({ sendCommand: send, onError: "maybe" as never }),
    /^TypeError: Option onError must be "open" or "closed", got maybe$/,
  );
  assert.throws(
    () => redisStore({ sendCommand: send, timeoutMs: -1 }),
    /^TypeError: Option timeoutMs must be a non-negative integer, got -1$/,
  );
});

Deno.test("redisStore: an unexpected reply is a store failure", async () => {
  const store = redisStore({ sendCommand: () => Promise.resolve("OK") });
  await assert.rejects(
    () =>
      Promise.resolve(
        store.check("k", 1, { limit: 1, windowMs: 1, burst: 1 }, 0),
      ),
    /unexpected reply: "OK"/,
  );
});
