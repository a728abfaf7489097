// Deno KV needs --unstable-kv: `deno test -A --unstable-kv tests/`. Without
// the flag `Deno.openKv` is missing and these tests are ignored.
import assert from "node:assert/strict";
import { App } from "../../../src/app/app.ts";
import type { Context } from "../../../src/context/context.ts";
import { rateLimit } from "../../../src/middleware/rate_limit/rate_limit.ts";
import { kvStore } from "../../../src/middleware/rate_limit/kv_store.ts";
import { fakeClock, serveApp } from "./_helpers.ts";

const ignore = typeof Deno.openKv !== "function";
if (ignore) {
  console.warn("Deno.openKv needs --unstable-kv: KV store tests ignored");
}

const byHeader = (ctx: Context) => ctx.header("x-client") ?? "anonymous";

async function withKv(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(`${dir}/rl.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "kvStore: two Apps on two handles of one database share counts",
  ignore,
  fn: () =>
    withKv(async (path) => {
      const kv1 = await Deno.openKv(path);
      const kv2 = await Deno.openKv(path);
      const clock = fakeClock();
      const make = (kv: Deno.Kv) => {
        const app = new App();
        app.use(
          rateLimit({
            limit: 2,
            windowMs: 1000,
            key: byHeader,
            now: clock.now,
            store: kvStore(kv),
          }),
        );
        app.get("/", (ctx) => ctx.text("ok"));
        return serveApp(app);
      };
      const s1 = make(kv1);
      const s2 = make(kv2);
      try {
        assert.equal((await s1.get("/")).status, 200);
        const second = await s2.get("/");
        assert.equal(second.headers.get("ratelimit"), '"default";r=0;t=1');
        const third = await s1.get("/");
        assert.equal(third.status, 429);
        assert.equal(third.headers.get("retry-after"), "1");
        clock.advance(500);
        assert.equal((await s2.get("/")).status, 200);
        assert.equal((await s1.get("/")).status, 429);
        const entry = await kv1.get(["palisade", "rl", "default:anonymous"]);
        assert.ok(Array.isArray(entry.value));
      } finally {
        await s1.close();
        await s2.close();
        kv1.close();
        kv2.close();
      }
    }),
});

Deno.test({
  name: "kvStore: concurrent checks of one key never both take the last unit",
  ignore,
  fn: () =>
    withKv(async (path) => {
      const kv = await Deno.openKv(path);
      let commits = 0;
      const counting = new Proxy(kv, {
        get(target, prop) {
          if (prop !== "atomic") return Reflect.get(target, prop).bind(target);
          return () => {
            const op = target.atomic();
            const commit = op.commit.bind(op);
            op.commit = () => (commits++, commit());
            return op;
          };
        },
      });
      const store = kvStore(counting, { prefix: ["c"], maxAttempts: 50 });
      const p = { limit: 10, windowMs: 60_000, burst: 10 };
      const now = 1_700_000_000_000;
      try {
        const results = await Promise.all(
          Array.from({ length: 30 }, () => store.check("k", 1, p, now)),
        );
        const allowed = results.filter((r) => r.allowed);
        assert.equal(allowed.length, 10);
        assert.deepEqual(
          allowed.map((r) => r.remaining).sort((a, b) => a - b),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        );
        assert.ok(commits > 10, `lost races were retried (${commits} commits)`);
      } finally {
        kv.close();
      }
    }),
});

Deno.test({
  name: "kvStore: invalid options throw a TypeError naming the option",
  ignore,
  fn: () =>
    withKv(async (path) => {
      const kv = await Deno.openKv(path);
      try {
        assert.throws(
          () => kvStore({} as Deno.Kv),
          /^TypeError: Argument kv must be a Deno.Kv$/,
        );
        assert.throws(
          () => kvStore(kv, { maxAttempts: 0 }),
          /^TypeError: Option maxAttempts must be a positive integer, got 0$/,
        );
        assert.throws(
          () => kvStore(kv, { onError: "x" as never }),
          /^TypeError: Option onError/,
        );
      } finally {
        kv.close();
      }
    }),
});
