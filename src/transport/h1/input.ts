/**
 * The read side of an h1 connection: at most one pending `read()`, the chunk
 * it filled and how far the parser has consumed it. Read buffers are reused
 * across connections (allocating typed arrays is what makes short
 * connections expensive); a buffer whose bytes were handed out (body chunks
 * enqueued to the App) is "lent" and replaced on the next read.
 *
 * @module
 */

import type { Conn } from "./conn.ts";
const READ_SIZE = 4 * 1024;
const BODY_READ_SIZE = 64 * 1024;
const EMPTY: Uint8Array = new Uint8Array(0);
const FALSE = Promise.resolve(false);

/** Read buffers of closed connections, shared by a listener's connections. */
export interface BufferPool {
  readonly buffers: Uint8Array[];
  readonly max: number;
}

/** See the module doc. */
export class Input {
  /** The bytes of the last read. */
  chunk: Uint8Array = EMPTY;
  /** How far into `chunk` the parser has consumed. */
  pos = 0;
  /** The peer finished sending (or the read failed). */
  eof = false;
  /** The buffer is in use by someone else: the next read takes a new one. */
  lent = true;
  #conn: Conn;
  #pool: BufferPool;
  #buf: Uint8Array = EMPTY;
  #reading: Promise<boolean> | null = null;
  #onEof: () => void;
  #closed = false;

  /** `onEof` runs once when the peer is gone. */
  constructor(conn: Conn, pool: BufferPool, onEof: () => void) {
    this.#conn = conn;
    this.#pool = pool;
    this.#onEof = onEof;
  }

  /** Unconsumed bytes are left in `chunk`. */
  get hasBytes(): boolean {
    return this.pos < this.chunk.length;
  }

  /** The pending read, if one is in flight. */
  get pending(): Promise<boolean> | null {
    return this.#reading;
  }

  /** The unconsumed rest of `chunk`. */
  rest(): Uint8Array {
    return this.chunk.subarray(this.pos);
  }

  /**
   * Starts (or joins) the one pending read; resolves false at EOF or on an
   * error. `forBody` reads into a larger buffer for request bodies.
   */
  read(forBody = false): Promise<boolean> {
    if (this.#reading !== null) return this.#reading;
    if (this.eof || this.#closed) return FALSE;
    if (this.lent) {
      this.#buf = forBody
        ? new Uint8Array(BODY_READ_SIZE)
        : this.#pool.buffers.pop() ?? new Uint8Array(READ_SIZE);
      this.lent = false;
    }
    return this.#reading = this.#conn.read(this.#buf).then(
      this.#onRead,
      this.#onError,
    );
  }

  #onRead = (n: number | null): boolean => {
    this.#reading = null;
    if (n === null) return this.#end();
    this.chunk = this.#buf.subarray(0, n);
    this.pos = 0;
    return true;
  };

  #onError = (): boolean => {
    this.#reading = null;
    return this.#end();
  };

  #end(): false {
    this.eof = true;
    this.#onEof();
    return false;
  }

  /** Reads and drops up to `budget` bytes, until the end or a close. */
  async skip(budget: number): Promise<void> {
    this.pos = this.chunk.length;
    while (budget > 0 && !this.#closed) {
      if (!(await this.read())) return;
      budget -= this.chunk.length;
      this.pos = this.chunk.length;
    }
  }

  /** No more reads: the connection closed. */
  close(): void {
    this.#closed = true;
  }

  /** Gives an unused standard-size read buffer back to the pool. */
  recycle(): void {
    const pool = this.#pool;
    if (
      !this.lent && this.#reading === null && this.#buf.length === READ_SIZE &&
      pool.buffers.length < pool.max
    ) {
      pool.buffers.push(this.#buf);
    }
    this.lent = true; // this connection must not touch it again
  }
}
