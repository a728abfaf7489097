/**
 * Streaming from disk over real sockets: a 1 GiB sparse file with flat
 * memory on both transports, file handles closed when the client goes away,
 * and files that shrink or grow during a send.
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve, type Server } from "../../src/server/serve.ts";
import { serveStatic } from "../../src/static/mod.ts";
import { canWrite, NEEDS_WRITE, withTempDir } from "./_helpers.ts";

const GiB = 1 << 30;
const MiB = 1 << 20;
/**
 * RSS growth allowed while 1 GiB streams through, after a 256 MiB warm-up.
 * The warm-up is needed: V8 frees the 256 KiB read buffers only once
 * about 64 MiB of them are garbage, and the allocator keeps the pages, so
 * the first few hundred MiB raise RSS to a plateau; flat memory means no
 * growth past it, whatever the file size.
 */
const RSS_BOUND = 32 * MiB;

function start(dir: string, transport: "deno" | "h1"): Server {
  const app = new App();
  app.get("/f/*", serveStatic({ root: dir }));
  return serve(app, {
    port: 0,
    hostname: "127.0.0.1",
    transport,
    shutdown: { signals: [], graceMs: 1_000 },
  });
}

/** Tracks the files `Deno.open` returns and whether each was closed. */
function trackOpens(): { open: () => number; restore: () => void } {
  const original = Deno.open;
  const files = new Set<Deno.FsFile>();
  Deno.open = (async (...args: Parameters<typeof Deno.open>) => {
    const file = await original(...args);
    files.add(file);
    const close = file.close.bind(file);
    file.close = () => {
      files.delete(file);
      close();
    };
    return file;
  }) as typeof Deno.open;
  return { open: () => files.size, restore: () => (Deno.open = original) };
}

async function waitFor(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Read {
  head: string;
  bodyBytes: number;
  /** The server closed or reset the connection (not our idle timeout). */
  closed: boolean;
  peakRssGrowth: number;
}

interface GetOptions {
  /** Close after this many body bytes (a client abort). */
  stopAfter?: number;
  /** Stop reading once this many body bytes arrived. */
  expect?: number;
  /** Give up after this long without data; default 5 s. */
  idleMs?: number;
  onBytes?: (n: number) => Promise<void> | void;
}

/**
 * Sends a keep-alive GET and reads the response, counting body bytes
 * without keeping them, until `stopAfter`, `expect`, the server closing,
 * or `idleMs` without data.
 */
async function get(
  port: number,
  path: string,
  opts: GetOptions = {},
): Promise<Read> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
  );
  const buf = new Uint8Array(256 * 1024);
  let head = "";
  let bodyBytes = 0;
  let closed = false;
  let idle = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      conn.close();
    }, opts.idleMs ?? 5_000);
  };
  const base = Deno.memoryUsage().rss;
  let peak = 0;
  let reads = 0;
  try {
    arm();
    while (true) {
      const n = await conn.read(buf);
      if (n === null) {
        closed = true;
        break;
      }
      arm();
      let chunk = buf.subarray(0, n);
      if (!head.endsWith("\r\n\r\n")) {
        const text = new TextDecoder("latin1").decode(chunk);
        const end = (head + text).indexOf("\r\n\r\n");
        if (end === -1) {
          head += text;
          continue;
        }
        const used = end + 4 - head.length;
        head = (head + text).slice(0, end + 4);
        chunk = chunk.subarray(used);
      }
      bodyBytes += chunk.length;
      if (++reads % 256 === 0) {
        peak = Math.max(peak, Deno.memoryUsage().rss - base);
      }
      await opts.onBytes?.(bodyBytes);
      if (opts.stopAfter !== undefined && bodyBytes >= opts.stopAfter) break;
      if (opts.expect !== undefined && bodyBytes >= opts.expect) break;
    }
  } catch {
    closed = !idle; // reset by the server, or closed by our idle timer
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the idle timer */ }
  }
  peak = Math.max(peak, Deno.memoryUsage().rss - base);
  return { head, bodyBytes, closed, peakRssGrowth: peak };
}

/** The server's resident set, in bytes, as it reports it. */
async function rssOf(port: number): Promise<number> {
  return Number(await (await fetch(`http://127.0.0.1:${port}/rss`)).text());
}

