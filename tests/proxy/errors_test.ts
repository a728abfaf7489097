import { App } from "../../src/app/app.ts";
import assert from "node:assert/strict";
import { proxy, type ProxyOptions } from "../../src/proxy/mod.ts";
import {
  closedPort,
  front,
  rawUpstream,
  readHead,
  upstream,
} from "./_servers.ts";

async function problemOf(
  res: Response,
): Promise<{ status: number; detail: string }> {
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.ok(!JSON.stringify(body).includes("127.0.0.1"), "no upstream address");
  return body;
}

/** Proxies `/api/*` to `upstreams` and sends one request. */
async function once(
  options: ProxyOptions,
  init?: RequestInit,
  path = "/api/x",
): Promise<Response & { problem?: { status: number; detail: string } }> {
  const api = proxy(options);
  const f = front((app) =>
    app.all("/api/*", { limits: { bodyBytes: 1024 } }, api)
  );
  const res = await fetch(f.base + path, init);
  const out = Object.assign(res, {
    problem: res.status >= 500 || res.status === 413
      ? await problemOf(res)
      : undefined,
  });
  if (out.problem === undefined) await res.body?.cancel();
  await f.stop();
  await api.close();
  return out;
}

Deno.test("proxy: 502 when the upstream refuses the connection", async () => {
  const res = await once({ upstreams: [`http://127.0.0.1:${closedPort()}`] });
  assert.equal(res.status, 502);
  assert.match(res.problem!.detail, /connect/);
});

Deno.test("proxy: 502 when the upstream closes the connection before answering", async () => {
  const up = rawUpstream(async (conn) => {
    await readHead(conn);
  });
  const res = await once({ upstreams: [up.url], retry: false });
  assert.equal(res.status, 502);
  assert.match(res.problem!.detail, /closed the connection/);
  await up.stop();
});

Deno.test("proxy: 502 when the upstream sends garbage", async () => {
  const up = rawUpstream(async (conn) => {
    await readHead(conn);
    await conn.write(new TextEncoder().encode("SMTP ready\r\n\r\n"));
  });
  const res = await once({ upstreams: [up.url] });
  assert.equal(res.status, 502);
  assert.match(res.problem!.detail, /invalid response/);
  await up.stop();
});

/** An upstream that reads the request and never answers. */
function silent() {
  return rawUpstream(async (conn) => {
    await readHead(conn);
    const buf = new Uint8Array(1024);
    while ((await conn.read(buf)) !== null) {
      /* wait for the proxy to give up */
    }
  });
}

Deno.test("proxy: 504 when the upstream does not answer within timeoutMs", async () => {
  const up = silent();
  const res = await once({ upstreams: [up.url], timeoutMs: 100 });
  assert.equal(res.status, 504);
  assert.match(res.problem!.detail, /timeoutMs of 100 ms/);
  assert.equal(up.accepted, 1, "a timeout is not retried");
  await up.stop();
});

