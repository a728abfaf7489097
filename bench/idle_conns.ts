/**
 * Memory per idle keep-alive connection: opens N connections to each server
 * (default 5 000), sends one `GET /` on each and leaves it open, then reports
 * how much the server's RSS grew per connection, and RSS after they close.
 *
 * The open-file limit of this process and of each server is raised with
 * `prlimit` where allowed. The h1 server runs with a 10-minute keep-alive
 * idle timeout so its connections stay open while RSS is read. Traffic goes
 * only to 127.0.0.1.
 *
 * Usage:
 *   deno run -A bench/idle_conns.ts [--conns=5000] [--servers=raw,hono]
 *
 * @module
 */

import {
  killAll,
  killChildrenOnSignal,
  log,
  memory,
  pinning,
  raiseOwnFdLimit,
  type ServerProcess,
  sleep,
  startServer,
} from "./_proc.ts";
import { HOST } from "./_load_tools.ts";
import { HTTP1_SERVERS, serverList, SERVERS } from "./_servers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const REQUEST = encoder.encode(
  `GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: keep-alive\r\n\r\n`,
);

/** Reads one response (Content-Length or chunked) from `conn`. */
async function readResponse(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(4096);
  let text = "";
  while (true) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("Connection closed before a response");
    text += decoder.decode(buf.subarray(0, n));
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) continue;
    const head = text.slice(0, end).toLowerCase();
    const len = head.match(/\r\ncontent-length:\s*(\d+)/);
    if (len && text.length - end - 4 >= Number(len[1])) break;
    if (!len && text.endsWith("0\r\n\r\n")) break;
  }
  return Number(text.slice(9, 12));
}

async function openIdle(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: HOST, port });
  try {
    await conn.write(REQUEST);
    const status = await readResponse(conn);
    if (status !== 200) throw new Error(`Status ${status}`);
    return conn;
  } catch (e) {
    conn.close();
    throw e;
  }
}

/** Sends `n` requests one after another on one connection. */
async function warm(port: number, n: number): Promise<void> {
  const conn = await openIdle(port);
  try {
    for (let i = 1; i < n; i++) {
      await conn.write(REQUEST);
      await readResponse(conn);
    }
  } finally {
    conn.close();
  }
}

interface Result {
  name: string;
  skipped?: string;
  opened: number;
  failed: number;
  beforeKiB: number;
  withKiB: number;
  afterKiB: number;
  seconds: number;
}

async function measure(
  name: string,
  conns: number,
  prefix: string[],
): Promise<Result> {
  const spec = SERVERS[name];
  const args = [...spec.args, "--port=0", "--idle-timeout-ms=600000"];
  const started = await startServer({
    script: spec.script,
    args,
    prefix,
    nofile: conns + 1024,
  });
  const empty = {
    name,
    opened: 0,
    failed: 0,
    beforeKiB: NaN,
    withKiB: NaN,
    afterKiB: NaN,
    seconds: 0,
  };
  if (!started.ok) return { ...empty, skipped: started.reason };
  const server: ServerProcess = started.server;
  const open: Deno.Conn[] = [];
  let failed = 0;
  try {
    await warm(server.port, 200);
    await sleep(1000);
    const before = (await memory(server.pid)).rssKiB;
    const t0 = performance.now();
    const batch = 100;
    for (let i = 0; i < conns; i += batch) {
      const n = Math.min(batch, conns - i);
      const settled = await Promise.allSettled(
        Array.from({ length: n }, () => openIdle(server.port)),
      );
      for (const s of settled) {
        if (s.status === "fulfilled") open.push(s.value);
        else failed++;
      }
      if (failed > conns / 10) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    await sleep(1000);
    const withConns = (await memory(server.pid)).rssKiB;
    log(
      `${name}: ${open.length} idle connections open (${failed} failed) in ${
        seconds.toFixed(1)
      } s; RSS ${(before / 1024).toFixed(1)} → ${
        (withConns / 1024).toFixed(1)
      } MiB`,
    );
    for (const c of open.splice(0)) {
      try {
        c.close();
      } catch { /* already closed by the server */ }
    }
    await sleep(2000);
    const after = (await memory(server.pid)).rssKiB;
    return {
      name,
      opened: conns - failed,
      failed,
      beforeKiB: before,
      withKiB: withConns,
      afterKiB: after,
      seconds,
    };
  } catch (e) {
    return { ...empty, skipped: `failed: ${(e as Error).message}` };
  } finally {
    for (const c of open) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await server.stop();
  }
}

async function main(): Promise<void> {
  const get = (name: string): string | undefined =>
    Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const conns = Number(get("conns") ?? 5000);
  if (!Number.isInteger(conns) || conns < 1) {
    throw new Error(`--conns must be a positive integer, got ${get("conns")}`);
  }
  const names = serverList(get("servers"), HTTP1_SERVERS);
  killChildrenOnSignal();
  const limit = await raiseOwnFdLimit(conns + 1024);
  if (limit < conns + 64) {
    log(
      `open-file limit is ${limit}, too low for ${conns} connections; raise it (ulimit -n) or pass a smaller --conns`,
    );
    Deno.exit(1);
  }
  const pin = await pinning();
  log(`${pin.note}; ${conns} idle connections per server`);
  const rows: string[] = [
    `Idle keep-alive connections: ${conns} per server, each after one GET /.`,
    "",
    "| server | RSS before MiB | RSS with conns MiB | growth KiB/conn | RSS after close MiB | opened | failed |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  try {
    for (const name of names) {
      const r = await measure(name, conns, pin.server);
      if (r.skipped) {
        rows.push(
          `| ${name} | skipped: ${r.skipped.replace(/\|/g, "/")} ||||||`,
        );
        continue;
      }
      const perConn = (r.withKiB - r.beforeKiB) / Math.max(1, r.opened);
      rows.push(
        `| ${name} | ${(r.beforeKiB / 1024).toFixed(1)} | ${
          (r.withKiB / 1024).toFixed(1)
        } | ${perConn.toFixed(2)} | ${
          (r.afterKiB / 1024).toFixed(1)
        } | ${r.opened} | ${r.failed} |`,
      );
    }
  } finally {
    await killAll();
  }
  console.log(rows.join("\n"));
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    log(`idle_conns failed: ${(e as Error).stack ?? e}`);
    await killAll();
    Deno.exit(1);
  }
}