for (const transport of ["deno", "h1"] as const) {
  Deno.test({
    name: `a 1 GiB sparse file streams on ${transport} with flat server memory${
      canWrite ? "" : ` (${NEEDS_WRITE})`
    }`,
    ignore: !canWrite,
    fn: () =>
      withTempDir(async (dir) => {
        const path = `${dir}/big.bin`;
        Deno.writeFileSync(path, new Uint8Array(0));
        await Deno.truncate(path, GiB);
        // The server runs alone in its process, so its memory is its own.
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            new URL("../fixtures/static_server.ts", import.meta.url).pathname,
            dir,
            transport,
          ],
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        try {
          const reader = child.stdout.pipeThrough(new TextDecoderStream())
            .getReader();
          let out = "";
          while (!/port \d+/.test(out)) {
            const { value, done } = await reader.read();
            if (done) throw new Error("the server exited");
            out += value;
          }
          reader.cancel();
          const port = Number(out.match(/port (\d+)/)![1]);
          await get(port, "/f/big.bin", { stopAfter: 256 * MiB }); // warm-up
          const before = await rssOf(port);
          let peak = 0;
          let sampled = 0;
          const r = await get(port, "/f/big.bin", {
            expect: GiB,
            onBytes: async (bytes) => {
              if (bytes - sampled < 16 * MiB) return;
              sampled = bytes;
              peak = Math.max(peak, (await rssOf(port)) - before);
            },
          });
          assert.match(r.head, /^HTTP\/1\.1 200 /);
          assert.match(r.head, new RegExp(`content-length: ${GiB}\r\n`, "i"));
          assert.equal(r.bodyBytes, GiB);
          console.log(
            `${transport}: 1 GiB streamed, server RSS growth at most ${
              (peak / MiB).toFixed(1)
            } MiB`,
          );
          assert.ok(peak < RSS_BOUND, `server RSS grew ${peak} bytes`);
        } finally {
          child.kill("SIGTERM");
          await child.status;
        }
      }),
  });

  Deno.test({
    name:
      `the file is closed when the client goes away mid-transfer on ${transport}${
        canWrite ? "" : ` (${NEEDS_WRITE})`
      }`,
    ignore: !canWrite,
    fn: () =>
      withTempDir(async (dir) => {
        const path = `${dir}/big.bin`;
        Deno.writeFileSync(path, new Uint8Array(0));
        await Deno.truncate(path, 256 * MiB);
        const server = start(dir, transport);
        const tracker = trackOpens();
        try {
          const port = server.addr.port;
          const reads = await Promise.all(
            [1, 2, 3].map((k) =>
              get(port, "/f/big.bin", { stopAfter: k * MiB })
            ),
          );
          for (const r of reads) assert.ok(r.bodyBytes < 256 * MiB);
          await waitFor(() => tracker.open() === 0);
          assert.equal(tracker.open(), 0, "every file handle was closed");
          // A range request stops at its end and closes too.
          const part = await get(port, "/f/big.bin", { expect: MiB });
          assert.equal(part.bodyBytes >= MiB, true);
        } finally {
          tracker.restore();
          await server.shutdown();
        }
      }),
  });

  Deno.test({
    name:
      `a file that shrinks mid-send is cut short, one that grows is sent as promised, on ${transport}${
        canWrite ? "" : ` (${NEEDS_WRITE})`
      }`,
    ignore: !canWrite,
    fn: () =>
      withTempDir(async (dir) => {
        const size = 16 * MiB;
        Deno.writeFileSync(`${dir}/shrink.bin`, new Uint8Array(size).fill(1));
        Deno.writeFileSync(`${dir}/grow.bin`, new Uint8Array(size).fill(2));
        const server = start(dir, transport);
        try {
          const port = server.addr.port;
          let truncated = false;
          const shrink = await get(port, "/f/shrink.bin", {
            expect: size,
            onBytes: async (n) => {
              if (!truncated && n >= MiB) {
                truncated = true;
                await Deno.truncate(`${dir}/shrink.bin`, 2 * MiB);
              }
            },
          });
          assert.match(
            shrink.head,
            new RegExp(`content-length: ${size}\r\n`, "i"),
          );
          assert.ok(shrink.bodyBytes < size, `got ${shrink.bodyBytes}`);
          assert.ok(
            shrink.closed,
            "the connection is closed, not left hanging",
          );

          let grown = false;
          const grow = await get(port, "/f/grow.bin", {
            idleMs: 500, // read on past the promised length, if anything comes
            onBytes: async (n) => {
              if (!grown && n >= MiB) {
                grown = true;
                await Deno.writeFile(`${dir}/grow.bin`, new Uint8Array(MiB), {
                  append: true,
                });
              }
            },
          });
          assert.equal(grow.bodyBytes, size, "never more than Content-Length");
          // The server is still healthy.
          const ok = await get(port, "/f/grow.bin", { idleMs: 500 });
          assert.equal(ok.bodyBytes, size + MiB);
        } finally {
          await server.shutdown();
        }
      }),
  });
}
