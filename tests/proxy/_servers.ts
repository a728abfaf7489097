/**
 * Test helpers for the proxy: real upstream servers (`Deno.serve` on
 * 127.0.0.1) that record what they received, and a Palisade App in front of
 * them served with `serve()`.
 *
 * @module
 */

import { App } from "../../src/app/app.ts";
import type { AppOptions } from "../../src/app/options.ts";
import { serve, type Server } from "../../src/server/serve.ts";

/** A running upstream. */
export interface Upstream {
  readonly url: string;
  readonly port: number;
  /** Requests it received, in order. */
  readonly seen: Request[];
  stop(): Promise<void>;
}

/** Starts an upstream on `port` (0: any) answering with `handler`. */
export function upstream(
  handler: (req: Request) => Response | Promise<Response> = () =>
    new Response("ok"),
  port = 0,
): Upstream {
  const seen: Request[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen() {},
  }, (req) => {
    seen.push(req);
    return handler(req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    seen,
    stop: () => server.shutdown(),
  };
}

/** An upstream that answers with its own name, for counting. */
export function named(name: string, port = 0): Upstream {
  return upstream(() => new Response(name), port);
}

/** A port nothing listens on (bound, then released). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A Palisade server in front of the App `setup` configures. */
export interface Front {
  readonly app: App;
  readonly server: Server;
  readonly base: string;
  stop(): Promise<void>;
}

/** Serves a new App (set up by `setup`) on 127.0.0.1:0 with `transport`. */
export function front(
  setup: (app: App) => void,
  options: { app?: AppOptions; transport?: "h1" | "deno" } = {},
): Front {
  const app = new App(options.app);
  setup(app);
  const server = serve(app, {
    port: 0,
    hostname: "127.0.0.1",
    transport: options.transport ?? "h1",
    shutdown: { signals: [] },
  });
  return {
    app,
    server,
    base: `http://127.0.0.1:${server.addr.port}`,
    stop: async () => {
      await server.shutdown();
    },
  };
}

/** GETs `url` and returns status and body text. */
export async function get(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Waits until `check()` is true, polling every 20 ms; throws after `ms`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw TCP upstream: `onConn` gets each accepted connection. */
export interface RawUpstream {
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  stop(): Promise<void>;
}

/** Starts a raw TCP upstream; connections are closed by `stop()`. */
export function rawUpstream(
  onConn: (conn: Deno.Conn) => Promise<void>,
): RawUpstream {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  let accepted = 0;
  const loop = (async () => {
    for await (const conn of listener) {
      accepted++;
      open.add(conn);
      tasks.push(
        onConn(conn).catch(() => {}).finally(() => {
          open.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        }),
      );
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    get accepted() {
      return accepted;
    },
    stop: async () => {
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop;
      await Promise.all(tasks);
    },
  };
}

/** Reads from `conn` until a request head has arrived (or the peer closes). */
export async function readHead(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(16 * 1024);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}
