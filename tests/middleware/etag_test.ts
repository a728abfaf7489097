import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { etag, type EtagOptions } from "../../src/middleware/etag.ts";
import { RawConn } from "../fixtures/raw_http.ts";

const DOC = { id: 1, name: "widget" };
const DOC_TAG = `"${
  createHash("sha1").update(JSON.stringify(DOC)).digest("base64url")
}"`;

function appWith(options?: EtagOptions): App {
  const app = new App();
  app.use(etag(options));
  app.get("/doc", (ctx) => ctx.json(DOC));
  app.get("/other", (ctx) => ctx.json({ id: 2 }));
  return app;
}

Deno.test("etag: a strong SHA-1 tag for a fixed body, stable per body; weak when asked", async () => {
  const app = appWith();
  const a = await app.request("/doc");
  assert.equal(a.headers.get("etag"), DOC_TAG);
  assert.deepEqual(await a.json(), DOC);
  const b = await app.request("/doc");
  assert.equal(b.headers.get("etag"), DOC_TAG);
  await b.body?.cancel();
  const other = await app.request("/other");
  assert.notEqual(other.headers.get("etag"), DOC_TAG);
  await other.body?.cancel();
  const weak = await appWith({ weak: true }).request("/doc");
  assert.equal(weak.headers.get("etag"), "W/" + DOC_TAG);
  await weak.body?.cancel();
});

Deno.test("etag: If-None-Match answers 304 with *, lists and weak comparison", async () => {
  const app = appWith();
  const cases: [string, number][] = [
    [DOC_TAG, 304],
    ["W/" + DOC_TAG, 304], // weak comparison for If-None-Match
    [`"nope", ${DOC_TAG}`, 304],
    [`"a",W/"b" ,  ${DOC_TAG}`, 304],
    ["*", 304],
    ['"nope"', 200],
    [DOC_TAG.slice(1, -1), 200], // unquoted: malformed, matches nothing
    [`${DOC_TAG.slice(0, -1)}`, 200],
  ];
  for (const [inm, want] of cases) {
    const res = await app.request("/doc", {
      headers: { "if-none-match": inm },
    });
    assert.equal(res.status, want, inm);
    if (want === 304) assert.equal(await res.text(), "");
    else assert.deepEqual(await res.json(), DOC);
  }
});

Deno.test("etag: a 304 carries only the fields RFC 9110 lists (and Set-Cookie), no body", async () => {
  const app = new App();
  app.use(etag());
  app.get("/r", () =>
    new Response("body", {
      headers: {
        "content-type": "text/plain",
        "cache-control": "max-age=60",
        "content-location": "/r.txt",
        expires: "Wed, 21 Oct 2099 07:28:00 GMT",
        vary: "Accept-Encoding",
        "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT",
        "x-custom": "1",
        "set-cookie": "sid=1; HttpOnly",
      },
    }));
  const first = await app.request("/r");
  const tag = first.headers.get("etag")!;
  await first.body?.cancel();
  const res = await app.request("/r", { headers: { "if-none-match": tag } });
  assert.equal(res.status, 304);
  assert.equal(res.body, null);
  const names = [...res.headers.keys()].filter((k) => k !== "x-request-id")
    .sort();
  assert.deepEqual(names, [
    "cache-control",
    "content-location",
    "etag",
    "expires",
    "set-cookie",
    "vary",
  ]);
  assert.equal(res.headers.get("etag"), tag);
});

Deno.test("etag: If-Modified-Since against Last-Modified, overridden by If-None-Match", async () => {
  const app = new App();
  app.use(etag({ maxBytes: 0 }));
  const lastModified = "Wed, 21 Oct 2015 07:28:00 GMT";
  app.get(
    "/f",
    (ctx) => ctx.text("file", { headers: { "last-modified": lastModified } }),
  );
  const at = (headers: Record<string, string>) =>
    app.request("/f", { headers });
  const same = await at({ "if-modified-since": lastModified });
  assert.equal(same.status, 304);
  assert.equal(same.headers.get("last-modified"), lastModified); // no ETag: kept
  assert.equal(
    (await at({ "if-modified-since": "Thu, 22 Oct 2015 00:00:00 GMT" })).status,
    304,
  );
  const older = await at({
    "if-modified-since": "Tue, 20 Oct 2015 07:28:00 GMT",
  });
  assert.equal(older.status, 200);
  assert.equal(await older.text(), "file");
  const junk = await at({ "if-modified-since": "yesterday-ish" });
  assert.equal(junk.status, 200);
  await junk.body?.cancel();
  // If-None-Match wins: no tag here (maxBytes 0), so it does not match.
  const both = await at({
    "if-modified-since": lastModified,
    "if-none-match": '"x"',
  });
  assert.equal(both.status, 200);
  await both.body?.cancel();
});

