/**
 * h1 engine building blocks without sockets: PROXY protocol parsing, the
 * shared sweeper, response serialisation.
 */

import assert from "node:assert/strict";
import {
  parseProxyHeader,
  PROXY_V1_MAX_BYTES,
  ProxyProtocolError,
} from "../../../src/transport/h1/proxy_protocol.ts";
import { Sweeper, tickFor } from "../../../src/transport/h1/sweeper.ts";
import { serializeFixed } from "../../../src/transport/h1/response/fixed.ts";
import {
  problemBytes,
  statusLine,
  type WriteInfo,
} from "../../../src/transport/h1/response/head.ts";
import { writeResponse } from "../../../src/transport/h1/response/write.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function v2(fam: number, cmd: number, payload: number[]): Uint8Array {
  return new Uint8Array([
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
    0x20 | cmd,
    fam,
    payload.length >> 8,
    payload.length & 0xff,
    ...payload,
  ]);
}

Deno.test("proxy protocol: v1 headers parse, partial input waits", () => {
  const line = "PROXY TCP4 203.0.113.7 10.0.0.1 51000 443\r\n";
  const bytes = enc.encode(line + "GET /");
  assert.deepEqual(parseProxyHeader(bytes), {
    length: line.length,
    client: { hostname: "203.0.113.7", port: 51000 },
  });
  for (let i = 1; i < line.length; i++) {
    assert.equal(parseProxyHeader(bytes.subarray(0, i)), null, `prefix ${i}`);
  }
  assert.deepEqual(
    parseProxyHeader(enc.encode("PROXY TCP6 ::1 ::1 1 2\r\n"))?.client,
    { hostname: "::1", port: 1 },
  );
  assert.equal(
    parseProxyHeader(enc.encode("PROXY UNKNOWN ffff\r\n"))?.client,
    null,
  );
});

Deno.test("proxy protocol: malformed v1 headers are refused", () => {
  const bad = [
    "GET / HTTP/1.1\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
    "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
    "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
    "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
    "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
    "PROXY TCP4 1.2.3.4\x005.6.7.8 1 2\r\n",
    "PROXY " + "x".repeat(PROXY_V1_MAX_BYTES),
  ];
  for (const b of bad) {
    assert.throws(
      () => parseProxyHeader(enc.encode(b)),
      ProxyProtocolError,
      JSON.stringify(b),
    );
  }
});

Deno.test("proxy protocol: v2 headers parse: IPv4, IPv6, LOCAL, unknown family", () => {
  const v4 = v2(0x11, 1, [192, 0, 2, 1, 10, 0, 0, 1, 0x04, 0xd2, 0x00, 0x50]);
  assert.deepEqual(parseProxyHeader(v4), {
    length: 28,
    client: { hostname: "192.0.2.1", port: 1234 },
  });
  const six = new Array(36).fill(0);
  six[0] = 0x20;
  six[1] = 0x01;
  six[2] = 0x0d;
  six[3] = 0xb8;
  six[15] = 0x05;
  six[33] = 80;
  assert.deepEqual(parseProxyHeader(v2(0x21, 1, six))?.client, {
    hostname: "2001:db8::5",
    port: 80,
  });
  assert.equal(
    parseProxyHeader(v2(0x11, 0, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]))?.client,
    null,
  );
  assert.equal(
    parseProxyHeader(v2(0x31, 1, new Array(216).fill(0)))?.client,
    null,
  );
  assert.equal(parseProxyHeader(v4.subarray(0, 20)), null);
});

Deno.test("proxy protocol: malformed v2 headers are refused", () => {
  assert.throws(
    () => parseProxyHeader(v2(0x11, 1, [1, 2, 3])),
    ProxyProtocolError,
  );
  const badVersion = v2(0x11, 1, new Array(12).fill(0));
  badVersion[12] = 0x11;
  assert.throws(() => parseProxyHeader(badVersion), /version/);
  const badCmd = v2(0x11, 1, new Array(12).fill(0));
  badCmd[12] = 0x22;
  assert.throws(() => parseProxyHeader(badCmd), /command/);
  const huge = v2(0x11, 1, []);
  huge[14] = 0xff;
  huge[15] = 0xff;
  assert.throws(() => parseProxyHeader(huge), /over the limit/);
});

Deno.test("sweeper: the tick follows the shortest timeout within bounds", () => {
  assert.equal(tickFor([10_000, 30_000, 5_000, 10_000]), 1000);
  assert.equal(tickFor([300, 0, 5000]), 75);
  assert.equal(tickFor([20]), 10);
  assert.equal(tickFor([0, 0]), 1000);
});

