import assert from "node:assert/strict";
import { proxy } from "../../src/proxy/mod.ts";
import {
  hasCompleteResponse,
  parseResponse,
  rawExchange,
} from "../_helpers.ts";
import { Client } from "../websocket/_helpers.ts";
import { closedPort, front, rawUpstream, readHead } from "./_servers.ts";
import { ACCEPT, upgradeHead, waitFor, wsUpstream } from "./_ws.ts";

for (const transport of ["h1", "deno"] as const) {
  Deno.test(`proxy WebSocket on ${transport}: text and binary echo, prefix stripped, subprotocol passed`, async () => {
    const up = wsUpstream();
    const api = proxy({ upstreams: [up.url + "/v1"] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const client = new Client(`${f.base.replace("http", "ws")}/ws/room?x=1`, [
      "chat",
    ]);
    await client.opened;
    assert.equal(client.ws.protocol, "chat");
    client.ws.send("hello");
    client.ws.send(new Uint8Array([1, 2, 3, 255]));
    const big = "é".repeat(70_000); // a 64-bit length frame, UTF-8
    client.ws.send(big);
    const got = await client.received(3);
    assert.equal(got[0], "hello");
    assert.deepEqual([...new Uint8Array(got[1] as ArrayBuffer)], [
      1,
      2,
      3,
      255,
    ]);
    assert.equal(got[2], big);
    assert.equal(new URL(up.seen[0].url).pathname, "/v1/room");
    assert.equal(new URL(up.seen[0].url).search, "?x=1");
    client.ws.close(1000);
    await client.closed;
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: the client's close code reaches the upstream`, async () => {
    const up = wsUpstream();
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
    await client.opened;
    client.ws.close(4001, "done");
    await client.closed;
    await waitFor(() => up.closes.length === 1);
    assert.equal(up.closes[0], 4001);
    await waitFor(() => up.sockets.size === 0);
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: the upstream's close code reaches the client`, async () => {
    const up = wsUpstream();
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
    await client.opened;
    client.ws.send("close:4002");
    const closed = await client.closed;
    assert.equal(closed.code, 4002);
    assert.equal(closed.reason, "bye");
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: an upstream refusing the upgrade is relayed`, async () => {
    const up = wsUpstream(() =>
      new Response("members only", {
        status: 403,
        headers: { "x-why": "cookie" },
      })
    );
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const port = f.server.addr.port;
    const raw = await rawExchange(
      port,
      upgradeHead(port, "/ws/", ["X-Refuse: 1"]),
      {
        until: hasCompleteResponse,
      },
    );
    const res = parseResponse(raw);
    assert.equal(res.status, 403, raw);
    assert.equal(res.headers["x-why"], "cookie");
    assert.equal(res.body, "members only");
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: an upstream that never answers the upgrade gets 504 at timeoutMs`, async () => {
    const up = rawUpstream(async (conn) => {
      await readHead(conn);
      await readHead(conn); // until the proxy gives up and closes
    });
    const api = proxy({ upstreams: [up.url], timeoutMs: 200 });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const port = f.server.addr.port;
    const raw = await rawExchange(port, upgradeHead(port, "/ws/"), {
      until: hasCompleteResponse,
    });
    const res = parseResponse(raw);
    assert.equal(res.status, 504, raw);
    assert.equal(res.headers["content-type"], "application/problem+json");
    assert.match(JSON.parse(res.body).detail, /timeoutMs of 200 ms/);
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: a client's own X-Forwarded-For is not trusted on the upgrade`, async () => {
    const up = wsUpstream();
    const api = proxy({ upstreams: [up.url], forwarded: "both" });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const port = f.server.addr.port;
    const raw = await rawExchange(
      port,
      upgradeHead(port, "/ws/", [
        "X-Forwarded-For: 6.6.6.6",
        "Forwarded: for=6.6.6.6",
        "X-Real-IP: 6.6.6.6",
        "Keep-Alive: timeout=5",
        "Sec-WebSocket-Extensions: permessage-deflate",
      ]),
      { until: (t) => t.includes("\r\n\r\n") },
    );
    assert.match(raw, /^HTTP\/1\.1 101 /, raw);
    assert.match(
      raw,
      new RegExp(
        `sec-websocket-accept: ${ACCEPT.replace(/[+/]/g, "\\$&")}`,
        "i",
      ),
    );
    const seen = up.seen[0].headers;
    assert.equal(seen["x-forwarded-for"], "127.0.0.1");
    assert.equal(
      seen["forwarded"],
      `for=127.0.0.1;proto=http;host="127.0.0.1:${port}"`,
    );
    assert.equal(seen["x-real-ip"], undefined);
    assert.equal(seen["keep-alive"], undefined);
    assert.equal(seen["host"], new URL(up.url).host);
    assert.equal(seen["upgrade"], "websocket");
    assert.equal(seen["sec-websocket-key"], "dGhlIHNhbXBsZSBub25jZQ==");
    // The deno transport speaks the protocol on both sides: no extension.
    assert.equal(
      seen["sec-websocket-extensions"],
      transport === "h1" ? "permessage-deflate" : undefined,
    );
    await waitFor(() => up.closes.length === 1);
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: a 101 with the wrong accept value gets 502`, async () => {
    const up = rawUpstream(async (conn) => {
      await readHead(conn);
      await conn.write(new TextEncoder().encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
          "Connection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBvbmU=\r\n\r\n",
      ));
      await readHead(conn);
    });
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const port = f.server.addr.port;
    const raw = await rawExchange(port, upgradeHead(port, "/ws/"), {
      until: hasCompleteResponse,
    });
    const res = parseResponse(raw);
    assert.equal(res.status, 502, raw);
    assert.match(JSON.parse(res.body).detail, /Sec-WebSocket-Accept/);
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: a bad handshake is refused before any upstream is asked`, async () => {
    const up = wsUpstream();
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const port = f.server.addr.port;
    const raw = await rawExchange(
      port,
      upgradeHead(port, "/ws/").replace("Version: 13", "Version: 8"),
      { until: hasCompleteResponse },
    );
    const res = parseResponse(raw);
    assert.equal(res.status, 426, raw);
    assert.equal(res.headers["sec-websocket-version"], "13");
    assert.equal(up.seen.length, 0);
    await f.stop();
    await api.close();
    await up.stop();
  });
}

Deno.test("proxy WebSocket: an upgrade is retried on another upstream after a connect failure", async () => {
  const up = wsUpstream();
  const dead = `http://127.0.0.1:${closedPort()}`;
  // Round robin starts with the dead one.
  const api = proxy({ upstreams: [dead, up.url] });
  const f = front((app) => app.all("/ws/*", api));
  const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
  await client.opened;
  client.ws.send("still here");
  assert.deepEqual(await client.received(1), ["still here"]);
  client.ws.close(1000);
  await client.closed;
  await f.stop();
  await api.close();
  await up.stop();
});

Deno.test("proxy WebSocket: another Upgrade (h2c) is proxied as plain HTTP without it", async () => {
  const up = wsUpstream();
  const api = proxy({ upstreams: [up.url] });
  const f = front((app) => app.all("/ws/*", api));
  const port = f.server.addr.port;
  const raw = await rawExchange(
    port,
    `GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: h2c\r\n` +
      "Connection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n" +
      "X-Refuse: 1\r\nConnection: close\r\n\r\n",
    { until: hasCompleteResponse },
  );
  assert.equal(parseResponse(raw).status, 403, raw);
  const seen = up.seen[0].headers;
  assert.equal(seen["upgrade"], undefined);
  assert.equal(seen["http2-settings"], undefined);
  await f.stop();
  await api.close();
  await up.stop();
});

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url));

for (const transport of ["h1", "deno"] as const) {
  Deno.test(`proxy WebSocket on ${transport}: an https upstream is reached over TLS, trusted through caCerts`, async () => {
    const up = wsUpstream(() => new Response("plain over tls"), {
      cert: fixture("server_cert.pem"),
      key: fixture("server_key.pem"),
    });
    const api = proxy({
      upstreams: [up.url],
      caCerts: [fixture("ca_cert.pem")],
    });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
    await client.opened;
    client.ws.send("secret");
    assert.deepEqual(await client.received(1), ["secret"]);
    client.ws.close(1000);
    await client.closed;
    // Plain HTTP through the same proxy uses the same trust.
    const res = await fetch(`${f.base}/ws/`, { headers: { "x-refuse": "1" } });
    assert.equal(await res.text(), "plain over tls");
    await f.stop();
    await api.close();
    await up.stop();
  });
}
