/**
 * The shutdown report adds up: with six responses in flight (an SSE stream,
 * two slow requests, a `ctx.stream` download the client reads to the end, a
 * raw download the client stops reading, and a raw stream that never ends),
 * `completed + aborted` equals the requests that were in flight, and each is
 * counted by what happened to its last byte, on both transports.
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { delay } from "../fixtures/raw_http.ts";

const HOST = "127.0.0.1";

function infinite(tick = 10): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(c) {
      await delay(tick);
      c.enqueue(new Uint8Array(1024));
    },
  });
}

/** Opens a raw GET and returns the socket, reading nothing. */
async function open(port: number, path: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: HOST, port });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`),
  );
  return conn;
}

/** Reads `conn` until it closes; resolves with the bytes read. */
async function drain(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(64 * 1024);
  let n = 0;
  try {
    for (;;) {
      const r = await conn.read(buf);
      if (r === null) break;
      n += r;
    }
  } catch { /* reset */ }
  return n;
}

for (const transport of ["deno", "h1"] as const) {
  Deno.test(`shutdown report [${transport}]: completed + aborted equals the six in flight`, async () => {
    const app = new App({ deadlineMs: 0 });
    let started = 0;
    const started6 = Promise.withResolvers<void>();
    const hit = () => {
      if (++started === 6) started6.resolve();
    };
    app.get("/sse", (ctx) => {
      hit();
      return ctx.sse(async (sse) => {
        while (!sse.signal.aborted) {
          await sse.send({ data: "x" });
          await delay(10);
        }
      }, { heartbeatMs: 0 });
    });
    app.get("/slow", async (ctx) => {
      hit();
      await delay(300);
      return ctx.text("slow done");
    });
    app.get("/download", (ctx) => {
      hit();
      return ctx.stream((async function* () {
        for (let i = 0; i < 20; i++) {
          yield new Uint8Array(1024);
          await delay(20);
        }
      })());
    });
    // 64 MiB that a client that stops reading can never take in full.
    app.get("/raw-download", () => {
      hit();
      let left = 64;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (left-- === 0) c.close();
            else c.enqueue(new Uint8Array(1 << 20));
          },
        }),
      );
    });
    app.get("/raw-stream", () => {
      hit();
      return new Response(infinite());
    });
    const server = serve(app, {
      transport,
      hostname: HOST,
      port: 0,
      shutdown: { signals: [], graceMs: 1_500 },
    });
    const port = server.addr.port;
    const sse = await open(port, "/sse");
    const slow1 = await open(port, "/slow");
    const slow2 = await open(port, "/slow");
    const download = await open(port, "/download");
    const stuck = await open(port, "/raw-download"); // never read
    const rawStream = await open(port, "/raw-stream");
    await started6.promise;
    const reading = [sse, slow1, slow2, download, rawStream].map(drain);
    const report = await server.shutdown();
    try {
      stuck.close();
    } catch { /* closed by the server */ }
    await Promise.all(reading);
    // SSE ends cleanly at drain, the slow requests and the download finish
    // within grace; the stuck download and the endless stream are cut.
    assert.deepEqual(
      { completed: report.completed, aborted: report.aborted },
      { completed: 4, aborted: 2 },
    );
    assert.equal(report.completed + report.aborted, 6);
    assert.equal(app.inflight, 0);
    console.log(`  ${transport}: ${JSON.stringify(report)}`);
  });
}
