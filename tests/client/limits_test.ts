import assert from "node:assert/strict";
import {
  createClient,
  ResponseTooLargeError,
  TimeoutError,
  UpstreamError,
} from "../../src/client/mod.ts";
import { aborted, fakeClock, trickle, upstream } from "./_upstream.ts";

Deno.test("maxResponseBytes: a chunked body errors as soon as it goes over", async () => {
  const chunk = new Uint8Array(1_000).fill(0x61);
  const up = upstream(() => {
    // 1 MB in 1 kB chunks: far more than the limit lets through.
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ === 1_000) c.close();
        else c.enqueue(chunk);
      },
    });
    return new Response(body);
  });
  using client = createClient({ baseUrl: up.url, maxResponseBytes: 4_500 });
  try {
    const res = await client.get("/big");
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    assert.equal(res.headers.get("content-length"), null);
    const reader = res.body!.getReader();
    let delivered = 0;
    const error = await (async () => {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        delivered += value.byteLength;
      }
    })().catch((e) => e);
    assert.ok(error instanceof ResponseTooLargeError, String(error));
    assert.equal(error.limit, 4_500);
    assert.equal(error.declared, undefined);
    assert.equal(error.status, 502);
    assert.ok(delivered <= 4_500, `${delivered} bytes delivered`);
  } finally {
    await up.close();
  }
});

Deno.test("maxResponseBytes: text() and json() reject on a chunked body over the limit; at the limit is fine", async () => {
  const up = upstream((req) => {
    const n = Number(new URL(req.url).searchParams.get("n"));
    const json = `"${"x".repeat(n - 2)}"`;
    return new Response(new Blob([json]).stream(), {
      headers: { "content-type": "application/json" },
    });
  });
  using client = createClient({ baseUrl: up.url, maxResponseBytes: 2_048 });
  try {
    const ok = await client.get("/?n=2048");
    assert.equal((await ok.json<string>()).length, 2_046);
    await assert.rejects(
      (await client.get("/?n=2049")).json(),
      ResponseTooLargeError,
    );
    await assert.rejects(
      (await client.get("/?n=100000")).text(),
      ResponseTooLargeError,
    );
    await assert.rejects(
      (await client.get("/?n=3000")).arrayBuffer(),
      ResponseTooLargeError,
    );
  } finally {
    await up.close();
  }
});

Deno.test("maxResponseBytes: a declared Content-Length over the limit fails the call at once", async () => {
  const up = upstream(() => new Response("y".repeat(5_000)));
  using client = createClient({ baseUrl: up.url, maxResponseBytes: 1_000 });
  using unlimited = createClient({ baseUrl: up.url, maxResponseBytes: 0 });
  try {
    const error = await client.get("/file?sig=abc").catch((e) => e);
    assert.ok(error instanceof ResponseTooLargeError, String(error));
    assert.equal(error.declared, 5_000);
    assert.equal(error.limit, 1_000);
    assert.match(error.message, /declares 5000 bytes/);
    assert.ok(!error.message.includes("sig=abc"));
    assert.equal((await (await unlimited.get("/")).text()).length, 5_000);
  } finally {
    await up.close();
  }
});

Deno.test("timeoutMs covers reading the body: a trickling upstream is cut off", async () => {
  // One byte at once, then one every 100 ms for 20 s: only the timeout ends it.
  const up = upstream((req) =>
    new Response(trickle(Array(200).fill("."), 100, req.signal))
  );
  using client = createClient({ baseUrl: up.url, timeoutMs: 1_000 });
  try {
    const res = await client.get("/slow");
    assert.equal(res.status, 200);
    const error = await res.text().catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.phase, "total");
    assert.equal(error.timeoutMs, 1_000);
    assert.equal(error.status, 504);
  } finally {
    await up.close();
  }
});

Deno.test("timeoutMs bounds the wait for the head too, and is never retried", async () => {
  const up = upstream(async (req) => {
    await aborted(req.signal);
    return new Response("never");
  });
  using client = createClient({
    baseUrl: up.url,
    timeoutMs: 100,
    clock: fakeClock(),
  });
  try {
    const error = await client.get("/hang").catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.phase, "total");
    assert.equal(up.hits, 1);
  } finally {
    await up.close();
  }
});

