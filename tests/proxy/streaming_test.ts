import assert from "node:assert/strict";
import { proxy } from "../../src/proxy/mod.ts";
import { rawExchange } from "../_helpers.ts";
import { front, rawUpstream, readHead, upstream } from "./_servers.ts";

const MiB = 1 << 20;
const TOTAL = 100 * MiB;
/**
 * One chunk sent over and over: the test's own garbage would blur RSS, and
 * every hop copies it anyway (sockets, the h1 parser), so anything in the
 * proxy that buffers the body holds fresh memory.
 */
const CHUNK = new Uint8Array(64 * 1024).fill(0x61);
/** RSS growth allowed while 100 MiB flows through: a memory bound, not a timing one. */
const RSS_BOUND = 64 * MiB;
/** Size of the unmeasured transfer that warms up Deno's own buffers. */
const WARM = 16 * MiB;
/** How far the sender may get ahead of the receiver: what backpressure bounds. */
const LEAD_BOUND = 16 * MiB;

/** Progress of one transfer: bytes produced, bytes consumed, peaks. */
interface Flow {
  sent: number;
  received: number;
  lead: number;
  rss: number;
}

function flow(): Flow {
  return { sent: 0, received: 0, lead: 0, rss: Deno.memoryUsage().rss };
}

/** A stream of `total` bytes that records how far it runs ahead of `f.received`. */
function generated(f: Flow, total = TOTAL): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (f.sent >= total) {
        controller.close();
        return;
      }
      f.lead = Math.max(f.lead, f.sent - f.received);
      if ((f.sent & (4 * MiB - 1)) === 0) {
        f.rss = Math.max(f.rss, Deno.memoryUsage().rss);
      }
      controller.enqueue(CHUNK);
      f.sent += CHUNK.length;
    },
  }, { highWaterMark: 0 });
}

function assertFlat(f: Flow, before: number): void {
  assert.equal(f.received, TOTAL);
  const growth = f.rss - before;
  assert.ok(growth < RSS_BOUND, `RSS grew ${(growth / MiB).toFixed(1)} MiB`);
  assert.ok(
    f.lead < LEAD_BOUND,
    `the sender ran ${(f.lead / MiB).toFixed(1)} MiB ahead of the receiver`,
  );
}

async function drain(body: ReadableStream<Uint8Array>, f: Flow): Promise<void> {
  for await (const chunk of body) f.received += chunk.length;
}

Deno.test("proxy: a 100 MiB upload streams through with backpressure and flat memory", async () => {
  let f = flow();
  const up = upstream(async (req) => {
    await drain(req.body!, f);
    return new Response(String(f.received));
  });
  const api = proxy({ upstreams: [up.url] });
  const front_ = front((app) =>
    app.post("/up/*", { limits: { bodyBytes: 200 * MiB } }, api)
  );
  // A 16 MiB transfer first: Deno's own first large transfer (client fetch
  // and Deno.serve alone) grows RSS by up to ~60 MiB, which is not ours.
  await (await fetch(`${front_.base}/up/`, {
    method: "POST",
    body: generated(f, WARM),
  })).text();
  f = flow();
  const before = f.rss;
  const res = await fetch(`${front_.base}/up/`, {
    method: "POST",
    body: generated(f),
  });
  assert.equal(await res.text(), String(TOTAL));
  assertFlat(f, before);
  await front_.stop();
  await api.close();
  await up.stop();
});

Deno.test("proxy: a 100 MiB download streams through with backpressure and flat memory", async () => {
  let f = flow();
  const up = upstream((req) =>
    new Response(
      generated(f, new URL(req.url).pathname === "/warm" ? WARM : TOTAL),
    )
  );
  const api = proxy({ upstreams: [up.url] });
  const front_ = front((app) => app.get("/down/*", api));
  await drain((await fetch(`${front_.base}/down/warm`)).body!, f);
  f = flow();
  const before = f.rss;
  const res = await fetch(`${front_.base}/down/`);
  await drain(res.body!, f);
  assertFlat(f, before);
  await front_.stop();
  await api.close();
  await up.stop();
});

/** An upstream that sends a head, then one byte of body every 20 ms. */
function trickle(head: string) {
  return rawUpstream(async (conn) => {
    await readHead(conn);
    await conn.write(new TextEncoder().encode(head));
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      await conn.write(new TextEncoder().encode(
        head.includes("chunked") ? "1\r\nx\r\n" : "x",
      ));
    }
  });
}

Deno.test("proxy: a trickling chunked response is aborted at timeoutMs, never ended cleanly", async () => {
  const up = trickle("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  const api = proxy({ upstreams: [up.url], timeoutMs: 300 });
  const f = front((app) => app.get("/t/*", api));
  const raw = await rawExchange(
    f.server.addr.port,
    "GET /t/ HTTP/1.1\r\nHost: x\r\n\r\n",
    { timeoutMs: 10_000 },
  );
  assert.match(raw, /^HTTP\/1\.1 200 /);
  assert.match(raw, /1\r\nx\r\n/, "some bytes were relayed");
  assert.ok(!raw.endsWith("0\r\n\r\n"), "no last chunk: the transfer is cut");
  await f.stop();
  await api.close();
  await up.stop();
});

Deno.test("proxy: a trickling fixed-length response is cut short at timeoutMs and the connection closed", async () => {
  const up = trickle("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
  const api = proxy({ upstreams: [up.url], timeoutMs: 300 });
  const f = front((app) => app.get("/t/*", api));
  const res = await fetch(`${f.base}/t/`);
  assert.equal(res.status, 200);
  await assert.rejects(res.text(), "the client sees an incomplete body");
  await f.stop();
  await api.close();
  await up.stop();
});

Deno.test("proxy: a small body still trickling at timeoutMs gets 504: it is read whole before sending", async () => {
  const up = trickle("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  const api = proxy({ upstreams: [up.url], timeoutMs: 300 });
  const f = front((app) => app.get("/t/*", api));
  const res = await fetch(`${f.base}/t/`);
  assert.equal(res.status, 504);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  await res.body?.cancel();
  await f.stop();
  await api.close();
  await up.stop();
});