Deno.test("etag: If-Match and If-Unmodified-Since on GET answer 412 when they fail", async () => {
  const app = new App();
  app.use(etag());
  app.get(
    "/doc",
    (ctx) =>
      ctx.json(DOC, {
        headers: { "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT" },
      }),
  );
  const at = (headers: Record<string, string>) =>
    app.request("/doc", { headers });
  const ok = await at({ "if-match": DOC_TAG });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  assert.equal((await at({ "if-match": "*" })).status, 200);
  const stale = await at({ "if-match": '"old"' });
  assert.equal(stale.status, 412);
  assert.equal(stale.headers.get("content-type"), "application/problem+json");
  assert.equal((await stale.json()).detail, "Precondition If-Match failed");
  // Strong comparison: a weak tag never satisfies If-Match.
  const weakOne = await at({ "if-match": "W/" + DOC_TAG });
  assert.equal(weakOne.status, 412);
  await weakOne.body?.cancel();
  const changed = await at({
    "if-unmodified-since": "Tue, 20 Oct 2015 00:00:00 GMT",
  });
  assert.equal(changed.status, 412);
  assert.equal(
    (await changed.json()).detail,
    "Precondition If-Unmodified-Since failed",
  );
  const unchanged = await at({
    "if-unmodified-since": "Wed, 21 Oct 2015 07:28:00 GMT",
  });
  assert.equal(unchanged.status, 200);
  await unchanged.body?.cancel();
});

Deno.test("etag: HEAD gets the same tag and 304s, without a body", async () => {
  const app = appWith();
  const head = await app.request("/doc", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("etag"), DOC_TAG);
  assert.equal(head.body, null);
  const cond = await app.request("/doc", {
    method: "HEAD",
    headers: { "if-none-match": DOC_TAG },
  });
  assert.equal(cond.status, 304);
});

Deno.test("etag: an ETag the handler set is kept and its body left unread", async () => {
  const app = new App();
  app.use(etag());
  let pulls = 0;
  app.get("/own", () =>
    new Response(
      new ReadableStream({
        pull(c) {
          pulls++;
          c.enqueue(new TextEncoder().encode("x"));
          c.close();
        },
      }, { highWaterMark: 0 }),
      { headers: { etag: 'W/"v42"' } },
    ));
  const res = await app.request("/own");
  assert.equal(res.headers.get("etag"), 'W/"v42"');
  assert.equal(pulls, 0);
  assert.equal(await res.text(), "x");
  const cond = await app.request("/own", {
    headers: { "if-none-match": '"v42"' },
  });
  assert.equal(cond.status, 304);
  const match = await app.request("/own", {
    headers: { "if-match": 'W/"v42"' },
  });
  assert.equal(match.status, 412); // weak tags never match If-Match
  await match.body?.cancel();
});

Deno.test("etag: only 2xx responses other than 206 get tags, and conditionals are ignored otherwise", async () => {
  const app = new App();
  app.use(etag());
  app.get("/missing", (ctx) => ctx.json({ error: "no" }, { status: 404 }));
  app.get("/partial", () => new Response("part", { status: 206 }));
  app.get("/created", (ctx) => ctx.json(DOC, { status: 201 }));
  const missing = await app.request("/missing", {
    headers: { "if-match": '"x"' },
  });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("etag"), null);
  await missing.body?.cancel();
  const partial = await app.request("/partial");
  assert.equal(partial.headers.get("etag"), null);
  await partial.body?.cancel();
  const created = await app.request("/created");
  assert.equal(created.headers.get("etag"), DOC_TAG);
  await created.body?.cancel();
  // The App's own 404 is not tagged either.
  const none = await app.request("/nothing");
  assert.equal(none.headers.get("etag"), null);
  await none.body?.cancel();
});

Deno.test("etag: a small stream is buffered and tagged, and its request completes", async () => {
  const app = appWith();
  app.get("/s", (ctx) =>
    ctx.stream((async function* () {
      yield "a";
      yield "bc";
    })()));
  const res = await app.request("/s");
  assert.equal(
    res.headers.get("etag"),
    `"${createHash("sha1").update("abc").digest("base64url")}"`,
  );
  assert.equal(await res.text(), "abc");
  assert.equal(app.inflight, 0); // the ended stream left nothing in flight
  assert.equal(app.completed, 1);
});

Deno.test("etag: a stream over maxBytes gets no tag and loses no byte", async () => {
  const app = appWith({ maxBytes: 1000 });
  const chunk = (i: number) => new Uint8Array(300).fill(i);
  app.get("/big", (ctx) =>
    ctx.stream((async function* () {
      for (let i = 0; i < 10; i++) yield chunk(i);
    })()));
  const res = await app.request("/big");
  assert.equal(res.headers.get("etag"), null);
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.equal(bytes.length, 3000);
  for (let i = 0; i < 10; i++) {
    assert.ok(
      bytes.subarray(i * 300, (i + 1) * 300).every((b) => b === i),
      `chunk ${i}`,
    );
  }
  // A fixed body over the limit is sent unchanged too.
  app.get("/fixed", (ctx) => ctx.text("y".repeat(5000)));
  const fixed = await app.request("/fixed");
  assert.equal(fixed.headers.get("etag"), null);
  assert.equal((await fixed.text()).length, 5000);
});

