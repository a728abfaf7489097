/**
 * The accept loop of the h1 engine: listens on TCP or TLS, caps the number
 * of open connections, counts them, and drives graceful shutdown.
 *
 * @module
 */

import type { RejectReason } from "../../http/limits.ts";
import type { ConnectionMetrics } from "../contract.ts";
import type { Transport } from "../types.ts";
import { H1Connection } from "./connection.ts";
import type { H1App, ListenerState } from "./listener_state.ts";
import type { H1Settings } from "./options.ts";
import { Sweeper, tickFor } from "./sweeper.ts";

/** Where and how to listen. */
export interface ListenAddress {
  /** Interface to bind. */
  hostname: string;
  /** Port to bind; 0 picks one. */
  port: number;
  /** TLS material; undefined for plain TCP. */
  tls: { cert: string; key: string } | undefined;
}

/** Pause after a failed `accept()` (e.g. out of file descriptors), in ms. */
const ACCEPT_BACKOFF_MS = 50;
/** Most spare parsers and read buffers a listener keeps. */
const SPARE_MAX = 512;

/**
 * A running h1 listener: the {@linkcode Transport} that `serve()` drives.
 *
 * @example Usage
 * ```ts ignore
 * const t = new H1Listener(app, metrics, address, settings);
 * t.stopAccepting();
 * await t.close();
 * ```
 */
export class H1Listener implements Transport {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the listener and every connection are closed. */
  readonly finished: Promise<void>;
  #listener: Deno.Listener;
  #app: H1App;
  #metrics: ConnectionMetrics | undefined;
  #state: ListenerState;
  #conns = new Set<H1Connection>();
  #listening = true;
  /** The accept loop has exited: the listening socket is really closed. */
  #acceptEnded = false;
  #resolve!: () => void;
  #onClose = (c: H1Connection): void => {
    if (!this.#conns.delete(c)) return;
    this.#metrics?.connectionClosed();
    this.#maybeFinished();
  };

  /**
   * Binds and starts accepting.
   *
   * @throws whatever `Deno.listen` / `Deno.listenTls` throw (address in use,
   * permission denied, bad certificate).
   */
  constructor(
    app: H1App,
    metrics: ConnectionMetrics | undefined,
    address: ListenAddress,
    settings: H1Settings,
  ) {
    this.#app = app;
    this.#metrics = metrics;
    const tls = address.tls;
    this.#listener = tls === undefined
      ? Deno.listen({ hostname: address.hostname, port: address.port })
      : Deno.listenTls({
        hostname: address.hostname,
        port: address.port,
        cert: tls.cert,
        key: tls.key,
        alpnProtocols: ["http/1.1"],
      });
    this.addr = this.#listener.addr as Deno.NetAddr;
    const host = this.addr.hostname.includes(":")
      ? `[${this.addr.hostname}]`
      : this.addr.hostname;
    this.#state = {
      app,
      settings,
      sweeper: new Sweeper(tickFor([
        settings.headerTimeoutMs,
        settings.bodyTimeoutMs,
        settings.idleTimeoutMs,
        settings.tlsHandshakeTimeoutMs,
      ])),
      tls: tls !== undefined,
      localHost: `${host}:${this.addr.port}`,
      draining: false,
      spare: { parsers: [], buffers: [], max: SPARE_MAX },
    };
    this.finished = new Promise((resolve) => this.#resolve = resolve);
    this.#acceptLoop();
  }

  /** True from {@linkcode H1Listener.stopAccepting} on. */
  get draining(): boolean {
    return this.#state.draining;
  }

  /** Number of open connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Stops accepting, closes connections that are between requests, and
   * makes every later response carry `Connection: close`.
   */
  stopAccepting(): void {
    if (this.#state.draining) return;
    this.#state.draining = true;
    this.#closeListener();
    for (const c of this.#conns) c.closeIfIdle();
  }

  /** Closes every connection now; resolves when all are closed. */
  close(): Promise<void> {
    this.#state.draining = true;
    this.#closeListener();
    for (const c of this.#conns) c.forceClose();
    return this.finished;
  }

  #closeListener(): void {
    if (!this.#listening) return;
    this.#listening = false;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
  }

  async #acceptLoop(): Promise<void> {
    const listener = this.#listener;
    const max = this.#state.settings.maxConnections;
    while (this.#listening) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (!this.#listening || e instanceof Deno.errors.BadResource) break;
        // Out of file descriptors or a transient error: wait, then retry.
        await new Promise((r) => setTimeout(r, ACCEPT_BACKOFF_MS));
        continue;
      }
      if (!this.#listening) {
        close(conn);
        break;
      }
      if (this.#conns.size >= max) {
        close(conn);
        this.#reject(
          "connection_limit",
          503,
          `Connection refused: the maxConnections limit of ${max} is reached`,
        );
        continue;
      }
      // Responses are written as whole heads and chunks already: Nagle's
      // algorithm would only delay the small writes of streamed bodies.
      const tcp = conn as Partial<Deno.TcpConn>;
      if (typeof tcp.setNoDelay === "function") {
        try {
          tcp.setNoDelay(true);
        } catch { /* the socket is gone already */ }
      }
      const c = new H1Connection(conn, this.#state, this.#onClose);
      this.#conns.add(c);
      this.#metrics?.connectionOpened();
      c.run();
    }
    this.#listening = false;
    this.#acceptEnded = true;
    this.#maybeFinished();
  }

  #reject(reason: RejectReason, status: number, detail: string): void {
    try {
      this.#app.reject?.(reason, status, detail);
    } catch { /* a failing hook must not stop the accept loop */ }
  }

  #maybeFinished(): void {
    if (this.#acceptEnded && this.#conns.size === 0) this.#resolve();
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
