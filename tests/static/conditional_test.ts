import assert from "node:assert/strict";
import {
  etagListMatches,
  evaluatePreconditions,
  ifRangeAllows,
  parseHttpDate,
} from "../../src/static/conditional.ts";
import { staticApp } from "./_helpers.ts";

Deno.test("parseHttpDate: the three RFC 9110 formats, nothing else", () => {
  const t = Date.UTC(1994, 10, 6, 8, 49, 37);
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), t);
  assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), t);
  assert.equal(parseHttpDate("Sun Nov  6 08:49:37 1994"), t);
  for (
    const bad of [
      "1",
      "yesterday",
      "2024-01-01T00:00:00Z",
      "Sun, 06 Nov 1994 08:49:37 PST",
      "Sun, 06 Foo 1994 08:49:37 GMT",
      "Sun, 32 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 25:49:37 GMT",
      "",
    ]
  ) {
    assert.ok(Number.isNaN(parseHttpDate(bad)), bad);
  }
});

Deno.test("entity-tag lists: weak and strong comparison, *, malformed members", () => {
  assert.ok(etagListMatches('"a"', '"a"', false));
  assert.ok(etagListMatches(' "x" ,W/"a"', '"a"', true));
  assert.ok(!etagListMatches('W/"a"', '"a"', false));
  assert.ok(etagListMatches("*", '"a"', false));
  assert.ok(etagListMatches("*", null, false));
  assert.ok(!etagListMatches('"a"', null, true));
  assert.ok(!etagListMatches('"ab"', '"a"', true));
  assert.ok(!etagListMatches('"a', '"a"', true));
  assert.ok(!etagListMatches('a, "a"', '"a"', true)); // malformed first member
  assert.ok(etagListMatches('"x,y", "a"', '"a"', true)); // comma inside a tag
});

Deno.test("preconditions follow RFC 9110 §13.2.2 order", () => {
  const v = { etag: '"t"', modifiedSec: 1_000_000 };
  const at = (sec: number) => new Date(sec * 1000).toUTCString();
  const ev = (h: Record<string, string>) =>
    evaluatePreconditions({ header: (n) => h[n] ?? null }, v);
  assert.equal(ev({}), "proceed");
  assert.equal(ev({ "if-match": '"t"' }), "proceed");
  assert.equal(ev({ "if-match": '"u"' }), "failed");
  assert.equal(ev({ "if-match": 'W/"t"' }), "failed");
  // If-Match present: If-Unmodified-Since is not evaluated.
  assert.equal(
    ev({ "if-match": '"t"', "if-unmodified-since": at(1) }),
    "proceed",
  );
  assert.equal(ev({ "if-unmodified-since": at(999_999) }), "failed");
  assert.equal(ev({ "if-unmodified-since": at(1_000_000) }), "proceed");
  assert.equal(ev({ "if-unmodified-since": "garbage" }), "proceed");
  assert.equal(ev({ "if-none-match": 'W/"t"' }), "not_modified");
  assert.equal(ev({ "if-none-match": '"u"' }), "proceed");
  // If-None-Match present: If-Modified-Since is ignored.
  assert.equal(
    ev({ "if-none-match": '"u"', "if-modified-since": at(2_000_000) }),
    "proceed",
  );
  assert.equal(ev({ "if-modified-since": at(1_000_000) }), "not_modified");
  assert.equal(ev({ "if-modified-since": at(999_999) }), "proceed");
  assert.equal(ev({ "if-match": '"u"', "if-none-match": '"t"' }), "failed");
  assert.equal(
    evaluatePreconditions(
      { header: (n) => (n === "if-modified-since" ? at(2_000_000) : null) },
      { etag: null, modifiedSec: null },
    ),
    "proceed",
  );
  assert.ok(ifRangeAllows(null, v));
  assert.ok(ifRangeAllows('"t"', v));
  assert.ok(ifRangeAllows(at(1_000_000), v));
  assert.ok(!ifRangeAllows('W/"t"', v));
  assert.ok(!ifRangeAllows(at(1_000_001), v));
});

Deno.test("304 Not Modified: If-None-Match and If-Modified-Since; 412 for If-Match", async () => {
  const app = staticApp({ maxAgeSec: 60, precompressed: true });
  const first = await app.request("/assets/hello.txt");
  await first.body?.cancel();
  const etag = first.headers.get("etag")!;
  const lastModified = first.headers.get("last-modified")!;
  for (
    const headers of [
      { "if-none-match": etag },
      { "if-none-match": `"nope", W/${etag}` },
      { "if-modified-since": lastModified },
      { "if-modified-since": new Date(Date.now() + 60_000).toUTCString() },
    ] as Record<string, string>[]
  ) {
    const res = await app.request("/assets/hello.txt", { headers });
    assert.equal(res.status, 304, JSON.stringify(headers));
    assert.equal(res.body, null);
    assert.equal(res.headers.get("etag"), etag);
    assert.equal(res.headers.get("last-modified"), lastModified);
    assert.equal(res.headers.get("cache-control"), "public, max-age=60");
    assert.equal(res.headers.get("vary"), "accept-encoding");
    assert.equal(res.headers.get("content-type"), null);
  }
  const stale = new Date(Date.parse(lastModified) - 1000).toUTCString();
  let res = await app.request("/assets/hello.txt", {
    headers: { "if-modified-since": stale },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  res = await app.request("/assets/hello.txt", {
    headers: { "if-match": '"nope"' },
  });
  assert.equal(res.status, 412);
  await res.body?.cancel();
  res = await app.request("/assets/hello.txt", {
    headers: { "if-match": etag },
  });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "hello world\n");
});
