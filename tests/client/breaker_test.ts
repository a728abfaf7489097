import assert from "node:assert/strict";
import {
  CircuitOpenError,
  ConnectError,
  createClient,
} from "../../src/client/mod.ts";
import { Breaker, type BreakerState } from "../../src/client/breaker.ts";
import type { BreakerSettings } from "../../src/client/options.ts";
import { Metrics } from "../../src/observe/metrics.ts";
import { closedPort, fakeClock, upstream } from "./_upstream.ts";

const SETTINGS: BreakerSettings = {
  windowMs: 1_000,
  minRequests: 4,
  failureRate: 0.5,
  cooldownMs: 500,
  halfOpenProbes: 2,
  isFailure: (s) => s >= 500,
};

function breaker(): { b: Breaker; states: BreakerState[] } {
  const states: BreakerState[] = [];
  return { b: new Breaker(SETTINGS, (s) => states.push(s)), states };
}

Deno.test("Breaker opens once minRequests are in the window and the failure rate is reached", () => {
  const { b, states } = breaker();
  const t = 10_000;
  for (const outcome of ["failure", "failure", "failure"] as const) {
    b.settle(b.acquire(t)!, outcome, t);
  }
  assert.equal(b.state, "closed"); // 3 < minRequests
  b.settle(b.acquire(t)!, "success", t);
  assert.equal(b.state, "closed"); // rate counted on failures only
  b.settle(b.acquire(t)!, "failure", t);
  assert.equal(b.state, "open"); // 4 of 5 failed
  assert.deepEqual(states, ["open"]);
  assert.equal(b.acquire(t + 499), null);
  assert.equal(b.retryAfterMs(t + 100), 400);
});

Deno.test("Breaker forgets outcomes older than the window", () => {
  const { b } = breaker();
  for (let i = 0; i < 3; i++) b.settle(b.acquire(0)!, "failure", 0);
  // 1.2 s later the three failures have left the 1 s window.
  const later = 1_200;
  b.settle(b.acquire(later)!, "failure", later);
  b.settle(b.acquire(later)!, "success", later);
  b.settle(b.acquire(later)!, "success", later);
  b.settle(b.acquire(later)!, "failure", later);
  assert.equal(b.state, "open"); // 2 of 4 in the window: rate 0.5
  const { b: fresh } = breaker();
  for (let i = 0; i < 3; i++) fresh.settle(fresh.acquire(0)!, "failure", 0);
  fresh.settle(fresh.acquire(later)!, "failure", later);
  assert.equal(fresh.state, "closed"); // only 1 attempt in the window
});

Deno.test("Breaker half-open admits halfOpenProbes probes, closes when they succeed", () => {
  const { b, states } = breaker();
  for (let i = 0; i < 4; i++) b.settle(b.acquire(0)!, "failure", 0);
  assert.equal(b.state, "open");
  const t = 600;
  const p1 = b.acquire(t);
  const p2 = b.acquire(t);
  assert.equal(b.state, "half-open");
  assert.deepEqual([p1?.kind, p2?.kind], ["probe", "probe"]);
  assert.equal(b.acquire(t), null); // probes bounded
  b.settle(p1!, "success", t);
  assert.equal(b.acquire(t), null); // still bounded: one succeeded, one out
  b.settle(p2!, "success", t);
  assert.equal(b.state, "closed");
  assert.deepEqual(states, ["open", "half-open", "closed"]);
  assert.equal(b.acquire(t)?.kind, "pass");
});

Deno.test("Breaker: a failed probe reopens it; an ignored probe frees its slot", () => {
  const { b } = breaker();
  for (let i = 0; i < 4; i++) b.settle(b.acquire(0)!, "failure", 0);
  const p1 = b.acquire(600)!;
  const p2 = b.acquire(600)!;
  b.settle(p1, "ignored", 600);
  const p3 = b.acquire(600);
  assert.equal(p3?.kind, "probe");
  b.settle(p2, "failure", 650);
  assert.equal(b.state, "open");
  assert.equal(b.retryAfterMs(650), 500);
  b.settle(p3!, "success", 660); // late probe of the previous round: no effect
  assert.equal(b.state, "open");
  assert.equal(b.acquire(1_100), null);
  assert.equal(b.acquire(1_150)?.kind, "probe");
});

Deno.test("Breaker: a probe that outlives its half-open round counts for nothing", () => {
  const { b } = breaker();
  for (let i = 0; i < 4; i++) b.settle(b.acquire(0)!, "failure", 0);
  const stale = b.acquire(600)!;
  b.settle(b.acquire(600)!, "failure", 600); // reopens while `stale` is out
  const q1 = b.acquire(1_100)!;
  b.settle(stale, "success", 1_100);
  b.settle(q1, "success", 1_100);
  assert.equal(b.state, "half-open"); // one of two probes of this round done
  const q2 = b.acquire(1_100)!;
  assert.equal(b.acquire(1_100), null);
  b.settle(q2, "success", 1_100);
  assert.equal(b.state, "closed");
});