Deno.test("proxy: a WebSocket upgrade outside serve() gets 501 and reaches no upstream", async () => {
  const up = upstream();
  const api = proxy({ upstreams: [up.url] });
  const app = new App();
  app.all("/api/*", api);
  const res = await app.request("/api/x", {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  assert.equal(res.status, 501);
  assert.equal((await res.json()).detail, "WebSocket forwarding needs serve()");
  assert.equal(up.seen.length, 0);
  await api.close();
  await up.stop();
});

Deno.test("proxy: a POST is retried on another upstream after a connect failure", async () => {
  const up = upstream(async (req) => new Response(`got ${await req.text()}`));
  const dead = `http://127.0.0.1:${closedPort()}`;
  // Round robin starts with the dead one.
  const res = await once({ upstreams: [dead, up.url] }, {
    method: "POST",
    body: "payload",
  });
  assert.equal(res.status, 200);
  assert.equal(up.seen.length, 1);
  await up.stop();
});

Deno.test("proxy: a POST is not retried after the upstream may have received it", async () => {
  const up = rawUpstream(async (conn) => {
    await readHead(conn); // then close without answering
  });
  const res = await once({ upstreams: [up.url, `${up.url}/other`] }, {
    method: "POST",
    body: "once",
  });
  assert.equal(res.status, 502);
  assert.equal(up.accepted, 1);
  await up.stop();
});

Deno.test("proxy: a GET is retried after a reset when retry.idempotent allows, not when it does not", async () => {
  const flaky = rawUpstream(async (conn) => {
    await readHead(conn);
  });
  const good = upstream(() => new Response("good"));
  const ok = await once({ upstreams: [flaky.url, good.url] });
  assert.equal(ok.status, 200);
  const no = await once({
    upstreams: [flaky.url, good.url],
    retry: { idempotent: false },
  });
  assert.equal(no.status, 502);
  const never = await once({
    upstreams: [flaky.url, good.url],
    retry: { attempts: 0 },
  });
  assert.equal(never.status, 502);
  assert.equal(flaky.accepted, 3);
  assert.equal(good.seen.length, 1);
  await flaky.stop();
  await good.stop();
});

Deno.test("proxy: the route's bodyBytes limit applies to proxied bodies", async () => {
  const up = upstream(async (req) =>
    new Response(String((await req.arrayBuffer()).byteLength))
  );
  // Declared too large.
  const declared = await once({ upstreams: [up.url] }, {
    method: "POST",
    body: new Uint8Array(2048),
  });
  assert.equal(declared.status, 413);
  // Streamed (chunked) past the limit.
  const chunks = [new Uint8Array(600), new Uint8Array(600)];
  const streamed = await once({ upstreams: [up.url] }, {
    method: "POST",
    body: ReadableStream.from(chunks),
  });
  assert.equal(streamed.status, 413);
  assert.match(streamed.problem!.detail, /bodyBytes/);
  await up.stop();
});

Deno.test("proxy: options are validated once, with a TypeError naming the option", () => {
  const bad: [unknown, RegExp][] = [
    [{ upstreams: [] }, /Option upstreams must be a non-empty list/],
    [
      { upstreams: ["ftp://x"] },
      /Option upstreams\[0\] must be an http: or https: URL/,
    ],
    [
      { upstreams: ["http://u:secret@x"] },
      /Option upstreams\[0\] must not contain credentials/,
    ],
    [
      { upstreams: ["http://x?a=1"] },
      /Option upstreams\[0\] must not have a query/,
    ],
    [{ upstreams: ["http://x", "http://x"] }, /Option upstreams\[1\] repeats/],
    [
      { upstreams: [{ url: "http://x", weight: 0 }] },
      /Option upstreams\[0\]\.weight must be an integer from 1 to 1000, got 0/,
    ],
    [
      { upstreams: ["http://x"], strategy: "fastest" },
      /Option strategy must be one of/,
    ],
    [
      { upstreams: ["http://x"], timeoutMs: -1 },
      /Option timeoutMs must be a non-negative integer, got -1/,
    ],
    [
      { upstreams: ["http://x"], retry: { attempts: 1.5 } },
      /Option retry\.attempts/,
    ],
    [
      { upstreams: ["http://x"], healthCheck: { intervalMs: 0 } },
      /Option healthCheck\.intervalMs/,
    ],
    [
      {
        upstreams: ["http://x"],
        healthCheck: { intervalMs: 100, timeoutMs: 200 },
      },
      /Option healthCheck\.timeoutMs must be an integer from 1 to 100, got 200/,
    ],
    [
      { upstreams: ["http://x"], healthCheck: { path: "health" } },
      /Option healthCheck\.path/,
    ],
    [
      { upstreams: ["http://x"], healthCheck: { expectStatus: [] } },
      /Option healthCheck\.expectStatus/,
    ],
    [{
      upstreams: ["http://x"],
      outlier: { baseEjectionMs: 10, maxEjectionMs: 5 },
    }, /Option outlier\.maxEjectionMs/],
    [
      { upstreams: ["http://x"], forwarded: "x-real-ip" },
      /Option forwarded must be/,
    ],
    [
      { upstreams: ["http://x"], preserveHost: "yes" },
      /Option preserveHost must be a boolean/,
    ],
    [
      { upstreams: ["http://x"], rewritePath: "/x" },
      /Option rewritePath must be a function/,
    ],
    [
      { upstreams: ["http://x"], caCerts: ["not a certificate"] },
      /Option caCerts must be a list of PEM certificates/,
    ],
    [
      { upstreams: ["http://x"], websocket: { idleTimeoutMs: -5 } },
      /Option websocket\.idleTimeoutMs must be an integer from 0 to 2147483647, got -5/,
    ],
    [
      { upstreams: ["http://x"], websocket: { maxMessageBytes: 0 } },
      /Option websocket\.maxMessageBytes must be an integer of at least 1, got 0/,
    ],
    [
      { upstreams: ["http://x"], websocket: { maxBufferedBytes: "1mb" } },
      /Option websocket\.maxBufferedBytes/,
    ],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => proxy(options as ProxyOptions), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, message);
      assert.ok(!e.message.includes("secret"), "credentials never echoed");
      return true;
    });
  }
});
