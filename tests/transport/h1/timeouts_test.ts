/**
 * h1 engine timeouts, shortened: header (slowloris), body, idle and TLS
 * handshake. Each check is bounded: "not before the timeout, and within
 * the timeout plus slack".
 */

import assert from "node:assert/strict";
import { App, type RejectInfo } from "../../../mod.ts";
import { delay, get, startH1, testApp, Wire } from "./_helpers.ts";

/** Generous slack for a loaded CI machine; the sweep adds up to two ticks. */
const SLACK = 1500;

Deno.test("h1 timeouts: a trickling head gets 408 at headerTimeoutMs, not later", async () => {
  const rejects: RejectInfo[] = [];
  const s = startH1(testApp({ onReject: (r) => rejects.push(r) }), {
    headerTimeoutMs: 300,
  });
  const w = await Wire.open(s.port);
  const start = performance.now();
  try {
    // One byte every 40 ms: each byte arrives well within any per-read
    // timeout, but the head is never complete.
    const trickling = w.trickle(
      get("/", "X-Slow: " + "s".repeat(200) + "\r\n"),
      1,
      40,
    )
      .catch(() => {});
    const res = await w.read();
    const elapsed = performance.now() - start;
    assert.equal(res.status, 408);
    assert.equal(res.headers.get("connection"), "close");
    assert.match(JSON.parse(res.text).detail, /headerTimeoutMs of 300 ms/);
    assert.ok(elapsed >= 290, `408 after ${elapsed} ms`);
    assert.ok(elapsed < 300 + SLACK, `408 after ${elapsed} ms`);
    w.close();
    await trickling;
    assert.equal(rejects[0].reason, "header_timeout");
    assert.equal(rejects[0].status, 408);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: a connection that sends nothing is closed without an answer", async () => {
  const rejects: RejectInfo[] = [];
  const s = startH1(testApp({ onReject: (r) => rejects.push(r) }), {
    headerTimeoutMs: 300,
  });
  const w = await Wire.open(s.port);
  const start = performance.now();
  try {
    assert.equal(await w.closedWithin(300 + SLACK), true);
    assert.ok(performance.now() - start >= 290);
    assert.equal(rejects.length, 0);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: the header timeout of a keep-alive request starts at its first byte", async () => {
  const s = startH1(testApp(), { headerTimeoutMs: 400, idleTimeoutMs: 2000 });
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/"));
    assert.equal((await w.read()).status, 200);
    await delay(600); // idle, longer than headerTimeoutMs: still open
    await w.send(get("/hello/second"));
    assert.equal((await w.read()).text, "hello second");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: a stalled body gets 408 at bodyTimeoutMs", async () => {
  const rejects: RejectInfo[] = [];
  const s = startH1(testApp({ onReject: (r) => rejects.push(r) }), {
    bodyTimeoutMs: 300,
  });
  const w = await Wire.open(s.port);
  try {
    await w.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nfive!",
    );
    const start = performance.now();
    const res = await w.read();
    const elapsed = performance.now() - start;
    assert.equal(res.status, 408);
    assert.match(JSON.parse(res.text).detail, /bodyTimeoutMs of 300 ms/);
    assert.ok(
      elapsed >= 290 && elapsed < 300 + SLACK,
      `408 after ${elapsed} ms`,
    );
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(await w.closedWithin(2000), true);
    assert.ok(rejects.some((r) => r.reason === "body_timeout"));
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: body bytes that keep coming are not cut by bodyTimeoutMs", async () => {
  const s = startH1(testApp(), { bodyTimeoutMs: 300 });
  const w = await Wire.open(s.port);
  try {
    await w.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n");
    await w.trickle("12345678", 1, 100); // 800 ms in all, 100 ms apart
    assert.equal((await w.read()).text, "12345678");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: time the App spends not reading the body does not count", async () => {
  const app = new App();
  app.post("/later", async (ctx) => {
    await delay(600);
    return ctx.text(await ctx.body.text());
  });
  const s = startH1(app, { bodyTimeoutMs: 300 });
  const w = await Wire.open(s.port);
  try {
    await w.send(
      "POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n",
    );
    await delay(50);
    await w.send("late");
    assert.equal((await w.read()).text, "late");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: an idle keep-alive connection closes at idleTimeoutMs", async () => {
  const s = startH1(testApp(), { idleTimeoutMs: 300 });
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/"));
    await w.read();
    const start = performance.now();
    assert.equal(await w.closedWithin(300 + SLACK), true);
    const elapsed = performance.now() - start;
    assert.ok(elapsed >= 290, `closed after ${elapsed} ms`);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: a slow handler is not cut by the idle or header timeout", async () => {
  const app = new App();
  app.get("/slow", async (ctx) => {
    await delay(700);
    return ctx.text("done");
  });
  const s = startH1(app, { idleTimeoutMs: 200, headerTimeoutMs: 200 });
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/slow"));
    assert.equal((await w.read()).text, "done");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: a TLS client that never completes the handshake is dropped", async () => {
  const rejects: RejectInfo[] = [];
  const app = testApp({ onReject: (r) => rejects.push(r) });
  const s = startH1(app, {
    tls: {
      certFile: "tests/fixtures/server_cert.pem",
      keyFile: "tests/fixtures/server_key.pem",
    },
    tlsHandshakeTimeoutMs: 300,
  });
  const silent = await Wire.open(s.port); // plain TCP: no ClientHello ever
  const start = performance.now();
  try {
    while (rejects.length === 0 && performance.now() - start < 300 + SLACK) {
      await delay(20);
    }
    const elapsed = performance.now() - start;
    assert.equal(rejects[0]?.reason, "tls_handshake");
    assert.ok(
      elapsed >= 290 && elapsed < 300 + SLACK,
      `dropped after ${elapsed} ms`,
    );
    // The connection no longer counts, and its socket is closed.
    assert.match(app.metrics.text(), /palisade_connections_active 0\b/);
    assert.equal(await silent.closedWithin(2000), true);
    // A real TLS client is served meanwhile.
    const ca = await Deno.readTextFile("tests/fixtures/ca_cert.pem");
    const client = Deno.createHttpClient({ caCerts: [ca] });
    try {
      const res = await fetch(`https://localhost:${s.port}/hello/tls`, {
        client,
      });
      assert.equal(await res.text(), "hello tls");
    } finally {
      client.close();
    }
  } finally {
    silent.close();
    await s.close();
  }
});

Deno.test("h1 timeouts: the shared timer stops when the last connection closes", async () => {
  const s = startH1(testApp(), { idleTimeoutMs: 100, headerTimeoutMs: 100 });
  const w = await Wire.open(s.port);
  await w.send(get("/"));
  await w.read();
  assert.equal(await w.closedWithin(2000), true);
  w.close();
  // No shutdown yet: Deno's sanitizers would flag a leaked interval when
  // the test ends if the sweeper were still running. Give it a moment.
  await delay(50);
  await s.close();
});

Deno.test("h1 timeouts: a client that stops reading a response is disconnected (slow read)", async () => {
  let stopped!: (reason: unknown) => void;
  const stop = new Promise<unknown>((r) => stopped = r);
  const chunk = new Uint8Array(64 * 1024).fill(0x62);
  const app = new App({ deadlineMs: 0 });
  app.get("/firehose", (ctx) =>
    ctx.stream((async function* () {
      try {
        for (;;) yield chunk;
      } finally {
        stopped(ctx.signal.reason);
      }
    })()));
  const s = startH1(app, { bodyTimeoutMs: 300 });
  const w = await Wire.open(s.port);
  const start = performance.now();
  try {
    await w.send(get("/firehose"));
    // Never read: the socket buffers fill, then a write waits and times out.
    const reason = await stop;
    const elapsed = performance.now() - start;
    assert.ok(
      elapsed >= 290 && elapsed < 300 + SLACK + 1000,
      `stopped after ${elapsed} ms`,
    );
    assert.ok(reason instanceof DOMException, String(reason));
    assert.equal(reason.name, "AbortError");
  } finally {
    w.close();
    await s.close();
  }
});
