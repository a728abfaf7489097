import assert from "node:assert/strict";
import { proxy } from "../../src/proxy/mod.ts";
import type { AppOptions } from "../../src/app/options.ts";
import type { ForwardedMode } from "../../src/proxy/mod.ts";
import {
  hasCompleteResponse,
  parseResponse,
  rawExchange,
} from "../_helpers.ts";
import { front, upstream } from "./_servers.ts";

/** An upstream that answers with the request's URL and headers as JSON. */
function echo() {
  return upstream((req) =>
    Response.json({ url: req.url, headers: Object.fromEntries(req.headers) })
  );
}

interface Echoed {
  url: string;
  headers: Record<string, string>;
}

/** Sends a raw HTTP/1.1 request with `lines` as header lines through a proxy. */
async function through(
  lines: string[],
  options: {
    forwarded?: ForwardedMode;
    app?: AppOptions;
    path?: string;
    preserveHost?: boolean;
  } = {},
): Promise<Echoed> {
  const up = echo();
  const api = proxy({
    upstreams: [up.url + "/v1"],
    forwarded: options.forwarded,
    preserveHost: options.preserveHost,
  });
  const f = front((app) => app.all("/api/*", api), { app: options.app });
  const port = f.server.addr.port;
  const raw = await rawExchange(
    port,
    `GET ${
      options.path ?? "/api/x"
    } HTTP/1.1\r\nHost: front.example:${port}\r\n` +
      lines.map((l) => l + "\r\n").join("") + "Connection: close\r\n\r\n",
    { until: hasCompleteResponse },
  );
  await f.stop();
  await api.close();
  await up.stop();
  const res = parseResponse(raw);
  assert.equal(res.status, 200, raw);
  return JSON.parse(res.body);
}

Deno.test("proxy: hop-by-hop request fields are not forwarded, nor fields named in Connection", async () => {
  const { headers } = await through([
    "Connection: X-Secret, keep-alive",
    "X-Secret: 1",
    "Keep-Alive: timeout=5",
    "Proxy-Authorization: Basic Zm9vOmJhcg==",
    "Proxy-Connection: keep-alive",
    "TE: trailers",
    "Trailer: x-sum",
    "Upgrade: h2c",
    "X-Kept: yes",
  ]);
  for (
    const name of [
      "connection",
      "x-secret",
      "keep-alive",
      "proxy-authorization",
      "proxy-connection",
      "te",
      "trailer",
      "upgrade",
    ]
  ) {
    assert.equal(headers[name], undefined, name);
  }
  assert.equal(headers["x-kept"], "yes");
});

Deno.test("proxy: hop-by-hop response fields are not relayed", async () => {
  // A raw upstream, to send exactly these fields.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      await conn.read(buf);
      await conn.write(new TextEncoder().encode(
        "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n" +
          "Proxy-Authenticate: Basic\r\nX-End: 2\r\nContent-Length: 2\r\n\r\nok",
      ));
      conn.close();
    }
  })();
  const api = proxy({ upstreams: [`http://127.0.0.1:${listener.addr.port}`] });
  const f = front((app) => app.all("/api/*", api));
  const raw = await rawExchange(
    f.server.addr.port,
    "GET /api/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    { until: hasCompleteResponse },
  );
  const res = parseResponse(raw);
  assert.equal(res.status, 200);
  assert.equal(res.body, "ok");
  assert.equal(res.headers["x-end"], "2");
  for (const name of ["x-hop", "keep-alive", "proxy-authenticate"]) {
    assert.equal(res.headers[name], undefined, name);
  }
  assert.equal(res.headers["connection"], "close"); // the front's own
  await f.stop();
  await api.close();
  listener.close();
  await served.catch(() => {});
});

Deno.test("proxy: a spoofed X-Forwarded-For from an untrusted peer is replaced, not forwarded", async () => {
  const spoof = [
    "X-Forwarded-For: 6.6.6.6",
    "X-Forwarded-Proto: https",
    "X-Forwarded-Host: evil.example",
    "Forwarded: for=6.6.6.6;proto=https",
    "X-Real-IP: 6.6.6.6",
  ];
  const { headers } = await through(spoof);
  assert.equal(headers["x-forwarded-for"], "127.0.0.1");
  assert.equal(headers["x-forwarded-proto"], "http");
  assert.match(headers["x-forwarded-host"], /^front\.example:\d+$/);
  assert.equal(headers["forwarded"], undefined);
  assert.equal(headers["x-real-ip"], undefined);
  assert.ok(!JSON.stringify(headers).includes("6.6.6.6"));

  // Even when the spoofed chain ends with the peer's own address.
  const again = await through(["X-Forwarded-For: 6.6.6.6, 127.0.0.1"]);
  assert.equal(again.headers["x-forwarded-for"], "127.0.0.1");

  // And with trustProxy configured for someone else.
  const other = await through(["X-Forwarded-For: 6.6.6.6"], {
    app: { trustProxy: { proxies: ["10.0.0.0/8"] } },
  });
  assert.equal(other.headers["x-forwarded-for"], "127.0.0.1");
});

