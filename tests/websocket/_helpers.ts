/**
 * Helpers for WebSocket tests over real sockets on both transports.
 *
 * @module
 */

import type { App } from "../../src/app/app.ts";
import { serve, type Server } from "../../src/server/serve.ts";

/** Both transports, for `for (const transport of TRANSPORTS)` test matrices. */
export const TRANSPORTS = ["deno", "h1"] as const;
/** A transport name. */
export type TransportName = typeof TRANSPORTS[number];

/** A server for one test. */
export interface WsServer {
  server: Server;
  port: number;
  /** `ws://127.0.0.1:<port><path>`. */
  url(path: string): string;
  /** Shuts down and waits for the end. */
  stop(): Promise<void>;
}

/** Serves `app` on 127.0.0.1:0 with `transport`, without signal handlers. */
export function start(
  app: App,
  transport: TransportName,
  graceMs = 2_000,
): WsServer {
  const server = serve(app, {
    transport,
    port: 0,
    hostname: "127.0.0.1",
    shutdown: { signals: [], graceMs },
  });
  const port = server.addr.port;
  return {
    server,
    port,
    url: (path) => `ws://127.0.0.1:${port}${path}`,
    async stop() {
      await server.shutdown();
    },
  };
}

/** Polls `cond` until it holds (no time limit: the test runner bounds it). */
export async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

/** A Deno `WebSocket` client that records what it receives. */
export class Client {
  readonly ws: WebSocket;
  readonly messages: (string | ArrayBuffer)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;
  #waiters: (() => void)[] = [];

  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = (e) =>
        reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => this.ws.onclose = resolve);
    this.ws.onmessage = (e) => {
      this.messages.push(e.data);
      for (const w of this.#waiters.splice(0)) w();
    };
  }

  /** Resolves once `n` messages have arrived. */
  async received(n: number): Promise<(string | ArrayBuffer)[]> {
    while (this.messages.length < n) {
      await new Promise<void>((r) => this.#waiters.push(r));
    }
    return this.messages;
  }
}
