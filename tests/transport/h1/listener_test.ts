/**
 * h1 engine listener: connection cap, connection metrics, graceful and
 * forced shutdown, TLS, PROXY protocol, option validation.
 */

import assert from "node:assert/strict";
import { App, type RejectInfo } from "../../../mod.ts";
import { serve } from "../../../src/server/serve.ts";
import { h1Transport } from "../../../src/transport/h1/mod.ts";
import { delay, get, startH1, testApp, Wire } from "./_helpers.ts";

function metric(app: App, name: string): number {
  const m = app.metrics.text().match(new RegExp(`^${name} (\\d+)$`, "m"));
  return m === null ? NaN : Number(m[1]);
}

/** True once new connections to `port` are refused (polled for up to 1 s). */
async function refused(port: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
    } catch (e) {
      if (e instanceof Deno.errors.ConnectionRefused) return true;
      // Reset: accepted by the kernel just before the listener closed.
      if (!(e instanceof Deno.errors.ConnectionReset)) return false;
    }
    await delay(20); // the listening socket closes once its accept op ends
  }
  return false;
}

/**
 * The test App plus GET /slow answering `text` after `ms`; `running`
 * resolves once a request reached the handler.
 */
function slowApp(
  ms: number,
  text: string,
): { app: App; running: Promise<void> } {
  let started!: () => void;
  const running = new Promise<void>((r) => started = r);
  const app = testApp();
  app.get("/slow", async (ctx) => {
    started();
    await delay(ms);
    return ctx.text(text);
  });
  return { app, running };
}

Deno.test("h1 listener: over maxConnections a connection is accepted and closed at once", async () => {
  const rejects: RejectInfo[] = [];
  const app = testApp({ onReject: (r) => rejects.push(r) });
  const s = startH1(app, { maxConnections: 2 });
  const a = await Wire.open(s.port);
  const b = await Wire.open(s.port);
  try {
    await a.send(get("/"));
    await b.send(get("/"));
    await a.read();
    await b.read();
    const c = await Wire.open(s.port);
    assert.equal(await c.closedWithin(2000), true);
    c.close();
    assert.equal(rejects.at(-1)?.reason, "connection_limit");
    assert.match(
      app.metrics.text(),
      /palisade_rejections_total\{reason="connection_limit"\} 1/,
    );
    // The two open connections still work.
    await a.send(get("/hello/a"));
    assert.equal((await a.read()).text, "hello a");
    // Once one closes, a new connection is served.
    b.close();
    await delay(100);
    const d = await Wire.open(s.port);
    await d.send(get("/hello/d"));
    assert.equal((await d.read()).text, "hello d");
    d.close();
  } finally {
    a.close();
    b.close();
    await s.close();
  }
});

Deno.test("h1 listener: connections are counted in the metrics", async () => {
  const app = testApp();
  const s = startH1(app);
  const a = await Wire.open(s.port);
  const b = await Wire.open(s.port);
  try {
    await a.send(get("/"));
    await b.send(get("/"));
    await a.read();
    await b.read();
    assert.equal(metric(app, "palisade_connections_active"), 2);
    assert.equal(metric(app, "palisade_connections_total"), 2);
    a.close();
    await b.send(get("/", "Connection: close\r\n"));
    await b.read();
    await b.closedWithin(2000);
    await delay(50);
    assert.equal(metric(app, "palisade_connections_active"), 0);
    assert.equal(metric(app, "palisade_connections_total"), 2);
  } finally {
    a.close();
    b.close();
    await s.close();
  }
});

