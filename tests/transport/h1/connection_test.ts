/**
 * h1 engine, per-connection behaviour over raw sockets: keep-alive,
 * pipelining, HTTP/1.0, response framing, backpressure, disconnects,
 * `Expect: 100-continue` and early answers.
 */

import assert from "node:assert/strict";
import { App, type RejectInfo } from "../../../mod.ts";
import { delay, get, startH1, testApp, Wire } from "./_helpers.ts";

Deno.test("h1: keep-alive serves several requests on one connection", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    for (let i = 0; i < 3; i++) {
      await w.send(get("/hello/" + i));
      const res = await w.read();
      assert.equal(res.status, 200);
      assert.equal(res.text, `hello ${i}`);
      assert.equal(res.headers.get("content-length"), String(res.text.length));
      assert.equal(res.headers.get("connection"), null);
      assert.match(res.headers.get("date") ?? "", /GMT$/);
      assert.ok(res.head.startsWith("HTTP/1.1 200 OK\r\n"));
    }
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: pipelined requests are answered in request order", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    await w.send(
      get("/hello/a") +
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst" +
        get("/hello/b") +
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n" +
        get("/hello/c"),
    );
    const texts = (await w.readMany(5)).map((r) => r.text);
    assert.deepEqual(texts, [
      "hello a",
      "first",
      "hello b",
      "second",
      "hello c",
    ]);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: a slow handler does not let a pipelined response overtake it", async () => {
  const app = testApp();
  app.get("/slow", async (ctx) => {
    await delay(150);
    return ctx.text("slow");
  });
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/slow") + get("/hello/fast"));
    assert.deepEqual((await w.readMany(2)).map((r) => r.text), [
      "slow",
      "hello fast",
    ]);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: a request delivered one byte at a time is served", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    await w.trickle(get("/hello/bytes", "User-Agent: trickle\r\n"));
    const res = await w.read();
    assert.equal(res.text, "hello bytes");
    await w.trickle(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    assert.equal((await w.read()).text, "wikipedia");
    await w.trickle(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert.equal((await w.read()).text, "abc");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: Connection: close gets connection: close and the server closes", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/", "Connection: close\r\n"));
    const res = await w.read();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(await w.closedWithin(2000), true);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: HTTP/1.0 closes by default and keeps alive on request", async () => {
  const s = startH1(testApp());
  const a = await Wire.open(s.port);
  const b = await Wire.open(s.port);
  try {
    await a.send("GET / HTTP/1.0\r\n\r\n");
    const r1 = await a.read();
    assert.equal(r1.status, 200);
    assert.ok(r1.head.startsWith("HTTP/1.1 200"));
    assert.equal(r1.headers.get("connection"), "close");
    assert.equal(await a.closedWithin(2000), true);

    await b.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const r2 = await b.read();
    assert.equal(r2.headers.get("connection"), "keep-alive");
    await b.send("GET /hello/again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert.equal((await b.read()).text, "hello again");
  } finally {
    a.close();
    b.close();
    await s.close();
  }
});

