import assert from "node:assert/strict";
import { mergeExpositions } from "../../src/observe/merge.ts";
import { Metrics } from "../../src/observe/metrics.ts";
import { find, one, parseExposition } from "../fixtures/prometheus.ts";

Deno.test("merge: samples with the same name and labels are summed", () => {
  const a = [
    "# HELP jobs_total Jobs done.",
    "# TYPE jobs_total counter",
    'jobs_total{queue="a"} 3',
    'jobs_total{queue="b"} 1',
    "# HELP busy Busy workers.",
    "# TYPE busy gauge",
    "busy 2",
    "",
  ].join("\n");
  const b = [
    "# HELP jobs_total Jobs done.",
    "# TYPE jobs_total counter",
    'jobs_total{queue="a"} 4',
    "# HELP busy Busy workers.",
    "# TYPE busy gauge",
    "busy 0.5",
    "",
  ].join("\n");
  assert.equal(
    mergeExpositions([a, b]),
    [
      "# HELP jobs_total Jobs done.",
      "# TYPE jobs_total counter",
      'jobs_total{queue="a"} 7',
      'jobs_total{queue="b"} 1',
      "# HELP busy Busy workers.",
      "# TYPE busy gauge",
      "busy 2.5",
      "",
    ].join("\n"),
  );
});

Deno.test("merge: one registry's text comes back unchanged", () => {
  const m = new Metrics();
  m.record("GET", "/users/:id", 200, 0.012);
  m.record("GET", "/users/:id", 404, 3);
  m.reject("body_too_large");
  m.connectionOpened();
  m.counter("palisade_shed_total", "Shed.", { labels: ["why"] }).inc({
    why: 'a "quoted"\nvalue\\',
  });
  m.histogram("job_seconds", "Jobs.", { buckets: [0.1, 1] }).observe(0.5);
  const text = m.text();
  assert.equal(mergeExpositions([text]), text);
});

Deno.test("merge: histograms of two registries sum per bucket, _sum and _count", () => {
  const a = new Metrics();
  const b = new Metrics();
  a.record("GET", "/", 200, 0.001);
  a.record("GET", "/", 200, 0.2);
  b.record("GET", "/", 200, 0.2);
  b.record("POST", "/", 201, 20);
  const merged = mergeExpositions([a.text(), b.text()]);
  const { samples, types } = parseExposition(merged); // strict: valid text
  assert.equal(types.get("http_server_request_duration_seconds"), "histogram");
  const h = "http_server_request_duration_seconds";
  const get = { http_request_method: "GET", http_route: "/" };
  assert.equal(one(samples, `${h}_count`, get), 3);
  assert.equal(one(samples, `${h}_bucket`, { ...get, le: "0.005" }), 1);
  assert.equal(one(samples, `${h}_bucket`, { ...get, le: "0.25" }), 3);
  assert.equal(one(samples, `${h}_bucket`, { ...get, le: "+Inf" }), 3);
  assert.ok(Math.abs(one(samples, `${h}_sum`, get) - 0.401) < 1e-9);
  const post = { http_request_method: "POST", http_route: "/" };
  assert.equal(one(samples, `${h}_bucket`, { ...post, le: "10" }), 0);
  assert.equal(one(samples, `${h}_bucket`, { ...post, le: "+Inf" }), 1);
  // Each series stays contiguous, buckets in order, after its family header.
  const lines = merged.split("\n");
  const postLines = lines.filter((l) => l.includes('"POST"'));
  const first = lines.indexOf(postLines[0]);
  assert.deepEqual(lines.slice(first, first + postLines.length), postLines);
});

Deno.test("merge: label sets match by value, whatever their order and escaping", () => {
  const a = [
    "# TYPE t counter",
    't{path="/a\\"b",z="x\\ny\\\\"} 1',
    "",
  ].join("\n");
  const b = [
    "# TYPE t counter",
    't{z="x\\ny\\\\",path="/a\\"b",} 2',
    't{path="/a\\"b"} 5',
    "",
  ].join("\n");
  const { samples } = parseExposition(mergeExpositions([a, b]));
  assert.equal(
    one(samples, "t", { path: '/a"b', z: "x\ny\\" }),
    3,
  );
  assert.deepEqual(
    find(samples, "t").map((s) => s.value),
    [3, 5],
  );
  // The first-seen spelling is kept.
  assert.ok(
    mergeExpositions([a, b]).includes('t{path="/a\\"b",z="x\\ny\\\\"} 3'),
  );
});

Deno.test("merge: families present only in some workers are kept", () => {
  const a = "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n";
  const b = "# HELP y Y.\n# TYPE y gauge\ny 4\n# TYPE empty_total counter\n";
  const c = "# HELP x_total X.\n# TYPE x_total counter\nx_total 2\n";
  assert.equal(
    mergeExpositions([a, b, c]),
    "# HELP x_total X.\n# TYPE x_total counter\nx_total 3\n" +
      "# HELP y Y.\n# TYPE y gauge\ny 4\n# TYPE empty_total counter\n",
  );
});

Deno.test("merge: HELP and TYPE are written once, as first seen", () => {
  const a = "# HELP g First help.\n# TYPE g gauge\ng 1\n";
  const b = "# HELP g Other help.\n# TYPE g gauge\ng 1\n";
  const merged = mergeExpositions([a, b]);
  assert.equal(merged, "# HELP g First help.\n# TYPE g gauge\ng 2\n");
});

Deno.test("merge: special values and timestamps", () => {
  const a = "# TYPE g gauge\ng +Inf\nh NaN\nt 1 1000\n";
  const b = "# TYPE g gauge\ng 1\nh 1\nt 2 2000\n";
  assert.equal(
    mergeExpositions([a, b]),
    "# TYPE g gauge\ng +Inf\nh NaN\nt 3 2000\n",
  );
});

Deno.test("merge: malformed lines and other comments are dropped", () => {
  const text = [
    "# TYPE ok counter",
    "ok 1",
    "# just a comment",
    "bad{label=unquoted} 1",
    'bad{label="unterminated} 1',
    'bad{label="bad escape \\t"} 1',
    "novalue",
    "nan_text abc",
    "1starts_with_digit 1",
    "too many fields 1 2",
    "",
  ].join("\n");
  assert.equal(mergeExpositions([text]), "# TYPE ok counter\nok 1\n");
  assert.equal(mergeExpositions([]), "");
  assert.equal(mergeExpositions(["", "\n"]), "");
});
