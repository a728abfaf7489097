/**
 * What every WebSocket tunnel of the proxy shares, whichever transport it
 * runs on: its accounting (the upstream's in-flight count, the
 * `palisade_proxy_upstream_websocket*` metrics, the App's socket registry
 * for graceful shutdown and the access-log line) and the idle rule, swept
 * by one timer per proxy.
 *
 * @module
 */

import type { SocketClosed, TrackedSocket } from "../../context/internal.ts";
import type { Families } from "../metrics.ts";
import type { TunnelEnd, Upstream } from "../upstreams.ts";
import type { UpstreamConn } from "../wire/conn.ts";

/** Sweeps without traffic after which a tunnel is idle: 4 quarters. */
const IDLE_TICKS = 4;

/** Message and byte counts of a tunnel, reported when it closes. */
export interface TunnelCounts {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** One open tunnel between a client and an upstream. */
export abstract class Tunnel implements TrackedSocket {
  /** Idle sweeps since the last traffic; see {@linkcode Tunnels}. */
  ticks = 0;
  /** What passed through, for the access log. */
  readonly counts: TunnelCounts = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  /** The upstream end. */
  protected readonly conn: UpstreamConn;
  readonly #upstream: Upstream;
  readonly #set: Tunnels;
  readonly #families: Families | undefined;
  readonly #start = performance.now();
  #release: ((closed: SocketClosed) => void) | null = null;
  #ended: TunnelEnd | null = null;
  #disposed = false;
  #pending: ReturnType<typeof setTimeout> | undefined;

  /** Opens the tunnel's accounting for the connection `conn` to `upstream`. */
  constructor(
    set: Tunnels,
    conn: UpstreamConn,
    upstream: Upstream,
    families: Families | undefined,
  ) {
    this.#set = set;
    this.conn = conn;
    this.#upstream = upstream;
    this.#families = families;
    upstream.inflight++;
    families?.websockets.inc(upstream.labels);
    set.add(this);
  }

  /** What ended the tunnel; null while it is open. */
  get ended(): TunnelEnd | null {
    return this.#ended;
  }

  /**
   * Closes the tunnel unless {@linkcode Tunnel.opened} is called within
   * `ms`: the transport may never hand over a client that left while its
   * 101 was being written.
   */
  expectOpen(ms: number): void {
    const timer = setTimeout(() => this.terminate(), ms);
    Deno.unrefTimer(timer);
    this.#pending = timer;
  }

  /** The client side is open. */
  opened(): void {
    clearTimeout(this.#pending);
    this.#pending = undefined;
  }

  /** Registers the App's release function (`trackSocket`) for the close. */
  tracked(release: (closed: SocketClosed) => void): void {
    this.#release = release;
  }

  /** Closes both sides because of `by`; later calls do nothing. */
  abstract close(by: TunnelEnd): void;

  /** Graceful shutdown began. */
  goingAway(): void {
    this.close("shutdown");
  }

  /** The shutdown's grace ran out: close now, whatever is still lingering. */
  terminate(): void {
    this.close("shutdown");
    this.dispose();
  }

  /**
   * Records the end (`by`), once: metrics, the upstream's in-flight count,
   * the App's registry with the close `code` the client was given. False
   * when the tunnel had ended already.
   */
  protected finish(by: TunnelEnd, code: number): boolean {
    if (this.#ended !== null) return false;
    this.#ended = by;
    const u = this.#upstream;
    u.inflight--;
    const f = this.#families;
    if (f !== undefined) {
      f.websockets.dec(u.labels);
      f.websocketCloses.inc(u.endLabels[by]);
    }
    const release = this.#release;
    this.#release = null;
    release?.({
      durationMs: performance.now() - this.#start,
      ...this.counts,
      code,
    });
    return true;
  }

  /** Frees the upstream connection and leaves the registry; once. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    clearTimeout(this.#pending);
    this.conn.close();
    this.#set.delete(this);
  }
}

/**
 * The open tunnels of one proxy, and the idle rule: one unref'd timer,
 * running while a tunnel is open, ticks every quarter of `idleMs`; a tunnel
 * through which nothing passed for more than four ticks (between `idleMs`
 * and 1.25 × `idleMs` of silence) is closed as idle.
 */
export class Tunnels {
  readonly #open = new Set<Tunnel>();
  readonly #idleMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #empty: (() => void)[] = [];

  /** Tracks tunnels idle after `idleMs` (0 = never). */
  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  /** Tunnels open or still closing. */
  get size(): number {
    return this.#open.size;
  }

  /** Adds `t`, starting the idle timer with the first. */
  add(t: Tunnel): void {
    this.#open.add(t);
    if (this.#idleMs > 0 && this.#timer === undefined) {
      const timer = setInterval(
        this.#sweep,
        Math.max(1, Math.floor(this.#idleMs / IDLE_TICKS)),
      );
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Removes `t`, stopping the timer with the last. */
  delete(t: Tunnel): void {
    if (!this.#open.delete(t) || this.#open.size > 0) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const resolve of this.#empty.splice(0)) resolve();
  }

  /** Closes every tunnel now (the proxy's `close()`). */
  closeAll(): void {
    for (const t of [...this.#open]) t.terminate();
  }

  /** Resolves once no tunnel is open. */
  empty(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#empty.push(resolve));
  }

  #sweep = (): void => {
    for (const t of [...this.#open]) {
      if (++t.ticks > IDLE_TICKS && t.ended === null) t.close("idle");
    }
  };
}