Deno.test("the client's breaker opens after the threshold, fails fast without network, recovers", async () => {
  let healthy = false;
  const up = upstream(() =>
    healthy ? new Response("ok") : new Response("down", { status: 500 })
  );
  const clock = fakeClock();
  const metrics = new Metrics();
  using client = createClient({
    baseUrl: up.url,
    clock,
    metrics,
    retry: false,
    breaker: {
      minRequests: 3,
      failureRate: 0.5,
      cooldownMs: 1_000,
      halfOpenProbes: 1,
    },
  });
  try {
    const host = new URL(up.url).host;
    const first = await client.get("/x");
    await first.body?.cancel();
    assert.match(
      metrics.text(),
      new RegExp(
        `palisade_client_breaker_state\\{server_address="${host}"\\} 0`,
      ),
    );
    for (let i = 0; i < 2; i++) {
      const res = await client.get("/x");
      assert.equal(res.status, 500);
      await res.body?.cancel();
    }
    assert.equal(up.hits, 3);
    assert.match(
      metrics.text(),
      new RegExp(
        `palisade_client_breaker_state\\{server_address="${host}"\\} 2`,
      ),
    );

    clock.t += 400;
    const refused = await client.get("/x").catch((e) => e);
    assert.ok(refused instanceof CircuitOpenError);
    assert.equal(up.hits, 3); // no network
    assert.equal(refused.retryAfterMs, 600);
    const problem = refused.toResponse();
    assert.equal(problem.status, 503);
    assert.equal(problem.headers.get("retry-after"), "1");
    assert.ok(!(await problem.text()).includes(host));
    assert.match(
      metrics.text(),
      new RegExp(
        `palisade_client_breaker_rejections_total\\{server_address="${host}"\\} 1`,
      ),
    );

    // After the cool-down one probe goes out; it succeeds and closes the breaker.
    clock.t += 600;
    healthy = true;
    const probe = await client.get("/x");
    assert.equal(await probe.text(), "ok");
    assert.equal(up.hits, 4);
    assert.match(
      metrics.text(),
      new RegExp(
        `palisade_client_breaker_state\\{server_address="${host}"\\} 0`,
      ),
    );
    const again = await client.get("/x");
    assert.equal(await again.text(), "ok");
    assert.equal(up.hits, 5);
  } finally {
    await up.close();
  }
});

Deno.test("half-open: while the probe is out, other calls are refused", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let healthy = false;
  const up = upstream(async () => {
    if (!healthy) return new Response(null, { status: 503 });
    await gate;
    return new Response("ok");
  });
  const clock = fakeClock();
  using client = createClient({
    baseUrl: up.url,
    clock,
    retry: false,
    breaker: { minRequests: 2, cooldownMs: 100, halfOpenProbes: 1 },
  });
  try {
    for (let i = 0; i < 2; i++) await (await client.get("/")).body?.cancel();
    clock.t += 100;
    healthy = true;
    const probe = client.get("/");
    while (up.hits < 3) await new Promise((r) => setTimeout(r, 1));
    const refused = await client.get("/").catch((e) => e);
    assert.ok(refused instanceof CircuitOpenError);
    assert.equal(refused.toResponse().headers.get("retry-after"), "1");
    release();
    assert.equal(await (await probe).text(), "ok");
    assert.equal(up.hits, 3);
  } finally {
    release();
    await up.close();
  }
});

Deno.test("breakers are per origin, and network errors count as failures", async () => {
  const port = closedPort();
  const up = upstream(() => new Response("ok"));
  const clock = fakeClock();
  using client = createClient({
    clock,
    retry: false,
    breaker: { minRequests: 2, failureRate: 1 },
  });
  try {
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        client.get(`http://127.0.0.1:${port}/`),
        ConnectError,
      );
    }
    await assert.rejects(
      client.get(`http://127.0.0.1:${port}/`),
      CircuitOpenError,
    );
    const res = await client.get(up.url + "/");
    assert.equal(await res.text(), "ok");
  } finally {
    await up.close();
  }
});

Deno.test("breaker.isFailure decides which statuses count", async () => {
  const up = upstream(() => new Response(null, { status: 429 }));
  const clock = fakeClock();
  using client = createClient({
    baseUrl: up.url,
    clock,
    retry: false,
    breaker: { minRequests: 2, isFailure: (s) => s === 429 || s >= 500 },
  });
  try {
    for (let i = 0; i < 2; i++) await (await client.get("/")).body?.cancel();
    await assert.rejects(client.get("/"), CircuitOpenError);
    assert.equal(up.hits, 2);
  } finally {
    await up.close();
  }
});

Deno.test("an open breaker stops the retries of a call", async () => {
  const up = upstream(() => new Response(null, { status: 503 }));
  const clock = fakeClock();
  using client = createClient({
    baseUrl: up.url,
    clock,
    retry: { attempts: 5 },
    breaker: { minRequests: 2 },
  });
  try {
    await assert.rejects(client.get("/"), CircuitOpenError);
    assert.equal(up.hits, 2);
  } finally {
    await up.close();
  }
});
