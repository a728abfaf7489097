import assert from "node:assert/strict";
import { proxy } from "../../src/proxy/mod.ts";
import type { ProxyOptions } from "../../src/proxy/mod.ts";
import { front, rawUpstream, readHead, until, upstream } from "./_servers.ts";

const enc = new TextEncoder();

/**
 * A raw keep-alive upstream: answers every request head on a connection
 * with `answer(n)` (n = the request's index on its connection) and counts
 * connections; `false` closes the connection instead of answering, and so
 * does an answer with `Connection: close` once written.
 */
function keepAliveUpstream(
  answer: (n: number, head: string) => string | false,
) {
  const perConn: number[] = [];
  const up = rawUpstream(async (conn) => {
    const index = perConn.push(0) - 1;
    for (;;) {
      const head = await readHead(conn);
      if (head === "") return;
      const out = answer(perConn[index]++, head);
      if (out === false) return;
      await conn.write(enc.encode(out));
      if (/^connection: close/im.test(out)) return;
    }
  });
  return { ...up, perConn };
}

async function through(
  options: Omit<ProxyOptions, "upstreams">,
  url: string,
  requests: RequestInit[],
): Promise<{ status: number; text: string; headers: Headers }[]> {
  const api = proxy({ upstreams: [url], ...options });
  const f = front((app) => app.all("/*", api));
  const out = [];
  for (const init of requests) {
    const res = await fetch(`${f.base}/x`, init);
    out.push({
      status: res.status,
      text: await res.text(),
      headers: res.headers,
    });
  }
  await f.stop();
  await api.close();
  return out;
}

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

Deno.test("proxy upstream client: sequential requests share one keep-alive connection", async () => {
  const up = keepAliveUpstream(() => OK);
  const got = await through({}, up.url, [
    {},
    {},
    { method: "POST", body: "x" },
    {},
  ]);
  assert.deepEqual(got.map((r) => r.text), ["ok", "ok", "ok", "ok"]);
  assert.deepEqual(up.perConn, [4]);
  await up.stop();
});

Deno.test("proxy upstream client: Connection: close, HTTP/1.0 and keepAlive.maxIdle 0 mean a new connection each time", async () => {
  for (
    const [answer, options] of [
      [
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        {},
      ],
      ["HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", {}],
      [OK, { keepAlive: { maxIdle: 0 } }],
    ] as const
  ) {
    const up = keepAliveUpstream(() => answer);
    const got = await through(options, up.url, [{}, {}, {}]);
    assert.deepEqual(got.map((r) => r.text), ["ok", "ok", "ok"], answer);
    assert.deepEqual(up.perConn, [1, 1, 1], answer);
    await up.stop();
  }
});

Deno.test("proxy upstream client: a pooled connection the upstream closed is not used again", async () => {
  // Answers, then closes the connection a moment later without saying so.
  const up = rawUpstream(async (conn) => {
    await readHead(conn);
    await conn.write(enc.encode(OK));
    await new Promise((r) => setTimeout(r, 50));
  });
  const api = proxy({ upstreams: [up.url] });
  const f = front((app) => app.all("/*", api));
  assert.equal(await (await fetch(`${f.base}/a`)).text(), "ok");
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await (await fetch(`${f.base}/b`)).text(), "ok");
  assert.equal(up.accepted, 2);
  await f.stop();
  await api.close();
  await up.stop();
});

Deno.test("proxy upstream client: a GET on a pooled connection that dies with the request is sent again on a new one; a POST is not", async () => {
  // The first connection answers once, then drops the next request unanswered.
  const up = keepAliveUpstream((n) => n === 0 ? OK : false);
  const got = await through({ retry: false }, up.url, [{}, {}]);
  assert.deepEqual(got.map((r) => r.status), [200, 200]);
  assert.deepEqual(up.perConn, [2, 1]);
  await up.stop();

  const up2 = keepAliveUpstream((n) => n === 0 ? OK : false);
  const got2 = await through({ retry: false }, up2.url, [{}, {
    method: "POST",
    body: "once",
  }]);
  assert.deepEqual(got2.map((r) => r.status), [200, 502]);
  assert.deepEqual(up2.perConn, [2]);
  await up2.stop();
});

Deno.test("proxy upstream client: idle connections are closed after keepAlive.idleTimeoutMs", async () => {
  // Reuse within the timeout is the keep-alive tests' concern; this one
  // asserts that an idle connection does not stay open for good.
  const closed: string[] = [];
  const up = rawUpstream(async (conn) => {
    await readHead(conn);
    await conn.write(enc.encode(OK));
    closed.push(await readHead(conn)); // "" when the proxy closes
  });
  const api = proxy({ upstreams: [up.url], keepAlive: { idleTimeoutMs: 100 } });
  const f = front((app) => app.all("/*", api));
  assert.equal(await (await fetch(`${f.base}/a`)).text(), "ok");
  await until("the idle connection to close", () => closed.length === 1, 5_000);
  assert.deepEqual(closed, [""]);
  await f.stop();
  await api.close();
  await up.stop();
});

Deno.test("proxy upstream client: chunked, close-delimited and interim answers are relayed whole", async () => {
  for (
    const answer of [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n",
      "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcde",
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde",
    ]
  ) {
    const up = keepAliveUpstream(() => answer);
    const [got] = await through({}, up.url, [{}]);
    assert.equal(got.status, 200, answer);
    assert.equal(got.text, "abcde", answer);
    assert.equal(got.headers.get("x-trailer"), null);
    await up.stop();
  }
});

Deno.test("proxy upstream client: broken answers get 502 and their connection is not reused", async () => {
  for (
    const answer of [
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
      "HTTP/2 200\r\n\r\n",
      "HTTP/1.1 99 Nope\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(40_000) + "\r\n\r\n",
    ]
  ) {
    const up = keepAliveUpstream(() => answer);
    const got = await through({ retry: false }, up.url, [{}, {}]);
    assert.deepEqual(got.map((r) => r.status), [502, 502], answer.slice(0, 60));
    assert.deepEqual(up.perConn, [1, 1]);
    await up.stop();
  }
});

Deno.test("proxy upstream client: a chunked upload goes upstream chunked, a declared one with its length", async () => {
  const up = upstream(async (req) =>
    new Response(
      `${req.headers.get("transfer-encoding")}|${
        req.headers.get("content-length")
      }|${(await req.bytes()).length}`,
    )
  );
  const big = new Uint8Array(300_000).fill(1);
  const chunks = () =>
    new ReadableStream({
      start(c) {
        c.enqueue(big.subarray(0, 100_000));
        c.enqueue(big.subarray(100_000));
        c.close();
      },
    });
  const got = await through({}, up.url, [
    { method: "POST", body: chunks() },
    { method: "POST", body: big },
  ]);
  assert.deepEqual(got.map((r) => r.text), [
    "chunked|null|300000",
    "null|300000|300000",
  ]);
  await up.stop();
});
