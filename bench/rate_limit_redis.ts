/**
 * What one `redisStore` check costs over loopback: sequential checks (one
 * round trip each) against a `PING` baseline with the same client, for
 * `npm:redis` and `npm:ioredis`, and 64 concurrent checks at a time (the
 * clients pipeline them). Starts its own `redis-server` on a free port,
 * pinned to core 1 (this process should run on core 0).
 *
 * Run: `taskset -c 0 deno run -A bench/rate_limit_redis.ts`
 *
 * @module
 */

import { createClient } from "npm:redis@4";
import { Redis } from "npm:ioredis@5";
import { redisStore } from "../src/middleware/rate_limit/redis_store.ts";
import { startRedis } from "../tests/middleware/rate_limit/_helpers.ts";

const N = 20_000;
const params = { limit: 1_000_000, windowMs: 1000, burst: 1_000_000 };
const redis = await startRedis(["taskset", "-c", "1"]);

async function measure(
  label: string,
  send: (args: string[]) => Promise<unknown>,
): Promise<void> {
  const store = redisStore({ sendCommand: send });
  const now = Date.now();
  for (let i = 0; i < 2000; i++) {
    await send(["PING"]);
    await store.check(`warm${i % 100}`, 1, params, now);
  }
  let t = performance.now();
  for (let i = 0; i < N; i++) await send(["PING"]);
  const ping = (performance.now() - t) * 1000 / N;
  t = performance.now();
  for (let i = 0; i < N; i++) await store.check(`k${i % 1000}`, 1, params, now);
  const check = (performance.now() - t) * 1000 / N;
  t = performance.now();
  for (let i = 0; i < N; i += 64) {
    const batch = [];
    for (let j = 0; j < 64; j++) {
      batch.push(store.check(`k${(i + j) % 1000}`, 1, params, now));
    }
    await Promise.all(batch);
  }
  const concurrent = (performance.now() - t) * 1000 / N;
  console.log(
    `| ${label} | ${ping.toFixed(1)} | ${check.toFixed(1)} | ${
      (check - ping).toFixed(1)
    } | ${concurrent.toFixed(1)} |`,
  );
}

try {
  console.log(
    "| client | PING µs (round trip) | check µs (sequential) | check − PING µs | check µs, 64 concurrent |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: |");
  const a = createClient({ url: `redis://127.0.0.1:${redis.port}` });
  await a.connect();
  await measure("npm:redis 4", (args) => a.sendCommand(args));
  await a.disconnect();
  const b = new Redis(redis.port, "127.0.0.1");
  await measure("npm:ioredis 5", (args) => b.call(args[0], ...args.slice(1)));
  b.disconnect();
} finally {
  await redis.stop();
}
