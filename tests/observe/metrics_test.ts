import assert from "node:assert/strict";
import { Metrics } from "../../src/observe/metrics.ts";
import { find, one, parseExposition } from "../fixtures/prometheus.ts";

Deno.test("metrics: an empty registry renders every family with zero values", () => {
  const { samples, types } = parseExposition(new Metrics().text());
  assert.deepEqual(
    Object.fromEntries(types),
    {
      http_server_request_duration_seconds: "histogram",
      http_server_active_requests: "gauge",
      palisade_rejections_total: "counter",
      palisade_deadline_exceeded_total: "counter",
      palisade_connections_active: "gauge",
      palisade_connections_total: "counter",
      palisade_accept_errors_total: "counter",
    },
  );
  assert.equal(one(samples, "http_server_active_requests"), 0);
  assert.equal(one(samples, "palisade_deadline_exceeded_total"), 0);
  assert.equal(
    find(samples, "http_server_request_duration_seconds_count").length,
    0,
  );
});

Deno.test("metrics: a known sequence of requests is counted exactly", () => {
  const m = new Metrics();
  m.record("GET", "/users/:id", 200, 0.003); // bucket 0.005
  m.record("GET", "/users/:id", 200, 0.005); // le is inclusive: 0.005
  m.record("GET", "/users/:id", 200, 0.2); // 0.25
  m.record("GET", "/users/:id", 404, 0.001);
  m.record("POST", "/users", 201, 12); // over 10 s: +Inf only
  m.record("BREW", "", 404, 0.001); // unknown method, unmatched route
  m.record("PROPFIND", "", 404, 0.001);
  m.reject("body_too_large");
  m.reject("body_too_large");
  m.reject("header_timeout");
  m.deadlineExceeded();
  m.connectionOpened();
  m.connectionOpened();
  m.connectionClosed();
  m.active = 3;

  const { samples } = parseExposition(m.text());
  const h = "http_server_request_duration_seconds";
  const users200 = {
    http_request_method: "GET",
    http_route: "/users/:id",
    http_response_status_code: "200",
  };
  assert.equal(one(samples, `${h}_count`, users200), 3);
  assert.ok(Math.abs(one(samples, `${h}_sum`, users200) - 0.208) < 1e-12);
  const buckets = find(samples, `${h}_bucket`, users200);
  assert.deepEqual(
    buckets.map((b) => [b.labels.le, b.value]),
    [
      ["0.005", 2],
      ["0.01", 2],
      ["0.025", 2],
      ["0.05", 2],
      ["0.075", 2],
      ["0.1", 2],
      ["0.25", 3],
      ["0.5", 3],
      ["0.75", 3],
      ["1", 3],
      ["2.5", 3],
      ["5", 3],
      ["7.5", 3],
      ["10", 3],
      ["+Inf", 3],
    ],
  );
  assert.equal(
    one(samples, `${h}_count`, {
      http_request_method: "GET",
      http_response_status_code: "404",
    }),
    1,
  );
  const post = { http_request_method: "POST", http_route: "/users" };
  assert.equal(one(samples, `${h}_bucket`, { ...post, le: "10" }), 0);
  assert.equal(one(samples, `${h}_bucket`, { ...post, le: "+Inf" }), 1);
  assert.equal(
    one(samples, `${h}_count`, {
      http_request_method: "_OTHER",
      http_route: "",
      http_response_status_code: "404",
    }),
    2,
  );
  assert.equal(find(samples, `${h}_count`).length, 4);
  assert.equal(
    one(samples, "palisade_rejections_total", { reason: "body_too_large" }),
    2,
  );
  assert.equal(
    one(samples, "palisade_rejections_total", { reason: "header_timeout" }),
    1,
  );
  assert.equal(one(samples, "palisade_deadline_exceeded_total"), 1);
  assert.equal(one(samples, "palisade_connections_active"), 1);
  assert.equal(one(samples, "palisade_connections_total"), 2);
  assert.equal(one(samples, "http_server_active_requests"), 3);
});

Deno.test("metrics: histogram buckets are cumulative and +Inf equals the count", () => {
  const m = new Metrics();
  const durations = [
    0,
    0.004,
    0.02,
    0.02,
    0.09,
    0.3,
    0.8,
    1.5,
    3,
    6,
    9,
    11,
    100,
  ];
  for (const d of durations) m.record("GET", "/", 200, d);
  const { samples } = parseExposition(m.text());
  const h = "http_server_request_duration_seconds";
  const buckets = find(samples, `${h}_bucket`);
  for (let i = 1; i < buckets.length; i++) {
    assert.ok(buckets[i].value >= buckets[i - 1].value);
    const le = Number(buckets[i].labels.le.replace("+Inf", "Infinity"));
    assert.equal(buckets[i].value, durations.filter((d) => d <= le).length);
  }
  assert.equal(buckets.at(-1)!.labels.le, "+Inf");
  assert.equal(buckets.at(-1)!.value, one(samples, `${h}_count`));
});