Deno.test("proxy: a trusted proxy's chain is kept and the resolved client appended", async () => {
  const trust: AppOptions = { trustProxy: { proxies: ["127.0.0.1"] } };
  const { headers } = await through([
    "X-Forwarded-For: 198.51.100.9, 203.0.113.7",
    "X-Forwarded-Proto: https",
    "X-Forwarded-Host: shop.example",
  ], { app: trust });
  // ctx.remote is 203.0.113.7; an upstream trusting only this proxy sees
  // that client as the last hop.
  assert.equal(
    headers["x-forwarded-for"],
    "198.51.100.9, 203.0.113.7, 203.0.113.7",
  );
  assert.equal(headers["x-forwarded-proto"], "https");
  assert.equal(headers["x-forwarded-host"], "shop.example");

  const fwd = await through([
    'Forwarded: for="[2001:db8::7]";proto=https',
  ], {
    app: { trustProxy: { proxies: ["127.0.0.1"], header: "forwarded" } },
    forwarded: "both",
  });
  assert.match(
    fwd.headers["forwarded"],
    /^for="\[2001:db8::7\]";proto=https, for="\[2001:db8::7\]";proto=http;host="front\.example:\d+"$/,
  );
  assert.equal(fwd.headers["x-forwarded-for"], "2001:db8::7");
});

Deno.test('proxy: forwarded: "forwarded" writes RFC 7239 only; false passes fields as they are', async () => {
  const only = await through(["X-Forwarded-For: 6.6.6.6"], {
    forwarded: "forwarded",
  });
  assert.match(
    only.headers["forwarded"],
    /^for=127\.0\.0\.1;proto=http;host="front\.example:\d+"$/,
  );
  assert.equal(only.headers["x-forwarded-for"], undefined);

  const none = await through(["X-Forwarded-For: 6.6.6.6"], {
    forwarded: false,
  });
  assert.equal(none.headers["x-forwarded-for"], "6.6.6.6");
  assert.equal(none.headers["forwarded"], undefined);
});

Deno.test("proxy: Host is the upstream's unless preserveHost", async () => {
  const plain = await through([]);
  assert.match(plain.headers["host"], /^127\.0\.0\.1:\d+$/);
  const kept = await through([], { preserveHost: true });
  assert.match(kept.headers["host"], /^front\.example:\d+$/);
});

Deno.test("proxy: the mount prefix is stripped, the base path prepended, the query kept", async () => {
  const cases: [string, string][] = [
    ["/api/a/b?x=1&y=%20z", "/v1/a/b?x=1&y=%20z"],
    ["/api", "/v1"],
    ["/api/", "/v1"],
    ["/api/a/", "/v1/a/"],
    ["/api/caf%C3%A9/100%25", "/v1/caf%C3%A9/100%25"],
    ["/api//a//b", "/v1/a/b"], // the normalised path the App routed
    ["/api/a%20b", "/v1/a%20b"],
  ];
  for (const [path, want] of cases) {
    const { url } = await through([], { path });
    assert.equal(new URL(url).pathname + new URL(url).search, want, path);
  }
});

Deno.test("proxy: rewritePath maps the path; the query is kept unless it gives one", async () => {
  const up = echo();
  const api = proxy({
    upstreams: [up.url + "/ignored"],
    rewritePath: (ctx) => ctx.path.replace(/^\/old/, "/new"),
  });
  const q = proxy({ upstreams: [up.url], rewritePath: () => "/fixed?z=9" });
  const bad = proxy({ upstreams: [up.url], rewritePath: () => "relative" });
  const errors: unknown[] = [];
  const f = front((app) => {
    app.all("/old/*", api);
    app.all("/q/*", q);
    app.all("/bad/*", bad);
  }, { app: { onError: (e) => void errors.push(e) } });
  const one = await (await fetch(`${f.base}/old/x?a=1`)).json();
  assert.equal(
    new URL(one.url).pathname + new URL(one.url).search,
    "/new/x?a=1",
  );
  const two = await (await fetch(`${f.base}/q/x?a=1`)).json();
  assert.equal(
    new URL(two.url).pathname + new URL(two.url).search,
    "/fixed?z=9",
  );
  const res = await fetch(`${f.base}/bad/x`);
  assert.equal(res.status, 500);
  await res.body?.cancel();
  assert.match(String(errors[0]), /rewritePath must return a path/);
  assert.equal(up.seen.length, 2);
  await f.stop();
  await Promise.all([api.close(), q.close(), bad.close()]);
  await up.stop();
});

Deno.test("proxy: upstreams are asked for identity, so compressed bodies are relayed intact", async () => {
  const gz = new Uint8Array(
    await new Response(
      new Blob(["hello hello hello"]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  // An upstream that compresses whatever was asked.
  const up = upstream((req) =>
    new Response(gz, {
      headers: {
        "content-encoding": "gzip",
        "x-asked": req.headers.get("accept-encoding") ?? "",
      },
    })
  );
  const api = proxy({ upstreams: [up.url] });
  const f = front((app) => app.all("/api/*", api));
  const raw = await rawExchange(
    f.server.addr.port,
    "GET /api/ HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    { until: hasCompleteResponse },
  );
  const res = parseResponse(raw);
  assert.equal(res.headers["x-asked"], "identity");
  assert.equal(res.headers["content-encoding"], "gzip");
  assert.equal(Number(res.headers["content-length"]), gz.length);
  await f.stop();
  await api.close();
  await up.stop();
});