Deno.test("h1: a streamed body to an HTTP/1.0 client is close-delimited", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    await w.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const res = await w.read(); // reads to EOF: no length, no chunks
    assert.equal(res.headers.get("transfer-encoding"), null);
    assert.equal(res.headers.get("content-length"), null);
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(res.text, "abbccc");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: maxRequestsPerConnection closes after the last allowed response", async () => {
  const s = startH1(testApp(), { maxRequestsPerConnection: 2 });
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/") + get("/") + get("/"));
    const [a, b] = await w.readMany(2);
    assert.equal(a.headers.get("connection"), null);
    assert.equal(b.headers.get("connection"), "close");
    assert.equal(await w.closedWithin(2000), true);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: HEAD, 204 and 304 responses carry no body", async () => {
  const app = testApp();
  app.head("/explicit", () => new Response("body that must not be sent"));
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(
      "HEAD /hello/x HTTP/1.1\r\nHost: x\r\n\r\n" + get("/empty") +
        get("/not-modified") + "HEAD /explicit HTTP/1.1\r\nHost: x\r\n\r\n" +
        get("/hello/after"),
    );
    const head = await w.read({ head: true });
    assert.equal(head.status, 200);
    const empty = await w.read();
    assert.equal(empty.status, 204);
    assert.equal(empty.headers.get("content-length"), null);
    const nm = await w.read();
    assert.equal(nm.status, 304);
    assert.equal(nm.headers.get("etag"), '"x"');
    const explicit = await w.read({ head: true });
    assert.equal(explicit.status, 200);
    assert.equal(explicit.headers.get("content-length"), "26");
    // Had any of those sent a body, this would not parse as the next response.
    assert.equal((await w.read()).text, "hello after");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: a streamed response is chunked, a declared length is kept", async () => {
  const app = testApp();
  app.get("/declared", () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("12345"));
          c.enqueue(new TextEncoder().encode("67890"));
          c.close();
        },
      }),
      { headers: { "content-length": "10" } },
    ));
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/stream") + get("/declared"));
    const a = await w.read();
    assert.equal(a.headers.get("transfer-encoding"), "chunked");
    assert.equal(a.text, "abbccc");
    const b = await w.read();
    assert.equal(b.headers.get("transfer-encoding"), null);
    assert.equal(b.headers.get("content-length"), "10");
    assert.equal(b.text, "1234567890");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: framing headers from the App are replaced, set-cookie lines kept apart", async () => {
  const app = new App();
  app.get("/", () => {
    const h = new Headers({
      "content-length": "999",
      "transfer-encoding": "gzip",
      "keep-alive": "timeout=99",
      "x-latin1": "caf\u00e9",
    });
    h.append("set-cookie", "a=1; Path=/");
    h.append("set-cookie", "b=2; Path=/");
    return new Response("ok", { headers: h });
  });
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/"));
    const res = await w.read();
    assert.equal(res.headers.get("content-length"), "2");
    assert.equal(res.headers.get("transfer-encoding"), null);
    assert.equal(res.headers.get("keep-alive"), null);
    assert.deepEqual(
      res.fields.filter(([n]) => n === "set-cookie").map(([, v]) => v),
      ["a=1; Path=/", "b=2; Path=/"],
    );
    // Header values are byte strings: é goes out as the single byte 0xE9.
    assert.ok(res.head.includes("x-latin1: caf\u00e9\r\n"));
    assert.equal(res.text, "ok");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: Connection: close from the App closes after the response", async () => {
  const app = new App();
  app.get("/", () => new Response("bye", { headers: { connection: "close" } }));
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/"));
    const res = await w.read();
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(await w.closedWithin(2000), true);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: UTF-8 bodies get their byte length", async () => {
  const app = new App();
  app.get("/", (ctx) => ctx.text("héllo wörld ✓ 😀"));
  app.get("/big", (ctx) => ctx.text("é".repeat(10_000)));
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/") + get("/big"));
    const a = await w.read();
    assert.equal(a.text, "héllo wörld ✓ 😀");
    assert.equal(Number(a.headers.get("content-length")), a.body.length);
    const b = await w.read();
    assert.equal(b.body.length, 20_000);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: a streamed response is not buffered when the client stops reading", async () => {
  let produced = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const app = new App({ deadlineMs: 0 });
  app.get("/firehose", (ctx) =>
    ctx.stream((function* () {
      for (let i = 0; i < 1600; i++) { // 100 MiB if fully produced
        produced += chunk.length;
        yield chunk;
      }
    })()));
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/firehose"));
    await delay(500); // the client reads nothing meanwhile
    // Only socket buffers' worth was produced, not the whole body.
    assert.ok(produced < 32 * 1024 * 1024, `produced ${produced} bytes`);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: a client disconnect aborts ctx.signal with AbortError", async () => {
  let reason: unknown;
  let started!: () => void;
  const running = new Promise<void>((r) => started = r);
  let done!: () => void;
  const finished = new Promise<void>((r) => done = r);
  const app = new App({ deadlineMs: 0 });
  app.get("/wait", async (ctx) => {
    started();
    await new Promise((r) => ctx.signal.addEventListener("abort", r));
    reason = ctx.signal.reason;
    done();
    return ctx.text("late");
  });
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/wait"));
    await running;
    w.close();
    await finished;
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, "AbortError");
  } finally {
    await s.close();
  }
});

