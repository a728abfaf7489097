/**
 * A growable byte buffer for the part of a request head that arrived in an
 * earlier read. The parser checks its limits before every append, so the
 * buffer never holds more than the limits allow.
 *
 * @module
 */

import { EMPTY } from "./bytes.ts";

/** Buffers larger than this are released on {@linkcode ByteBuffer.clear}. */
const KEEP_BYTES = 4096;

/**
 * Append-only byte buffer, reused across messages of a connection.
 *
 * @example Usage
 * ```ts
 * import { ByteBuffer } from "./buffer.ts";
 * const b = new ByteBuffer();
 * b.append(new Uint8Array([1, 2, 3]), 1, 3);
 * b.len; // 2
 * ```
 */
export class ByteBuffer {
  /** Backing store; valid bytes are `buf[0, len)`. May change on append. */
  buf: Uint8Array = EMPTY;
  /** Number of valid bytes. */
  len = 0;

  /** Copies `src[start, end)` to the end of the buffer. */
  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    const need = this.len + n;
    if (need > this.buf.length) {
      let size = this.buf.length < 256 ? 256 : this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(src.subarray(start, end), this.len);
    this.len = need;
  }

  /** Empties the buffer, releasing the store when it grew large. */
  clear(): void {
    this.len = 0;
    if (this.buf.length > KEEP_BYTES) this.buf = EMPTY;
  }
}