Deno.test("h1 listener: graceful shutdown closes idle connections and finishes in-flight ones", async () => {
  const { app, running } = slowApp(300, "slow done");
  const s = startH1(app, { shutdown: { graceMs: 3000, signals: [] } });
  const idle = await Wire.open(s.port);
  const busy = await Wire.open(s.port);
  try {
    await idle.send(get("/"));
    await idle.read();
    await busy.send(get("/slow"));
    await running;
    const finished = s.server.shutdown();
    // New connections are refused, the idle one closes at once.
    assert.equal(await refused(s.port), true);
    assert.equal(await idle.closedWithin(500), true);
    // The in-flight request completes, marked Connection: close.
    const res = await busy.read();
    assert.equal(res.text, "slow done");
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(await busy.closedWithin(1000), true);
    const report = await finished;
    assert.equal(report.aborted, 0);
    assert.ok(report.durationMs < 2000);
  } finally {
    idle.close();
    busy.close();
    await s.close();
  }
});

Deno.test("h1 listener: a request arriving while draining is answered with Connection: close", async () => {
  const { app, running } = slowApp(200, "slow");
  const s = startH1(app, { shutdown: { graceMs: 3000, signals: [] } });
  const w = await Wire.open(s.port);
  const other = await Wire.open(s.port);
  try {
    await w.send(get("/slow"));
    await running;
    // A client in the middle of sending a head when the drain starts.
    await other.send("GET /hello/late HTTP/1.1\r\nHost: x\r\n");
    await delay(50);
    const finished = s.server.shutdown();
    // A request pipelined behind the slow one is not started: the in-flight
    // response says Connection: close and the connection closes after it.
    await w.send(get("/hello/behind"));
    const a = await w.read();
    assert.equal(a.text, "slow");
    assert.equal(a.headers.get("connection"), "close");
    await assert.rejects(() => w.read());
    // The half-sent request is finished and answered, with Connection: close.
    await other.send("\r\n");
    const b = await other.read();
    assert.equal(b.text, "hello late");
    assert.equal(b.headers.get("connection"), "close");
    await finished;
  } finally {
    w.close();
    other.close();
    await s.close();
  }
});

Deno.test("h1 listener: a forced shutdown answers stuck requests 503 and closes everything", async () => {
  let started!: () => void;
  const running = new Promise<void>((r) => started = r);
  const app = new App({ deadlineMs: 0 });
  app.get("/stuck", () => {
    started();
    return new Promise<Response>(() => {});
  });
  const s = startH1(app, { shutdown: { graceMs: 200, signals: [] } });
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/stuck"));
    await running;
    const report = await s.server.shutdown();
    const res = await w.read();
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(report.aborted, 1);
    assert.equal(await w.closedWithin(1000), true);
  } finally {
    w.close();
  }
});

Deno.test("h1 listener: 20 start/shutdown cycles leave nothing behind", async () => {
  const app = testApp();
  for (let i = 0; i < 20; i++) {
    const s = startH1(app, { idleTimeoutMs: 50 });
    const res = await fetch(`http://127.0.0.1:${s.port}/`);
    assert.equal(await res.text(), "ok");
    await s.close();
  }
});