Deno.test("metrics: label values are escaped", () => {
  const m = new Metrics();
  m.record("GET", '/a\\b"c\nd', 200, 0.001);
  const text = m.text();
  assert.ok(text.includes('http_route="/a\\\\b\\"c\\nd"'));
  const { samples } = parseExposition(text);
  assert.equal(
    one(samples, "http_server_request_duration_seconds_count", {
      http_route: '/a\\b"c\nd',
    }),
    1,
  );
});

Deno.test("metrics: custom buckets are used and invalid ones are refused", () => {
  const m = new Metrics({ buckets: [0.1, 1] });
  m.record("GET", "/", 200, 0.5);
  const { samples } = parseExposition(m.text());
  assert.deepEqual(
    find(samples, "http_server_request_duration_seconds_bucket").map((s) => [
      s.labels.le,
      s.value,
    ]),
    [["0.1", 0], ["1", 1], ["+Inf", 1]],
  );
  for (const buckets of [[], [1, 1], [2, 1], [0], [-1], [Infinity], [NaN]]) {
    assert.throws(() => new Metrics({ buckets }), TypeError);
  }
});

Deno.test("metrics: a bad duration cannot poison the sum", () => {
  const m = new Metrics();
  m.record("GET", "/", 200, NaN);
  m.record("GET", "/", 200, -1);
  const { samples } = parseExposition(m.text());
  assert.equal(one(samples, "http_server_request_duration_seconds_sum"), 0);
  assert.equal(one(samples, "http_server_request_duration_seconds_count"), 2);
});

Deno.test("metrics: rejection reasons are bounded", () => {
  const m = new Metrics();
  for (let i = 0; i < 200; i++) m.reject(`reason_${i}` as "bad_request");
  const { samples } = parseExposition(m.text());
  const rejections = find(samples, "palisade_rejections_total");
  assert.equal(rejections.length, 65);
  assert.equal(
    one(samples, "palisade_rejections_total", { reason: "other" }),
    136,
  );
});

Deno.test("metrics: handler() serves the text with the exposition content type", async () => {
  const m = new Metrics();
  m.record("GET", "/", 200, 0.01);
  const res = await m.handler()();
  assert.equal(res.status, 200);
  assert.equal(
    res.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  assert.equal(await res.text(), m.text());
});

Deno.test("metrics: counter, gauge and histogram families render and share by name", () => {
  const m = new Metrics();
  const c = m.counter("palisade_shed_total", "Requests shed.", {
    labels: ["reason"],
  });
  c.inc({ reason: "queue_full" });
  m.counter("palisade_shed_total", "Requests shed.", { labels: ["reason"] })
    .inc({ reason: "queue_full" }, 2);
  const g = m.gauge("palisade_ws_active", "Open sockets.");
  g.inc();
  g.inc();
  g.dec();
  const h = m.histogram("palisade_store_seconds", "Store latency.", {
    labels: ["store"],
    buckets: [0.001, 0.01],
  });
  h.observe(0.0005, { store: "redis" });
  h.observe(0.5, { store: "redis" });
  const { samples, types } = parseExposition(m.text());
  assert.equal(types.get("palisade_shed_total"), "counter");
  assert.equal(types.get("palisade_ws_active"), "gauge");
  assert.equal(types.get("palisade_store_seconds"), "histogram");
  assert.equal(
    one(samples, "palisade_shed_total", { reason: "queue_full" }),
    3,
  );
  assert.equal(one(samples, "palisade_ws_active"), 1);
  assert.equal(
    one(samples, "palisade_store_seconds_bucket", {
      store: "redis",
      le: "0.001",
    }),
    1,
  );
  assert.equal(
    one(samples, "palisade_store_seconds_bucket", {
      store: "redis",
      le: "+Inf",
    }),
    2,
  );
  assert.equal(
    one(samples, "palisade_store_seconds_count", { store: "redis" }),
    2,
  );
  assert.throws(
    () => m.gauge("palisade_shed_total", "x"),
    /already registered as a counter/,
  );
  assert.throws(
    () => m.counter("http_server_active_requests", "x"),
    /reserved/,
  );
});

Deno.test("metrics: a family's label sets are bounded by maxSeries", () => {
  const m = new Metrics();
  const c = m.counter("palisade_x_total", "X.", {
    labels: ["k"],
    maxSeries: 3,
  });
  for (let i = 0; i < 100; i++) c.inc({ k: `v${i}` });
  const { samples } = parseExposition(m.text());
  assert.equal(find(samples, "palisade_x_total").length, 4);
  assert.equal(one(samples, "palisade_x_total", { k: "_other" }), 97);
});
