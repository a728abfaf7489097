/**
 * Keep-alive connections to one `http:` upstream, waiting for their next
 * request: at most `maxIdle` (a connection handed back beyond that is
 * closed), newest first, each closed once it has waited `idleMs` (swept by
 * the proxy's one pool timer) or as soon as the upstream closes it.
 *
 * An idle connection always has one read in flight: when the upstream
 * closes it (or sends bytes nobody asked for), the read ends and the
 * connection leaves the pool at once instead of failing the next request;
 * when a request takes the connection, that same read brings its response.
 *
 * @module
 */

import type { UpstreamConn } from "./conn.ts";

/** The idle connections of one upstream. */
export class ConnPool {
  readonly #idle: UpstreamConn[] = [];
  readonly #ticks = new Map<UpstreamConn, number>();
  /** Each connection's idle-read handler, made once. */
  readonly #wakers = new WeakMap<UpstreamConn, () => void>();
  readonly #maxIdle: number;
  #tick = 0;

  /** Keeps at most `maxIdle` idle connections (0 = none: no reuse). */
  constructor(maxIdle: number) {
    this.#maxIdle = maxIdle;
  }

  /** Idle connections. */
  get size(): number {
    return this.#idle.length;
  }

  /** The newest idle connection, or null. */
  take(): UpstreamConn | null {
    const c = this.#idle.pop();
    if (c === undefined) return null;
    this.#ticks.delete(c);
    c.reused = true;
    return c;
  }

  /**
   * Hands back `c`, whose last response was read whole and which may carry
   * another request (nothing buffered); closes it when the pool is full.
   */
  put(c: UpstreamConn): void {
    if (c.closed) return;
    if (this.#idle.length >= this.#maxIdle) {
      c.close();
      return;
    }
    c.start = c.end = 0;
    const read = c.conn.read(c.buf);
    c.pending = read;
    let woke = this.#wakers.get(c);
    if (woke === undefined) {
      woke = () => this.#woke(c);
      this.#wakers.set(c, woke);
    }
    read.then(woke, woke);
    this.#idle.push(c);
    this.#ticks.set(c, this.#tick);
  }

  /**
   * The idle read of `c` ended. Taken since, the request reads the result
   * (it is taken before that read can end: the request is sent first);
   * still in the pool, it is dropped.
   */
  #woke(c: UpstreamConn): void {
    if (!this.#ticks.has(c)) return;
    // Closed by the upstream, or bytes nobody asked for: either way unusable.
    this.#remove(c);
    c.close();
  }

  #remove(c: UpstreamConn): void {
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#ticks.delete(c);
  }

  /**
   * One tick of the pool timer: closes connections idle for `ticks` ticks
   * or more.
   */
  sweep(ticks: number): void {
    const now = ++this.#tick;
    for (const [c, at] of this.#ticks) {
      if (now - at >= ticks) {
        this.#remove(c);
        c.close();
      }
    }
  }

  /** Closes every idle connection. */
  close(): void {
    for (const c of this.#idle.splice(0)) c.close();
    this.#ticks.clear();
  }
}
