/**
 * The accept loop of the h1 engine: listens on TCP or TLS, caps the number
 * of open connections, counts them, and drives graceful shutdown.
 *
 * @module
 */

import type { RejectReason } from "../../http/limits.ts";
import { Certificates } from "../certificates.ts";
import type { ConnectionMetrics } from "../contract.ts";
import type { TlsPem, Transport } from "../types.ts";
import type { Conn } from "./conn.ts";
import { H1Connection } from "./connection.ts";
import { NodeTlsConn } from "./tls_conn.ts";
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
  tls: TlsPem | undefined;
  /** Set `SO_REUSEPORT` (needs `--unstable-net`). */
  reusePort?: boolean;
}

/** First and longest pause after a failed `accept()`, in ms (as Go's). */
const BACKOFF_MIN_MS = 5;
const BACKOFF_MAX_MS = 1000;
/** Least time between two log lines about failing accepts, in ms. */
const LOG_EVERY_MS = 10_000;
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
  /** The certificates of a TLS listener; null for plain TCP. */
  #certificates: Certificates | null;
  /** TLS handshakes in progress. */
  #handshakes = 0;
  #app: H1App;
  #metrics: ConnectionMetrics | undefined;
  #state: ListenerState;
  #conns = new Set<H1Connection>();
  #listening = true;
  /** A descriptor held back to accept-and-close when out of descriptors. */
  #reserve: Deno.Listener | null = openReserve();
  #shedNext = false;
  #loggedAt = -Infinity;
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
   * @throws whatever `Deno.listen` throws (address in use, permission
   * denied); an `Error` when a TLS certificate or key is invalid.
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
    this.#certificates = tls === undefined ? null : new Certificates(tls);
    this.#listener = Deno.listen({
      hostname: address.hostname,
      port: address.port,
      ...(address.reusePort === true ? { reusePort: true } : {}),
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
      handshakeEnded: (result, seconds) => {
        this.#handshakes--;
        this.#metrics?.tlsHandshake?.(result, seconds);
      },
      idHeader: settings.idHeader,
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

  /**
   * Makes new TLS handshakes use `tls`; connections already set up keep
   * their session.
   *
   * @throws {Error} when a certificate or key is invalid (the old ones stay
   * in force), or when the listener is not TLS.
   */
  reloadTls(tls: TlsPem): Promise<void> {
    if (this.#certificates === null) {
      return Promise.reject(new Error("The server does not use TLS"));
    }
    this.#certificates.replace(tls);
    return Promise.resolve();
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
    const { maxConnections: max, maxTlsHandshakes } = this.#state.settings;
    const certificates = this.#certificates;
    let backoff = 0;
    while (this.#listening) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoff = 0;
      } catch (e) {
        if (!this.#listening || e instanceof Deno.errors.BadResource) break;
        backoff = backoff === 0
          ? BACKOFF_MIN_MS
          : Math.min(backoff * 2, BACKOFF_MAX_MS);
        this.#acceptFailed(e, backoff);
        await new Promise((r) => setTimeout(r, backoff));
        continue;
      }
      if (!this.#listening) {
        close(conn);
        break;
      }
      if (certificates !== null && this.#handshakes >= maxTlsHandshakes) {
        close(conn);
        this.#metrics?.tlsHandshake?.("refused", 0);
        this.#reject(
          "connection_limit",
          503,
          `Connection refused: the maxTlsHandshakes limit of ${maxTlsHandshakes} is reached`,
        );
        continue;
      }
      if (this.#shedNext || this.#conns.size - this.#handshakes >= max) {
        close(conn);
        const shed = this.#shedNext;
        if (shed) {
          this.#shedNext = false;
          this.#reserve ??= openReserve();
        }
        this.#reject(
          "connection_limit",
          503,
          shed
            ? "Connection refused: the process is out of file descriptors"
            : `Connection refused: the maxConnections limit of ${max} is reached`,
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
      if (certificates !== null) this.#handshakes++;
      const c = new H1Connection(
        certificates === null ? conn : new NodeTlsConn(conn, certificates),
        this.#state,
        this.#onClose,
      );
      this.#conns.add(c);
      this.#metrics?.connectionOpened();
      c.run();
    }
    this.#listening = false;
    this.#reserve?.close();
    this.#reserve = null;
    this.#acceptEnded = true;
    this.#maybeFinished();
  }

  /**
   * An accept failed (out of file descriptors): count it, log it (at most
   * every 10 s), and free the reserve descriptor so the next connection can
   * be accepted and closed at once instead of waiting in the backlog.
   */
  #acceptFailed(error: unknown, backoff: number): void {
    this.#metrics?.acceptFailed?.("h1");
    const now = performance.now();
    if (now - this.#loggedAt >= LOG_EVERY_MS) {
      this.#loggedAt = now;
      console.error(
        `Palisade: the h1 transport failed to accept on ${this.addr.hostname}:${this.addr.port} (${
          error instanceof Error ? error.message : String(error)
        }); backing off ${backoff} ms`,
      );
    }
    if (this.#reserve !== null) {
      this.#reserve.close();
      this.#reserve = null;
      this.#shedNext = true;
    }
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

/**
 * Holds one descriptor back (a listening socket on a loopback port) for
 * the accept-and-close trick; null when the permissions do not allow it.
 */
function openReserve(): Deno.Listener | null {
  try {
    return Deno.listen({ hostname: "127.0.0.1", port: 0 });
  } catch {
    return null;
  }
}

function close(conn: Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
