/**
 * A 200 MB multipart upload through a real server: the handler feeds
 * `ctx.body.stream()` to `parseMultipartStream` and writes file parts to a
 * temporary directory; the server's RSS must stay flat. The client writes
 * the body from one reused buffer, so its own allocations stay out of the
 * measurement (server and client share this process).
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { parseMediaType } from "../../src/body/content_type.ts";
import {
  parseMultipartStream,
  safeFilename,
} from "../../src/body/multipart_stream.ts";
import { HttpError } from "../../src/http/errors.ts";
import { serve } from "../../src/server/serve.ts";

const MiB = 1 << 20;
const FILE_BYTES = 100 * MiB; // two files: 200 MiB of content
const RSS_BOUND = 32 * MiB;
const BOUNDARY = "----PalisadeUpload9f86d081884c7d65";
const canWrite =
  Deno.permissions.querySync({ name: "write" }).state === "granted";
const enc = new TextEncoder();

/** 64 KiB of content full of near-delimiters: CRLF, dashes, boundary prefixes. */
function block(): Uint8Array {
  const b = new Uint8Array(64 * 1024);
  const tricky = enc.encode(`\r\n--${BOUNDARY.slice(0, 20)}\r\n-`);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
  for (let i = 0; i + tricky.length < b.length; i += 4093) b.set(tricky, i);
  return b;
}

interface UploadResult {
  files: { name: string; size: number; head: number[]; tail: number[] }[];
  fields: Record<string, string>;
  rssBefore: number;
  rssAfter: number;
  rssPeak: number;
}

function uploadApp(dir: string): App {
  const app = new App();
  app.post("/upload", {
    limits: { bodyBytes: 256 * MiB },
    deadlineMs: 0,
  }, async (ctx) => {
    const boundary = parseMediaType(ctx.header("content-type") ?? "")?.params
      .boundary;
    if (boundary === undefined) throw new HttpError(400, "No boundary");
    const rssBefore = Deno.memoryUsage().rss;
    let rssPeak = rssBefore;
    const result: UploadResult = {
      files: [],
      fields: {},
      rssBefore,
      rssAfter: 0,
      rssPeak: 0,
    };
    const parts = parseMultipartStream(ctx.body.stream(), boundary, {
      fileBytes: 150 * MiB,
      files: 10,
      formFields: 100,
      fieldBytes: 64 * 1024,
      partHeaderBytes: 16 * 1024,
      bodyBytes: 256 * MiB,
    });
    for await (const part of parts) {
      if (part.kind === "field") {
        result.fields[part.name] = part.value;
        continue;
      }
      const path = `${dir}/${crypto.randomUUID()}-${
        safeFilename(part.filename)
      }`;
      let size = 0;
      let n = 0;
      {
        using file = await Deno.open(path, { write: true, createNew: true });
        for await (const chunk of part.stream) {
          await writeAll(file, chunk);
          size += chunk.length;
          if (++n % 64 === 0) {
            rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
          }
        }
      }
      using check = await Deno.open(path);
      const head = new Uint8Array(16);
      await check.read(head);
      await check.seek(-16, Deno.SeekMode.End);
      const tail = new Uint8Array(16);
      await check.read(tail);
      result.files.push({
        name: part.filename,
        size,
        head: [...head],
        tail: [...tail],
      });
    }
    result.rssAfter = Deno.memoryUsage().rss;
    result.rssPeak = Math.max(rssPeak, result.rssAfter);
    return ctx.json(result);
  });
  return app;
}

/** Writes all of `bytes` to `conn`. */
async function writeAll(
  conn: Deno.Conn | Deno.FsFile,
  bytes: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Uploads two files of `fileBytes` each (plus a field) and returns the JSON answer. */
async function upload(port: number, fileBytes: number): Promise<UploadResult> {
  const data = block();
  const heads = [
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nholiday\r\n`,
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"; filename="../../a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    `\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="b"; filename="b.bin"\r\n\r\n`,
    `\r\n--${BOUNDARY}--\r\n`,
  ].map((s) => enc.encode(s));
  const length = heads.reduce((n, h) => n + h.length, 0) + 2 * fileBytes;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(
      conn,
      enc.encode(
        `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`,
      ),
    );
    await writeAll(conn, heads[0]);
    for (const h of [heads[1], heads[2]]) {
      await writeAll(conn, h);
      for (let sent = 0; sent < fileBytes; sent += data.length) {
        await writeAll(
          conn,
          data.subarray(0, Math.min(data.length, fileBytes - sent)),
        );
      }
    }
    await writeAll(conn, heads[3]);
    const response = await new Response(conn.readable).text();
    const body = response.slice(response.indexOf("\r\n\r\n") + 4);
    assert.match(response, /^HTTP\/1\.1 200 /, response.slice(0, 300));
    return JSON.parse(body.startsWith("{") ? body : dechunk(body));
  } catch (error) {
    try {
      conn.close();
    } catch { /* closed */ }
    throw error;
  }
}

function dechunk(body: string): string {
  let out = "";
  let rest = body;
  while (true) {
    const nl = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, nl), 16);
    if (!size) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

for (const transport of ["h1", "deno"] as const) {
  Deno.test({
    name:
      `a 200 MB multipart upload streams to disk on ${transport} with RSS growth under 32 MiB${
        canWrite ? "" : " (needs --allow-write, which the test task lacks)"
      }`,
    ignore: !canWrite,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "palisade_upload_" });
      const server = serve(uploadApp(dir), {
        port: 0,
        hostname: "127.0.0.1",
        transport,
        shutdown: { signals: [] },
      });
      try {
        // Warm-up: V8 frees body chunks only after ~64 MiB of them are
        // garbage, and the allocator keeps the pages; measure past that.
        await upload(server.addr.port, 48 * MiB);
        const r = await upload(server.addr.port, FILE_BYTES);
        const data = block();
        const lastOffset = (FILE_BYTES - 16) % data.length;
        assert.deepEqual(r.fields, { title: "holiday" });
        assert.deepEqual(r.files.map((f) => [f.name, f.size]), [
          ["../../a.bin", FILE_BYTES],
          ["b.bin", FILE_BYTES],
        ]);
        for (const f of r.files) {
          assert.deepEqual(f.head, [...data.subarray(0, 16)]);
          assert.deepEqual(f.tail, [
            ...data.subarray(lastOffset, lastOffset + 16),
          ]);
        }
        const growth = r.rssAfter - r.rssBefore;
        const peak = r.rssPeak - r.rssBefore;
        console.log(
          `${transport}: 200 MiB uploaded; server RSS growth ${
            (growth / MiB).toFixed(1)
          } MiB (peak ${(peak / MiB).toFixed(1)} MiB)`,
        );
        assert.ok(growth < RSS_BOUND, `RSS grew by ${growth} bytes`);
        assert.ok(peak < RSS_BOUND, `RSS peaked ${peak} bytes above the start`);
        const names = [];
        for await (const e of Deno.readDir(dir)) names.push(e.name);
        assert.equal(names.length, 4);
        assert.ok(
          names.every((n) =>
            !n.includes("/") && (n.endsWith("-a.bin") || n.endsWith("-b.bin"))
          ),
        );
      } finally {
        await server.shutdown();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