Deno.test("sweeper: deadlines fire once, and the interval stops with the last item", async () => {
  const sweeper = new Sweeper(10);
  const fired: string[] = [];
  const mk = (name: string, ms: number) => {
    const item = {
      deadline: sweeper.after(ms),
      onDeadline() {
        fired.push(name);
        item.deadline = 0;
        sweeper.delete(item);
      },
    };
    return item;
  };
  const a = mk("a", 30);
  const b = mk("b", 60);
  const c = { deadline: 0, onDeadline: () => fired.push("never") };
  sweeper.add(a);
  sweeper.add(b);
  sweeper.add(c);
  const start = Date.now();
  while (fired.length < 2 && Date.now() - start < 2000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(fired, ["a", "b"]);
  assert.ok(Date.now() - start >= 30);
  assert.equal(sweeper.size, 1);
  sweeper.delete(c); // clears the interval: the test sanitizer checks it
  assert.equal(sweeper.size, 0);
});

function info(over: Partial<WriteInfo> = {}): WriteInfo {
  return {
    head: false,
    version: 1,
    keepAlive: true,
    now: Date.now(),
    buffer: null,
    extra: "",
    declaredLength: null,
    closeAsked: false,
    ...over,
  };
}

Deno.test("response writer: status lines have reason phrases", () => {
  assert.equal(statusLine(200), "HTTP/1.1 200 OK\r\n");
  assert.equal(statusLine(413), "HTTP/1.1 413 Content Too Large\r\n");
  assert.equal(statusLine(299), "HTTP/1.1 299 \r\n");
});

Deno.test("response writer: a fixed body goes out in one buffer with its length", () => {
  const i = info();
  const text = dec.decode(
    serializeFixed(new Response("héllo", { status: 201 }), i)!,
  );
  assert.match(text, /^HTTP\/1\.1 201 Created\r\n/);
  assert.match(text, /\r\ncontent-length: 6\r\n/);
  assert.match(text, /\r\ndate: .+ GMT\r\n/);
  assert.ok(text.endsWith("\r\n\r\nhéllo"));
  assert.equal(i.keepAlive, true);
});

Deno.test("response writer: HEAD keeps the length, 204 has none, close is announced", () => {
  const head = dec.decode(
    serializeFixed(new Response("abc"), info({ head: true }))!,
  );
  assert.match(head, /content-length: 3\r\n\r\n$/);
  const empty = dec.decode(
    serializeFixed(new Response(null, { status: 204 }), info())!,
  );
  assert.equal(empty.includes("content-length"), false);
  const i = info({ keepAlive: false });
  const closing = dec.decode(serializeFixed(new Response("x"), i)!);
  assert.match(closing, /connection: close\r\n/);
  const asked = info();
  serializeFixed(
    new Response("x", { headers: { connection: "Keep-Alive, Close" } }),
    asked,
  );
  assert.equal(asked.keepAlive, false);
  const v0 = dec.decode(
    serializeFixed(new Response("x"), info({ version: 0 }))!,
  );
  assert.match(v0, /connection: keep-alive\r\n/);
});

Deno.test("response writer: concurrent large responses each go out whole", async () => {
  // Two writes in flight at once with different 64 KiB bodies, then again:
  // each sink sees its own body whole and unchanged until its write
  // completed (no shared buffer is reused too early).
  const bodies = ["a", "b", "c", "d"].map((c) => c.repeat(64 * 1024));
  const seen: string[] = [];
  const slowSink = {
    write: async (b: Uint8Array) => {
      const copyBefore = dec.decode(b);
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(dec.decode(b), copyBefore, "the buffer changed mid-write");
      seen.push(copyBefore.slice(copyBefore.indexOf("\r\n\r\n") + 4));
    },
  };
  for (const pair of [[0, 1], [2, 3], [1, 0]]) {
    await Promise.all(
      pair.map((n) => writeResponse(slowSink, new Response(bodies[n]), info())),
    );
  }
  assert.deepEqual(
    seen.map((b) => b.length),
    [65536, 65536, 65536, 65536, 65536, 65536],
  );
  assert.deepEqual(
    seen.map((b) => b[0] + b.at(-1)).sort(),
    ["aa", "aa", "bb", "bb", "cc", "dd"],
  );
});

Deno.test("response writer: a stream is chunked and written chunk by chunk", async () => {
  const writes: string[] = [];
  const sink = {
    write(b: Uint8Array) {
      writes.push(dec.decode(b));
      return Promise.resolve();
    },
  };
  const body = ReadableStream.from(["ab", "", "cde"].map((s) => enc.encode(s)));
  assert.equal(serializeFixed(new Response(body), info()), undefined);
  const keep = await writeResponse(
    sink,
    new Response(ReadableStream.from([enc.encode("ab"), enc.encode("cde")])),
    info(),
  );
  assert.equal(keep, true);
  assert.match(writes[0], /transfer-encoding: chunked\r\n\r\n$/);
  assert.deepEqual(writes.slice(1), [
    "2\r\nab\r\n",
    "3\r\ncde\r\n",
    "0\r\n\r\n",
  ]);
  await body.cancel();
});

Deno.test("response writer: a failing stream or a short declared length closes", async () => {
  const sink = { write: () => Promise.resolve() };
  const failing = new ReadableStream({
    pull(c) {
      c.error(new Error("boom"));
    },
  });
  assert.equal(await writeResponse(sink, new Response(failing), info()), false);
  const short = new Response(ReadableStream.from([enc.encode("abc")]), {
    headers: { "content-length": "10" },
  });
  assert.equal(await writeResponse(sink, short, info()), false);
});

Deno.test("response writer: a write failure cancels the body and rethrows", async () => {
  let cancelled = false;
  const body = new ReadableStream({
    pull(c) {
      c.enqueue(enc.encode("x"));
    },
    cancel() {
      cancelled = true;
    },
  });
  const sink = { write: () => Promise.reject(new Error("gone")) };
  await assert.rejects(
    () => writeResponse(sink, new Response(body), info()),
    /gone/,
  );
  assert.equal(cancelled, true);
});

Deno.test("response writer: problem responses are complete and close", () => {
  const text = dec.decode(problemBytes(431, "Too many"));
  const [head, body] = text.split("\r\n\r\n");
  assert.match(head, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  assert.match(head, /content-type: application\/problem\+json/);
  assert.match(head, /connection: close/);
  assert.match(head, new RegExp(`content-length: ${body.length}`));
  assert.deepEqual(JSON.parse(body), {
    type: "about:blank",
    title: "Request Header Fields Too Large",
    status: 431,
    detail: "Too many",
  });
});
