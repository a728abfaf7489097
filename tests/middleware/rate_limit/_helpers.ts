/**
 * Helpers of the rate-limit tests: a served App, a fake clock, and a real
 * `redis-server` on a free port.
 *
 * @module
 */

import type { App } from "../../../src/app/app.ts";
import { serve } from "../../../src/server/serve.ts";

export const HOST = "127.0.0.1";

/** A served App: `get(path, headers)` fetches from it; `close()` shuts it down. */
export interface Served {
  url: string;
  get(path: string, headers?: HeadersInit): Promise<Response>;
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1:0. */
export function serveApp(app: App, transport: "deno" | "h1" = "deno"): Served {
  const server = serve(app, {
    hostname: HOST,
    port: 0,
    transport,
    shutdown: { signals: [] },
  });
  const url = `http://${HOST}:${server.addr.port}`;
  return {
    url,
    async get(path, headers) {
      const res = await fetch(url + path, { headers });
      await res.body?.cancel();
      return res;
    },
    async close() {
      await server.shutdown();
    },
  };
}

/** A clock tests move by hand: `now()` for the middleware, `advance(ms)`. */
export function fakeClock(start = 1_700_000_000_000): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Whether `name` runs (is on PATH). */
export function hasBinary(name: string): boolean {
  try {
    new Deno.Command(name, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    return true;
  } catch {
    return false;
  }
}

/** Why Redis tests are ignored when they are. */
export const NO_REDIS =
  "redis-server is not installed (Debian package redis-server): Redis store tests ignored";

/** A running redis-server child. */
export interface RedisServer {
  port: number;
  /** Stops the server (SIGKILL unless `graceful`) and waits for it to exit. */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: HOST, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function ping(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: HOST, port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(16);
      const n = await conn.read(buf);
      return n !== null &&
        new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/**
 * Starts `redis-server` without persistence on a free port; waits for PING.
 * `prefix` runs it under a command such as `["taskset", "-c", "1"]`.
 */
export async function startRedis(prefix: string[] = []): Promise<RedisServer> {
  const port = freePort();
  const cmd = [...prefix, "redis-server"];
  const child = new Deno.Command(cmd[0], {
    args: [
      ...cmd.slice(1),
      "--port",
      String(port),
      "--bind",
      HOST,
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const until = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (Date.now() > until) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`redis-server did not answer PING on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  let stopped = false;
  return {
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill("SIGKILL");
      await child.status;
    },
  };
}
