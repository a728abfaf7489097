import assert from "node:assert/strict";
import { Metrics } from "../../src/observe/metrics.ts";
import { joinMetricsGroup } from "../../src/observe/metrics_group.ts";
import { one, parseExposition } from "../fixtures/prometheus.ts";

// BroadcastChannel delivers between instances in one thread too, so two
// registries here stand for two workers.

let groups = 0;
function uniqueKey(): string {
  return `test-${Deno.pid}-${++groups}`;
}

async function scrape(m: Metrics): Promise<string> {
  return await (await m.handler()()).text();
}

Deno.test("metrics group: a registry in no group answers at once, alone", () => {
  const m = new Metrics();
  m.record("GET", "/", 200, 0.01);
  const res = m.handler()();
  assert.ok(res instanceof Response, "no promise, no channel");
});

Deno.test("metrics group: a scrape of any member sums every member", async () => {
  const key = uniqueKey();
  const a = new Metrics();
  const b = new Metrics();
  const c = new Metrics();
  const leaveA = joinMetricsGroup(a, key);
  const leaveB = joinMetricsGroup(b, key);
  const leaveC = joinMetricsGroup(c, key);
  try {
    a.record("GET", "/x", 200, 0.01);
    b.record("GET", "/x", 200, 0.01);
    b.record("GET", "/x", 200, 0.01);
    c.counter("only_in_c_total", "C only.").inc();
    for (const m of [a, b, c]) {
      const { samples } = parseExposition(await scrape(m));
      assert.equal(one(samples, "palisade_metrics_workers"), 3);
      assert.equal(
        one(samples, "http_server_request_duration_seconds_count", {
          http_route: "/x",
        }),
        3,
      );
      assert.equal(one(samples, "only_in_c_total"), 1);
    }
  } finally {
    leaveA();
    leaveB();
    leaveC();
  }
});

Deno.test("metrics group: a member that left is no longer counted", async () => {
  const key = uniqueKey();
  const a = new Metrics();
  const b = new Metrics();
  const leaveA = joinMetricsGroup(a, key);
  const leaveB = joinMetricsGroup(b, key);
  b.record("GET", "/x", 200, 0.01);
  assert.equal(
    one(parseExposition(await scrape(a)).samples, "palisade_metrics_workers"),
    2,
  );
  leaveB();
  await new Promise((r) => setTimeout(r, 10)); // let the bye arrive
  const { samples } = parseExposition(await scrape(a));
  assert.equal(one(samples, "palisade_metrics_workers"), 1);
  leaveA();
  const res = a.handler()();
  assert.ok(res instanceof Response, "out of the group: local again");
  assert.ok(!(await res.text()).includes("palisade_metrics_workers"));
});

Deno.test("metrics group: a peer that does not answer in time is forgotten", async () => {
  const key = uniqueKey();
  const a = new Metrics();
  const leaveA = joinMetricsGroup(a, key);
  // A peer that announces itself and ignores the first ask, then answers.
  const peer = new BroadcastChannel(`palisade:metrics:${key}`);
  let asks = 0;
  peer.onmessage = (e) => {
    if (e.data.t !== "ask" || ++asks === 1) return;
    peer.postMessage({
      p: "palisade-metrics/1",
      t: "answer",
      from: "peer",
      to: e.data.from,
      q: e.data.q,
      text: "# TYPE from_peer gauge\nfrom_peer 1\n",
    });
  };
  peer.postMessage({ p: "palisade-metrics/1", t: "hello", from: "peer" });
  try {
    // Scrapes until the hello has arrived and an ask went out (and timed out).
    for (let i = 0; i < 100 && asks === 0; i++) {
      const first = parseExposition(await scrape(a)).samples;
      assert.equal(one(first, "palisade_metrics_workers"), 1);
    }
    assert.equal(asks, 1);
    // Forgotten: the next scrape asks nobody, so its answer is not awaited.
    const second = parseExposition(await scrape(a)).samples;
    assert.equal(one(second, "palisade_metrics_workers"), 1);
    assert.equal(asks, 1);
    // Once it speaks again it is known again.
    peer.postMessage({ p: "palisade-metrics/1", t: "here", from: "peer" });
    let workers = 1;
    for (let i = 0; i < 100 && workers === 1; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const third = parseExposition(await scrape(a)).samples;
      workers = one(third, "palisade_metrics_workers");
      if (workers === 2) assert.equal(one(third, "from_peer"), 1);
    }
    assert.equal(workers, 2);
  } finally {
    peer.close();
    leaveA();
  }
});
