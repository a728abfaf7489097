/**
 * Follows the frames of one direction of a raw tunnel without touching
 * them: where each frame ends, and the first close frame and its code.
 * Only headers are read (payloads are skipped by their length), so the
 * cost is a few operations per frame. The tunnel uses it to say which side
 * closed first and with what code, and to put its own close frame between
 * two frames at shutdown. Nothing is validated: the endpoints do that.
 *
 * @module
 */

const OP_CLOSE = 8;

/** The frame boundaries and first close frame of a byte stream. */
export class FrameWatch {
  /** The code of the first close frame (1005 for none in it); null before one. */
  closeCode: number | null = null;
  readonly #head = new Uint8Array(14);
  #headLen = 0;
  #headNeed = 2;
  /** Payload bytes left in the current frame; -1 while in a header. */
  #left = -1;
  /** Payload offset within the current close frame (for its code). */
  #closeAt = -1;
  #code = 0;

  /** Whether the bytes fed so far end exactly at a frame boundary. */
  get atBoundary(): boolean {
    return this.#left <= 0 && this.#headLen === 0;
  }

  /**
   * Follows `buf[start, end)`. With `stop`, returns the first frame
   * boundary in `[start, end]` (`start` itself when already at one) and
   * follows no further; otherwise returns `end`.
   */
  feed(buf: Uint8Array, start: number, end: number, stop = false): number {
    let i = start;
    for (;;) {
      if (stop && this.atBoundary) return i;
      if (i >= end) return end;
      if (this.#left > 0) {
        const n = Math.min(this.#left, end - i);
        if (this.#closeAt >= 0) this.#closePayload(buf, i, n);
        this.#left -= n;
        i += n;
        if (this.#left === 0) this.#endFrame();
        continue;
      }
      // A header byte.
      const head = this.#head;
      head[this.#headLen++] = buf[i++];
      if (this.#headLen === 2) {
        const len7 = head[1] & 0x7f;
        this.#headNeed = (len7 === 126 ? 4 : len7 === 127 ? 10 : 2) +
          ((head[1] & 0x80) !== 0 ? 4 : 0);
      }
      if (this.#headLen < this.#headNeed) continue;
      this.#startFrame();
    }
  }

  #startFrame(): void {
    const head = this.#head;
    const len7 = head[1] & 0x7f;
    let length = len7;
    if (len7 === 126) length = (head[2] << 8) | head[3];
    else if (len7 === 127) {
      length = (((head[2] << 24) | (head[3] << 16) | (head[4] << 8) |
            head[5]) >>> 0) * 0x100000000 +
        (((head[6] << 24) | (head[7] << 16) | (head[8] << 8) | head[9]) >>>
          0);
    }
    this.#headLen = 0;
    this.#headNeed = 2;
    const close = (head[0] & 0x0f) === OP_CLOSE && this.closeCode === null;
    this.#closeAt = close ? 0 : -1;
    this.#code = 0;
    this.#left = length;
    if (length === 0) this.#endFrame();
  }

  /** Reads the code bytes of a close payload piece `buf[i, i+n)`. */
  #closePayload(buf: Uint8Array, i: number, n: number): void {
    const head = this.#head;
    const masked = (head[1] & 0x80) !== 0;
    const keyAt = this.#headNeedOf(head) - 4;
    for (let k = 0; k < n && this.#closeAt < 2; k++, this.#closeAt++) {
      let b = buf[i + k];
      if (masked) b ^= head[keyAt + this.#closeAt];
      this.#code = (this.#code << 8) | b;
    }
  }

  #endFrame(): void {
    this.#left = 0;
    if (this.#closeAt >= 0) {
      this.closeCode = this.#closeAt >= 2 ? this.#code : 1005;
      this.#closeAt = -1;
    }
  }

  /** Header size of the frame whose first bytes are in `head`. */
  #headNeedOf(head: Uint8Array): number {
    const len7 = head[1] & 0x7f;
    return (len7 === 126 ? 4 : len7 === 127 ? 10 : 2) +
      ((head[1] & 0x80) !== 0 ? 4 : 0);
  }
}
