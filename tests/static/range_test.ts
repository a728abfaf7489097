import assert from "node:assert/strict";
import { MAX_RANGES, planRange } from "../../src/static/range.ts";
import { ROOT, staticApp } from "./_helpers.ts";

Deno.test("planRange: first, last, suffix, open-ended, clamping", () => {
  const single = (start: number, end: number) => ({
    kind: "single",
    start,
    end,
  });
  assert.deepEqual(planRange("bytes=0-0", 100), single(0, 0)); // first byte
  assert.deepEqual(planRange("bytes=99-99", 100), single(99, 99)); // last byte
  assert.deepEqual(planRange("bytes=-1", 100), single(99, 99));
  assert.deepEqual(planRange("bytes=-30", 100), single(70, 99));
  assert.deepEqual(planRange("bytes=-500", 100), single(0, 99));
  assert.deepEqual(planRange("bytes=40-", 100), single(40, 99));
  assert.deepEqual(planRange("bytes=10-1000", 100), single(10, 99));
  assert.deepEqual(planRange("BYTES = 5-9", 100), single(5, 9));
  assert.deepEqual(planRange("bytes= 5-9 , ", 100), single(5, 9));
  assert.deepEqual(
    planRange("bytes=0-99999999999999999999999", 100),
    single(0, 99),
  );
});

Deno.test("planRange: unsatisfiable ranges", () => {
  const un = { kind: "unsatisfiable" };
  assert.deepEqual(planRange("bytes=100-", 100), un);
  assert.deepEqual(planRange("bytes=100-200", 100), un);
  assert.deepEqual(planRange("bytes=-0", 100), un);
  assert.deepEqual(planRange("bytes=0-0", 0), un);
  assert.deepEqual(planRange("bytes=-5", 0), un);
  assert.deepEqual(planRange("bytes=99999999999999999999-", 100), un);
  assert.deepEqual(planRange("bytes=200-300, 400-", 100), un);
});

Deno.test("planRange: invalid headers and several ranges mean the whole file", () => {
  const whole = { kind: "whole" };
  for (
    const h of [
      "bytes=",
      "bytes=,",
      "bytes=abc",
      "bytes=5-1",
      "bytes=1-2-3",
      "bytes=--1",
      "bytes=0x1-2",
      "bytes=1.5-2",
      "items=0-1",
      "bytes 0-1",
      "0-1",
      "bytes=0-1,2-3",
      "bytes=0-50,40-99",
      "bytes=0-1,200-300",
    ]
  ) {
    assert.deepEqual(planRange(h, 100), whole, h);
  }
  // Range amplification: many overlapping ranges never multiply the work.
  const many = "bytes=" + Array.from({ length: 1000 }, () => "0-").join(",");
  assert.deepEqual(planRange(many, 100), whole);
  const justOver = "bytes=" +
    Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i}-${i}`).join(",");
  assert.deepEqual(planRange(justOver, 100), whole);
});

Deno.test("206 responses carry Content-Range and the right Content-Length", async () => {
  const app = staticApp();
  const body = Deno.readTextFileSync(`${ROOT}/app.js`); // 1000 bytes
  const cases: [string, number, number][] = [
    ["bytes=0-0", 0, 0],
    ["bytes=999-999", 999, 999],
    ["bytes=-10", 990, 999],
    ["bytes=100-", 100, 999],
    ["bytes=10-19", 10, 19],
  ];
  for (const [range, start, end] of cases) {
    const res = await app.request("/assets/app.js", { headers: { range } });
    assert.equal(res.status, 206, range);
    assert.equal(
      res.headers.get("content-range"),
      `bytes ${start}-${end}/1000`,
    );
    assert.equal(res.headers.get("content-length"), String(end - start + 1));
    assert.equal(await res.text(), body.slice(start, end + 1), range);
  }
});

Deno.test("416 with Content-Range: bytes */size; many ranges get 200 whole", async () => {
  const app = staticApp();
  let res = await app.request("/assets/app.js", {
    headers: { range: "bytes=1000-" },
  });
  assert.equal(res.status, 416);
  assert.equal(res.headers.get("content-range"), "bytes */1000");
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  await res.body?.cancel();
  const overlapping = "bytes=" +
    Array.from({ length: 50 }, () => "0-999").join(",");
  for (const range of [overlapping, "bytes=0-1,5-6", "bytes=junk"]) {
    res = await app.request("/assets/app.js", { headers: { range } });
    assert.equal(res.status, 200, range);
    assert.equal(res.headers.get("content-length"), "1000");
    assert.equal((await res.arrayBuffer()).byteLength, 1000);
  }
});

Deno.test("If-Range: a strong matching ETag or the exact date allows the range", async () => {
  const app = staticApp();
  const first = await app.request("/assets/app.js");
  await first.body?.cancel();
  const etag = first.headers.get("etag")!;
  const date = first.headers.get("last-modified")!;
  const older = new Date(Date.parse(date) - 1000).toUTCString();
  const cases: [string, number][] = [
    [etag, 206],
    [date, 206],
    ['"other"', 200],
    [`W/${etag}`, 200],
    [older, 200],
    ["not a date", 200],
  ];
  for (const [ifRange, status] of cases) {
    const res = await app.request("/assets/app.js", {
      headers: { range: "bytes=0-9", "if-range": ifRange },
    });
    assert.equal(res.status, status, ifRange);
    assert.equal(
      (await res.arrayBuffer()).byteLength,
      status === 206 ? 10 : 1000,
    );
  }
});