Deno.test("h1 listener: TLS serves HTTP/1.1 with ALPN", async () => {
  const s = startH1(testApp(), {
    tls: {
      certFile: "tests/fixtures/server_cert.pem",
      keyFile: "tests/fixtures/server_key.pem",
    },
  });
  const ca = await Deno.readTextFile("tests/fixtures/ca_cert.pem");
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: s.port,
    caCerts: [ca],
    alpnProtocols: ["h2", "http/1.1"],
  });
  const w = new Wire(conn);
  try {
    const hs = await conn.handshake();
    assert.equal(hs.alpnProtocol, "http/1.1");
    await w.send(get("/hello/tls") + get("/stream"));
    assert.equal((await w.read()).text, "hello tls");
    assert.equal((await w.read()).text, "abbccc");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 listener: PROXY v1 and v2 headers set ctx.remote", async (t) => {
  const app = new App();
  app.get("/who", (ctx) => ctx.json(ctx.remote));
  const s = startH1(app, { proxyProtocol: true });
  const send = async (prefix: Uint8Array | string): Promise<unknown> => {
    const w = await Wire.open(s.port);
    try {
      await w.send(prefix);
      await w.send(get("/who"));
      return JSON.parse((await w.read()).text);
    } finally {
      w.close();
    }
  };
  try {
    await t.step("v1 TCP4", async () => {
      assert.deepEqual(
        await send("PROXY TCP4 203.0.113.7 10.0.0.1 51000 443\r\n"),
        { hostname: "203.0.113.7", port: 51000 },
      );
    });
    await t.step("v1 TCP6", async () => {
      assert.deepEqual(
        await send("PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\n"),
        { hostname: "2001:db8::1", port: 4000 },
      );
    });
    await t.step("v1 UNKNOWN keeps the socket peer", async () => {
      const r = await send("PROXY UNKNOWN\r\n") as { hostname: string };
      assert.equal(r.hostname, "127.0.0.1");
    });
    await t.step("v2 PROXY over IPv4, with a TLV", async () => {
      const h = new Uint8Array([
        0x0d,
        0x0a,
        0x0d,
        0x0a,
        0x00,
        0x0d,
        0x0a,
        0x51,
        0x55,
        0x49,
        0x54,
        0x0a,
        0x21,
        0x11,
        0x00,
        0x12, // PROXY, TCP over IPv4, 18 bytes
        198,
        51,
        100,
        9,
        10,
        0,
        0,
        1,
        0x1f,
        0x90,
        0x01,
        0xbb, // addresses, ports
        0x04,
        0x00,
        0x03,
        0x61,
        0x62,
        0x63, // a NOOP TLV
      ]);
      assert.deepEqual(await send(h), { hostname: "198.51.100.9", port: 8080 });
    });
    await t.step("a header byte by byte", async () => {
      const w = await Wire.open(s.port);
      try {
        await w.trickle(
          "PROXY TCP4 192.0.2.1 10.0.0.1 1234 80\r\n" + get("/who"),
        );
        assert.deepEqual(JSON.parse((await w.read()).text), {
          hostname: "192.0.2.1",
          port: 1234,
        });
      } finally {
        w.close();
      }
    });
    await t.step("no header: closed without an answer", async () => {
      const w = await Wire.open(s.port);
      try {
        await w.send(get("/who"));
        assert.equal(await w.closedWithin(2000), true);
      } finally {
        w.close();
      }
    });
    await t.step("a forged v1 address: closed", async () => {
      const w = await Wire.open(s.port);
      try {
        await w.send("PROXY TCP4 999.1.1.1 10.0.0.1 1 2\r\n" + get("/who"));
        assert.equal(await w.closedWithin(2000), true);
      } finally {
        w.close();
      }
    });
  } finally {
    await s.close();
  }
});

Deno.test("h1 listener: invalid options throw naming the option", () => {
  const app = testApp();
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ headerTimeoutMs: -1 }, /headerTimeoutMs/],
    [{ idleTimeoutMs: 1.5 }, /idleTimeoutMs/],
    [{ maxConnections: 0 }, /maxConnections/],
    [{ maxRequestsPerConnection: NaN }, /maxRequestsPerConnection/],
    [{ proxyProtocol: "yes" }, /proxyProtocol/],
    [{ limits: { urlBytes: 0 } }, /urlBytes/],
  ];
  for (const [h1, re] of bad) {
    assert.throws(
      () =>
        h1Transport(app, {
          hostname: "127.0.0.1",
          port: 0,
          tls: undefined,
          h1,
        }),
      (e: unknown) => e instanceof TypeError && re.test(e.message),
    );
  }
  assert.throws(
    () =>
      serve(app, {
        hostname: "127.0.0.1",
        port: 0,
        transport: "h1",
        proxyProtocol: true,
        tls: { cert: "x", key: "y" },
        shutdown: { signals: [] },
      }),
    /proxyProtocol cannot be combined with tls/,
  );
});