Deno.test("etag: event streams are never read", async () => {
  const app = appWith();
  app.get("/events", { deadlineMs: 0 }, (ctx) =>
    ctx.sse(async (sse) => {
      await sse.send({ data: "hello" });
      await new Promise((r) => sse.signal.addEventListener("abort", r));
    }));
  const res = await app.request("/events");
  assert.equal(res.headers.get("etag"), null);
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), /data: hello/);
  await reader.cancel();
});

Deno.test("etag: with current(), unsafe requests are checked before the handler runs", async () => {
  const versions = new Map<string, number>([["1", 3]]);
  const writes: string[] = [];
  const app = new App();
  app.use(etag({
    current: (ctx) => {
      const v = versions.get(ctx.params.id);
      return v === undefined ? null : { etag: `v${v}` };
    },
  }));
  app.put("/docs/:id", (ctx) => {
    writes.push(ctx.params.id);
    versions.set(ctx.params.id, (versions.get(ctx.params.id) ?? 0) + 1);
    return ctx.empty();
  });
  const put = (id: string, headers: Record<string, string>) =>
    app.request(`/docs/${id}`, { method: "PUT", headers });
  assert.equal((await put("1", { "if-match": '"v3"' })).status, 204);
  // The next writer still holds v3: refused, nothing written.
  const lost = await put("1", { "if-match": '"v3"' });
  assert.equal(lost.status, 412);
  assert.equal((await lost.json()).detail, "Precondition If-Match failed");
  assert.equal((await put("1", { "if-match": '"v1", "v4"' })).status, 204);
  // Create-only: If-None-Match: * refuses an existing resource, passes a new one.
  const exists = await put("1", { "if-none-match": "*" });
  assert.equal(exists.status, 412);
  await exists.body?.cancel();
  assert.equal((await put("2", { "if-none-match": "*" })).status, 204);
  // If-Match on a missing resource fails, even with *.
  const gone = await put("9", { "if-match": "*" });
  assert.equal(gone.status, 412);
  await gone.body?.cancel();
  // No conditional header: current() is not needed and the write goes through.
  assert.equal((await put("3", {})).status, 204);
  assert.deepEqual(writes, ["1", "1", "2", "3"]);
  // Without current, unsafe requests pass through untouched.
  const plain = new App();
  plain.use(etag());
  plain.put("/x", (ctx) => ctx.empty());
  assert.equal(
    (await plain.request("/x", {
      method: "PUT",
      headers: { "if-match": '"zzz"' },
    })).status,
    204,
  );
});

Deno.test("etag: If-Unmodified-Since on an unsafe request uses current().lastModified", async () => {
  const changed = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
  const app = new App();
  app.use(etag({ current: () => ({ lastModified: new Date(changed) }) }));
  app.delete("/x", (ctx) => ctx.empty());
  const del = (since: string) =>
    app.request("/x", {
      method: "DELETE",
      headers: { "if-unmodified-since": since },
    });
  assert.equal((await del("Wed, 21 Oct 2015 07:28:00 GMT")).status, 204);
  const stale = await del("Tue, 20 Oct 2015 07:28:00 GMT");
  assert.equal(stale.status, 412);
  assert.equal(
    (await stale.json()).detail,
    "Precondition If-Unmodified-Since failed",
  );
});

Deno.test("etag: invalid options throw a TypeError naming the option", () => {
  const cases: [EtagOptions, string][] = [
    [
      { maxBytes: -1 },
      "Option maxBytes must be a non-negative integer, got -1",
    ],
    // @ts-expect-error: not a boolean
    [{ weak: 1 }, "Option weak must be a boolean, got 1"],
    // @ts-expect-error: not a function
    [{ current: {} }, "Option current must be a function, got [object Object]"],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => etag(options),
      (e: unknown) => e instanceof TypeError && e.message === message,
      message,
    );
  }
});

Deno.test("etag: over a real socket, a revalidation is a 304 without a body", async () => {
  const app = appWith();
  for (const transport of ["h1", "deno"] as const) {
    const server = serve(app, {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    const conn = await RawConn.open(server.addr.port);
    try {
      await conn.get("/doc");
      const first = await conn.readResponse();
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("etag"), DOC_TAG);
      assert.deepEqual(JSON.parse(first.body), DOC);
      await conn.get("/doc", { "if-none-match": DOC_TAG });
      const second = await conn.readResponse();
      assert.equal(second.status, 304, transport);
      assert.equal(second.headers.get("etag"), DOC_TAG);
      assert.equal(second.headers.get("content-length"), null);
      assert.equal(second.body, "");
      // The connection is still usable: the 304 had no body on the wire.
      await conn.get("/other");
      assert.equal((await conn.readResponse()).status, 200);
    } finally {
      conn.close();
      await server.shutdown();
    }
  }
});