Deno.test("connectTimeoutMs bounds each attempt until its head and is retried like a network error", async () => {
  const up = upstream(async (req) => {
    await aborted(req.signal);
    return new Response("never");
  });
  const clock = fakeClock();
  using client = createClient({
    baseUrl: up.url,
    connectTimeoutMs: 50,
    timeoutMs: 0,
    clock,
    retry: { attempts: 2 },
  });
  try {
    const error = await client.get("/hang").catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.phase, "headers");
    assert.equal(error.timeoutMs, 50);
    assert.match(error.message, /connectTimeoutMs/);
    assert.equal(up.hits, 2);
    assert.equal(clock.sleeps.length, 1);
  } finally {
    await up.close();
  }
});

Deno.test("connectTimeoutMs stops at the head: a body that takes longer is not cut by it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const enc = new TextEncoder();
  const up = upstream(() =>
    new Response(
      new ReadableStream({
        async start(c) {
          c.enqueue(enc.encode("a"));
          await gate;
          c.enqueue(enc.encode("b"));
          c.close();
        },
      }),
    )
  );
  using client = createClient({ baseUrl: up.url, connectTimeoutMs: 500 });
  try {
    const res = await client.get("/");
    // Hold the body back past connectTimeoutMs: a timer left running would fire now.
    await new Promise((r) => setTimeout(r, 600));
    release();
    assert.equal(await res.text(), "ab");
  } finally {
    release();
    await up.close();
  }
});

Deno.test("a connection that breaks mid-body errors the reader with UpstreamError (body)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(4096));
    await conn.write(
      new TextEncoder().encode(
        "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc",
      ),
    );
    conn.close();
  })();
  using client = createClient({ retry: false });
  try {
    const res = await client.get(
      `http://127.0.0.1:${listener.addr.port}/x?key=secret`,
    );
    const error = await res.text().catch((e) => e);
    assert.ok(error instanceof UpstreamError, String(error));
    assert.equal(error.failure, "body");
    assert.equal(error.upstreamStatus, 200);
    assert.equal(error.status, 502);
    assert.ok(!String(error.message).includes("secret"));
  } finally {
    await served;
    listener.close();
  }
});

Deno.test("timeoutMs also cuts a declared-length body that trickles", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(4096));
    const enc = new TextEncoder();
    try {
      await conn.write(
        enc.encode("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n."),
      );
      for (let i = 0; i < 99; i++) {
        await new Promise((r) => setTimeout(r, 100));
        await conn.write(enc.encode("."));
      }
    } catch {
      // The client hung up: what the test expects.
    } finally {
      conn.close();
    }
  })();
  using client = createClient({ timeoutMs: 1_000, retry: false });
  try {
    const res = await client.get(`http://127.0.0.1:${listener.addr.port}/`);
    assert.equal(res.headers.get("content-length"), "100");
    const error = await res.text().catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.phase, "total");
  } finally {
    await served;
    listener.close();
  }
});

Deno.test("maxResponseBytes counts decoded bytes: a gzip body is judged by what it inflates to", async () => {
  const gzip = async (bytes: Uint8Array<ArrayBuffer>) =>
    new Uint8Array(
      await new Response(
        new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")),
      ).arrayBuffer(),
    );
  // Incompressible 1000 bytes grow under gzip: the encoded length is over the
  // limit, the decoded body is not.
  const noise = crypto.getRandomValues(new Uint8Array(1_000));
  const noiseGz = await gzip(noise);
  const bomb = await gzip(new Uint8Array(256 * 1024));
  const up = upstream((req) => {
    const body = new URL(req.url).pathname === "/bomb" ? bomb : noiseGz;
    return new Response(body, { headers: { "content-encoding": "gzip" } });
  });
  using client = createClient({ baseUrl: up.url, maxResponseBytes: 1_000 });
  try {
    assert.ok(noiseGz.byteLength > 1_000);
    const ok = await client.get("/noise");
    assert.deepEqual(new Uint8Array(await ok.arrayBuffer()), noise);
    assert.ok(bomb.byteLength < 1_000);
    const res = await client.get("/bomb");
    await assert.rejects(res.arrayBuffer(), ResponseTooLargeError);
  } finally {
    await up.close();
  }
});