Deno.test("h1: a client disconnect during a streamed response stops the producer", async () => {
  let stopped!: () => void;
  const stop = new Promise<void>((r) => stopped = r);
  const app = new App({ deadlineMs: 0 });
  app.get("/ticks", (ctx) =>
    ctx.stream((async function* () {
      try {
        for (let i = 0;; i++) {
          yield `tick ${i}\n`;
          await delay(5);
        }
      } finally {
        stopped();
      }
    })()));
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/ticks"));
    await delay(50);
    w.close();
    await stop; // the generator's finally ran
  } finally {
    await s.close();
  }
});

Deno.test("h1: Expect: 100-continue gets 100 only when the App reads the body", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    await w.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    const cont = await w.read();
    assert.equal(cont.status, 100);
    assert.equal(cont.head, "HTTP/1.1 100 Continue\r\n\r\n");
    await w.send("data");
    const res = await w.read();
    assert.equal(res.status, 200);
    assert.equal(res.text, "data");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: Expect: 100-continue over the body limit gets 413 and no 100", async () => {
  const rejects: RejectInfo[] = [];
  const s = startH1(testApp({ onReject: (r) => rejects.push(r) }));
  const w = await Wire.open(s.port);
  try {
    await w.send(
      "POST /small HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
    );
    const res = await w.read();
    assert.equal(res.status, 413);
    assert.match(JSON.parse(res.text).detail, /bodyBytes limit of 1024 bytes/);
    // The client never sent the body, so the framing is unknown: close.
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(await w.closedWithin(3000), true);
    assert.equal(rejects[0].reason, "body_too_large");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: an early 413 does not drain a huge declared body", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  let sent = 0;
  let writeFailed = false;
  try {
    await w.send(
      "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n",
    );
    const reading = w.read();
    const chunk = new Uint8Array(64 * 1024).fill(0x78);
    const writing = (async () => {
      try {
        while (sent < 100 * 1024 * 1024) {
          await w.conn.write(chunk);
          sent += chunk.length;
        }
      } catch {
        writeFailed = true;
      }
    })();
    const res = await reading;
    assert.equal(res.status, 413);
    await writing;
    // The server stopped reading after at most 64 KiB: the client's writes
    // failed long before 100 MiB (socket buffers hold a few MiB at most).
    assert.equal(writeFailed, true);
    assert.ok(sent < 40 * 1024 * 1024, `client sent ${sent} bytes`);
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: a small unread body is discarded and the connection kept", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    const body = "y".repeat(5000);
    await w.send(
      `POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        `POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n${
          "z".repeat(2000)
        }` +
        get("/hello/next"),
    );
    const [a, b, c] = await w.readMany(3);
    assert.equal(a.text, "ignored");
    assert.equal(b.status, 413);
    assert.equal(c.text, "hello next");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: a body cut short by the client is 400", async () => {
  const rejects: RejectInfo[] = [];
  const s = startH1(testApp({ onReject: (r) => rejects.push(r) }));
  const a = await Wire.open(s.port);
  const b = await Wire.open(s.port);
  try {
    await a.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b",
    );
    await a.conn.closeWrite();
    const ra = await a.read();
    assert.equal(ra.status, 400);
    assert.match(JSON.parse(ra.text).detail, /ended after 10 of the 100 bytes/);

    await b.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    );
    await b.conn.closeWrite();
    const rb = await b.read();
    assert.equal(rb.status, 400);
    assert.match(JSON.parse(rb.text).detail, /chunked request body/);
    assert.deepEqual(rejects.map((r) => r.reason), [
      "body_incomplete",
      "body_incomplete",
    ]);
  } finally {
    a.close();
    b.close();
    await s.close();
  }
});

Deno.test("h1: a malformed chunked body after the head is answered with the parser's status", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    await w.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" +
        get("/hello/smuggled"),
    );
    const res = await w.read();
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(await w.closedWithin(3000), true); // no second response
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: a 512 KiB upload streams through and comes back intact", async () => {
  const app = new App();
  app.post("/sum", async (ctx) => {
    let n = 0;
    let sum = 0;
    for await (const chunk of ctx.body.stream()) {
      n += chunk.length;
      for (const b of chunk) sum = (sum + b) % 65521;
    }
    return ctx.json({ n, sum });
  });
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    const body = new Uint8Array(512 * 1024);
    let expected = 0;
    for (let i = 0; i < body.length; i++) {
      body[i] = (i * 7) & 0xff;
      expected = (expected + body[i]) % 65521;
    }
    await w.send(
      `POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await w.send(body);
    const res = await w.read();
    assert.deepEqual(JSON.parse(res.text), { n: body.length, sum: expected });
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: ctx.req is a standard Request built on demand", async () => {
  const app = new App();
  app.post("/req/:id", async (ctx) => {
    const req = ctx.req;
    return ctx.json({
      url: req.url,
      method: req.method,
      type: req.headers.get("content-type"),
      body: await req.text(),
      header: ctx.header("X-Custom"),
      multi: ctx.header("x-multi"),
    });
  });
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(
      "POST /req/7?q=1 HTTP/1.1\r\nHost: example.test:8080\r\nContent-Type: text/plain\r\n" +
        "X-Custom: yes\r\nX-Multi: a\r\nX-Multi: b\r\nContent-Length: 3\r\n\r\nabc",
    );
    const res = await w.read();
    assert.deepEqual(JSON.parse(res.text), {
      url: "http://example.test:8080/req/7?q=1",
      method: "POST",
      type: "text/plain",
      body: "abc",
      header: "yes",
      multi: "a, b",
    });
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: ctx.remote is the socket peer and errors render as 500", async () => {
  const app = new App({ onError: () => {} });
  app.get("/who", (ctx) => ctx.json(ctx.remote));
  app.get("/boom", () => {
    throw new Error("secret");
  });
  const s = startH1(app);
  const w = await Wire.open(s.port);
  try {
    await w.send(get("/who") + get("/boom", "X-Request-Id: abc-123\r\n"));
    const who = JSON.parse((await w.read()).text);
    assert.equal(who.hostname, "127.0.0.1");
    assert.equal(who.port, (w.conn.localAddr as Deno.NetAddr).port);
    const boom = await w.read();
    assert.equal(boom.status, 500);
    assert.equal(boom.text.includes("secret"), false);
    assert.equal(boom.headers.get("x-request-id"), "abc-123");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1: no parser state carries over from one connection to the next", async () => {
  const s = startH1(testApp());
  try {
    // Connections that end with leading empty lines, half a head, or after
    // a complete exchange; each next connection must parse from scratch.
    const endings = ["\r\n", "GET /hello/x HT", get("/") + "\r\n"];
    for (const ending of endings) {
      const a = await Wire.open(s.port);
      await a.send(ending);
      await delay(20);
      a.close();
      await delay(20);
      const b = await Wire.open(s.port);
      try {
        await b.send("\r\n" + get("/hello/fresh"));
        const res = await b.read();
        assert.equal(res.text, "hello fresh", JSON.stringify(ending));
      } finally {
        b.close();
      }
    }
  } finally {
    await s.close();
  }
});
