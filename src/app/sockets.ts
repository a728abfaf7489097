/**
 * The sockets an App's requests handed over to another protocol
 * (WebSockets): closed cleanly when a shutdown begins, cut when its grace
 * period ends, and waited for by `app.idle()`.
 *
 * @module
 */

import type { SocketClosed, TrackedSocket } from "../context/core.ts";

/** See the module doc. */
export class SocketRegistry {
  readonly #sockets = new Set<TrackedSocket>();
  #waiters: (() => void)[] = [];

  /** Sockets still open. */
  get size(): number {
    return this.#sockets.size;
  }

  /**
   * Registers `socket`; returns the function to call once it closed, which
   * passes what it carried to `onClosed`.
   */
  track(
    socket: TrackedSocket,
    onClosed: (closed: SocketClosed) => void,
  ): (closed: SocketClosed) => void {
    this.#sockets.add(socket);
    return (closed) => {
      if (!this.#sockets.delete(socket)) return;
      onClosed(closed);
      if (this.#sockets.size === 0) {
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const w of waiters) w();
      }
    };
  }

  /** Resolves once no socket is open. */
  idle(): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Starts a clean close of every socket (WebSocket: 1001). */
  goingAway(): void {
    for (const socket of [...this.#sockets]) socket.goingAway();
  }

  /** Closes every socket now. */
  terminate(): void {
    for (const socket of [...this.#sockets]) socket.terminate();
  }
}
