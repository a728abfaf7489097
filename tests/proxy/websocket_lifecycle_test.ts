import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { proxy } from "../../src/proxy/mod.ts";
import { Client } from "../websocket/_helpers.ts";
import { front, rawUpstream, readHead } from "./_servers.ts";
import { waitFor, wsUpstream } from "./_ws.ts";

/** The value of a sample of `family` with `labels` in Prometheus text, or 0. */
function sample(text: string, family: string, labels: string): number {
  const line = text.split("\n").find((l) =>
    l.startsWith(`${family}{${labels}}`)
  );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** A raw upstream that accepts the upgrade, then never reads again. */
function deafUpstream(): { url: string; stop(): Promise<void> } {
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const up = rawUpstream(async (conn) => {
    const head = await readHead(conn);
    const key = /sec-websocket-key: *(\S+)/i.exec(head)![1];
    const accept = createHash("sha1")
      .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    await conn.write(new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
        `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    ));
    await gate; // never reads again
  });
  return {
    url: up.url,
    stop: () => {
      release();
      return up.stop();
    },
  };
}

for (const transport of ["h1", "deno"] as const) {
  Deno.test(`proxy WebSocket on ${transport}: metrics count the open tunnel and who closed it`, async () => {
    const up = wsUpstream();
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const labels = `upstream="${up.url}"`;
    const a = new Client(`${f.base.replace("http", "ws")}/ws/`);
    const b = new Client(`${f.base.replace("http", "ws")}/ws/`);
    await a.opened;
    await b.opened;
    const family = "palisade_proxy_upstream_websockets_active";
    assert.equal(sample(f.app.metrics.text(), family, labels), 2);
    a.ws.close(4000);
    await a.closed;
    b.ws.send("close:4001");
    await b.closed;
    const closes = "palisade_proxy_upstream_websocket_closes_total";
    await waitFor(() => sample(f.app.metrics.text(), family, labels) === 0);
    const text = f.app.metrics.text();
    assert.equal(sample(text, closes, `${labels},closed_by="client"`), 1);
    assert.equal(sample(text, closes, `${labels},closed_by="upstream"`), 1);
    assert.equal(
      sample(
        text,
        "palisade_proxy_upstream_requests_total",
        `${labels},status_class="1xx"`,
      ),
      2,
    );
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: a tunnel silent for idleTimeoutMs is closed, a busy one is not`, async () => {
    const up = wsUpstream();
    const api = proxy({
      upstreams: [up.url],
      websocket: { idleTimeoutMs: 300 },
    });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const quiet = new Client(`${f.base.replace("http", "ws")}/ws/`);
    const busy = new Client(`${f.base.replace("http", "ws")}/ws/`);
    await quiet.opened;
    await busy.opened;
    const opened = Date.now();
    let n = 0;
    const chatter = setInterval(() => busy.ws.send(String(n++)), 50);
    const closed = await quiet.closed;
    const after = Date.now() - opened;
    assert.ok(after >= 300, `closed after ${after} ms`);
    assert.equal(closed.code, 1001);
    assert.equal(closed.reason, "Idle timeout");
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(chatter);
    assert.equal(busy.ws.readyState, WebSocket.OPEN);
    busy.ws.close(1000);
    await busy.closed;
    const text = f.app.metrics.text();
    assert.equal(
      sample(
        text,
        "palisade_proxy_upstream_websocket_closes_total",
        `upstream="${up.url}",closed_by="idle"`,
      ),
      1,
    );
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: graceful shutdown closes a tunnel with 1001`, async () => {
    const up = wsUpstream();
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
    await client.opened;
    client.ws.send("x");
    await client.received(1);
    const started = Date.now();
    await f.stop(); // graceMs is 10 s: the tunnel must close well before
    assert.ok(Date.now() - started < 5_000);
    const closed = await client.closed;
    assert.equal(closed.code, 1001);
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy WebSocket on ${transport}: the proxy's close() ends open tunnels`, async () => {
    const up = wsUpstream();
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/ws/*", api), { transport });
    const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
    await client.opened;
    await api.close();
    await client.closed;
    await waitFor(() => up.sockets.size === 0);
    await f.stop();
    await up.stop();
  });
}

Deno.test("proxy WebSocket on deno: a message over maxMessageBytes closes the client with 1009", async () => {
  const up = wsUpstream();
  const api = proxy({
    upstreams: [up.url],
    websocket: { maxMessageBytes: 1000 },
  });
  const f = front((app) => app.all("/ws/*", api), { transport: "deno" });
  const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
  await client.opened;
  client.ws.send("x".repeat(1000));
  await client.received(1);
  client.ws.send("x".repeat(1001));
  const closed = await client.closed;
  assert.equal(closed.code, 1009);
  await waitFor(() => up.sockets.size === 0);
  await f.stop();
  await api.close();
  await up.stop();
});

Deno.test("proxy WebSocket on deno: an upstream that does not read gets its client closed with 1008 at maxBufferedBytes", async () => {
  const up = deafUpstream();
  const api = proxy({
    upstreams: [up.url],
    websocket: { maxBufferedBytes: 64 * 1024 },
  });
  const f = front((app) => app.all("/ws/*", api), { transport: "deno" });
  const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
  await client.opened;
  const chunk = new Uint8Array(256 * 1024);
  let sent = 0;
  while (client.ws.readyState === WebSocket.OPEN && sent < 400) {
    client.ws.send(chunk);
    sent++;
    await new Promise((r) => setTimeout(r, 1));
  }
  const closed = await client.closed;
  assert.equal(closed.code, 1008);
  assert.ok(sent < 400, "the proxy never gave up on the deaf upstream");
  await f.stop();
  await api.close();
  await up.stop();
});

Deno.test("proxy WebSocket on h1: an upstream that does not read stops the reads from the client (TCP backpressure)", async () => {
  const up = deafUpstream();
  const api = proxy({ upstreams: [up.url] });
  const f = front((app) => app.all("/ws/*", api), { transport: "h1" });
  const client = new Client(`${f.base.replace("http", "ws")}/ws/`);
  await client.opened;
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < 96; i++) client.ws.send(chunk);
  // The proxy reads one buffer at a time: once the upstream's socket is
  // full, the client's bytes wait in its own send buffer.
  await waitFor(() => client.ws.bufferedAmount > 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(client.ws.bufferedAmount > 40 << 20, `${client.ws.bufferedAmount}`);
  client.ws.close(1000);
  await api.close();
  await client.closed;
  await f.stop();
  await up.stop();
});
