/**
 * Incremental parser of the frames a WebSocket client sends (RFC 6455
 * section 5): bytes go in as they arrive, in pieces of any size, and
 * complete messages, pings, pongs and the peer's close come out.
 *
 * Every rule is checked at the earliest byte that breaks it, and a broken
 * rule ends parsing with a {@linkcode FrameFailure} naming the close code
 * to send (1002 protocol error, 1007 invalid UTF-8, 1009 too big):
 *
 * - a frame must be masked; reserved bits need an extension (none is
 *   negotiated); opcodes other than 0, 1, 2, 8, 9 and 10 are unknown;
 * - control frames carry at most 125 bytes and are never fragmented;
 * - a continuation frame needs a message to continue, and a new data frame
 *   may not start inside a fragmented message;
 * - text is valid UTF-8, checked piece by piece (also across fragments);
 * - a close payload is empty or a valid code plus a UTF-8 reason;
 * - a 64-bit length must have its most significant bit clear;
 * - `maxFrameBytes` and `maxMessageBytes` are checked against the length
 *   in a frame header, before any of its payload is buffered.
 *
 * Memory held per connection is bounded by the limits: a payload is kept
 * only as far as it has arrived, never allocated from a declared length.
 *
 * @module
 */

import { isValidWireCode } from "./close.ts";
import { unmask, unmaskAscii } from "./mask.ts";
import { Utf8Stream } from "./utf8_validator.ts";

/** Size limits of a {@linkcode FrameParser}, in bytes. */
export interface FrameLimits {
  /** Largest frame payload; a header declaring more fails with 1009. */
  maxFrameBytes: number;
  /** Largest message (all its fragments); more fails with 1009. */
  maxMessageBytes: number;
  /**
   * Parse the frames a server sends (unmasked; a masked one fails with
   * 1002) instead of a client's: for Palisade's own client side (the
   * reverse proxy's WebSocket bridge). Default false.
   */
  fromServer?: boolean;
}

/**
 * Receives what a {@linkcode FrameParser} parsed. Called synchronously from
 * `feed()`; the callbacks must not throw.
 */
export interface FrameSink {
  /** A complete text message, with its size in UTF-8 bytes. */
  text(data: string, bytes: number): void;
  /** A complete binary message, in a buffer of its own. */
  binary(data: Uint8Array): void;
  /** A ping; `payload` is a copy, at most 125 bytes. */
  ping(payload: Uint8Array): void;
  /** A pong; `payload` is a copy, at most 125 bytes. */
  pong(payload: Uint8Array): void;
  /** The peer's close frame: its code (1005 when absent) and reason. */
  close(code: number, reason: string): void;
}

/** Why parsing stopped on a broken rule: the close code to send and a reason. */
export interface FrameFailure {
  /** 1002, 1007 or 1009. */
  readonly code: number;
  /** Human-readable explanation, at most 123 bytes. */
  readonly reason: string;
}

/** Where a {@linkcode FrameParser} is. */
export type ParserState = "header" | "payload" | "closed" | "failed";

const OP_CONTINUATION = 0;
const OP_TEXT = 1;
const OP_BINARY = 2;
const OP_CLOSE = 8;
const OP_PING = 9;
const OP_PONG = 10;

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Short text is decoded in JS when it is ASCII: cheaper than a decoder call. */
const ASCII_MAX = 256;

/**
 * Parses client frames (or, with `fromServer`, server frames) fed in
 * arbitrary pieces. `feed()` unmasks payload bytes in place, so a chunk
 * must not be used by the caller afterwards.
 *
 * @example Usage
 * ```ts
 * import { FrameParser } from "./frame_parser.ts";
 * const got: string[] = [];
 * const parser = new FrameParser({
 *   text: (s) => got.push(s), binary() {}, ping() {}, pong() {}, close() {},
 * }, { maxFrameBytes: 1024, maxMessageBytes: 1024 });
 * // A masked text frame "Hi" (mask 0x01020304), fed in two pieces.
 * parser.feed(new Uint8Array([0x81, 0x82, 1, 2]));
 * parser.feed(new Uint8Array([3, 4, 0x48 ^ 1, 0x69 ^ 2]));
 * got; // ["Hi"]
 * ```
 */
export class FrameParser {
  #sink: FrameSink;
  #maxFrame: number;
  #maxMessage: number;
  /** Whether frames must be masked (from a client). */
  #masked: boolean;
  #state: ParserState = "header";
  #failure: FrameFailure | null = null;

  // The frame header being read (at most 14 bytes).
  #head = new Uint8Array(14);
  #headLen = 0;
  #headNeed = 2;

  // The current frame.
  #fin = false;
  #opcode = 0;
  #mask = new Uint8Array(4);
  #length = 0;
  #done = 0;

  // A control frame's payload, allocated on the first control frame.
  #control: Uint8Array | null = null;

  // The message being assembled: OP_TEXT / OP_BINARY, or 0 for none.
  #message = 0;
  #fragmented = false;
  #messageBytes = 0;
  #text = "";
  #utf8: Utf8Stream | null = null;
  #parts: Uint8Array[] = [];

  /** Creates a parser delivering to `sink`, enforcing `limits`. */
  constructor(sink: FrameSink, limits: FrameLimits) {
    this.#sink = sink;
    this.#maxFrame = limits.maxFrameBytes;
    this.#maxMessage = limits.maxMessageBytes;
    this.#masked = limits.fromServer !== true;
  }

  /** Where the parser is; `"closed"` after the peer's close frame. */
  get state(): ParserState {
    return this.#state;
  }

  /** The broken rule once `state` is `"failed"`, else null. */
  get failure(): FrameFailure | null {
    return this.#failure;
  }

  /**
   * Parses the first `length` bytes of `chunk` (default all), calling the
   * sink for everything they complete. Returns false once parsing has
   * ended (the peer's close frame, or a broken rule: see
   * {@linkcode FrameParser.failure}); bytes after that are ignored.
   */
  feed(chunk: Uint8Array, length: number = chunk.length): boolean {
    let pos = 0;
    while (pos < length) {
      if (this.#state === "header") pos = this.#readHeader(chunk, pos, length);
      else if (this.#state === "payload") {
        pos = this.#readPayload(chunk, pos, length);
      } else return false;
    }
    return this.#state === "header" || this.#state === "payload";
  }

  /** Copies header bytes from `chunk`; starts the frame once complete. */
  #readHeader(chunk: Uint8Array, pos: number, end: number): number {
    const head = this.#head;
    while (this.#headLen < this.#headNeed && pos < end) {
      head[this.#headLen++] = chunk[pos++];
      if (this.#headLen === 2 && !this.#checkStart(head[0], head[1])) {
        return end;
      }
    }
    if (this.#headLen < this.#headNeed) return pos;

    const len7 = head[1] & 0x7f;
    let at = 2;
    let length = len7;
    if (len7 === 126) {
      length = (head[2] << 8) | head[3];
      at = 4;
    } else if (len7 === 127) {
      const high = ((head[2] << 24) | (head[3] << 16) | (head[4] << 8) |
        head[5]) >>> 0;
      if (high >= 0x80000000) {
        this.#fail(1002, "Frame length has its most significant bit set");
        return end;
      }
      const low = ((head[6] << 24) | (head[7] << 16) | (head[8] << 8) |
        head[9]) >>> 0;
      length = high * 0x100000000 + low;
      at = 10;
    }
    if (this.#masked) {
      const mask = this.#mask;
      mask[0] = head[at];
      mask[1] = head[at + 1];
      mask[2] = head[at + 2];
      mask[3] = head[at + 3];
    } // else the mask stays all zeros: unmasking leaves the bytes as they are
    this.#headLen = 0;
    this.#headNeed = 2;

    if (this.#opcode < OP_CLOSE) {
      if (length > this.#maxFrame) {
        this.#fail(
          1009,
          `Frame of ${length} bytes exceeds the maxFrameBytes limit of ${this.#maxFrame}`,
        );
        return end;
      }
      if (this.#messageBytes + length > this.#maxMessage) {
        this.#fail(
          1009,
          `Message exceeds the maxMessageBytes limit of ${this.#maxMessage}`,
        );
        return end;
      }
      this.#messageBytes += length;
    }
    this.#length = length;
    this.#done = 0;
    if (length === 0) this.#endFrame();
    else this.#state = "payload";
    return pos;
  }

  /**
   * Checks the first two header bytes (everything but the length limits)
   * and sets how many header bytes the frame has; false when it failed.
   */
  #checkStart(b0: number, b1: number): boolean {
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) {
      return this.#fail(
        1002,
        "Reserved bits set without a negotiated extension",
      );
    }
    if (opcode >= OP_CLOSE) {
      if (opcode > OP_PONG) return this.#fail(1002, `Unknown opcode ${opcode}`);
      if (!fin) return this.#fail(1002, "Control frame is fragmented");
      if ((b1 & 0x7f) > 125) {
        return this.#fail(1002, "Control frame payload exceeds 125 bytes");
      }
    } else if (opcode === OP_CONTINUATION) {
      if (this.#message === 0) {
        return this.#fail(
          1002,
          "Continuation frame without a message to continue",
        );
      }
    } else if (opcode > OP_BINARY) {
      return this.#fail(1002, `Unknown opcode ${opcode}`);
    } else if (this.#message !== 0) {
      return this.#fail(1002, "New data frame inside a fragmented message");
    }
    if (((b1 & 0x80) !== 0) !== this.#masked) {
      return this.#fail(
        1002,
        this.#masked
          ? "Frame from the client is not masked"
          : "Frame from the server is masked",
      );
    }
    const len7 = b1 & 0x7f;
    this.#headNeed = (len7 === 126 ? 4 : len7 === 127 ? 10 : 2) +
      (this.#masked ? 4 : 0);
    this.#fin = fin;
    this.#opcode = opcode;
    if (opcode === OP_TEXT || opcode === OP_BINARY) {
      this.#message = opcode;
      this.#fragmented = !fin;
      this.#messageBytes = 0;
    }
    return true;
  }

  /** Takes the payload bytes of the current frame available in `chunk`. */
  #readPayload(chunk: Uint8Array, pos: number, end: number): number {
    const take = Math.min(this.#length - this.#done, end - pos);
    const opcode = this.#opcode;
    if (
      this.#done === 0 && take === this.#length && !this.#fragmented &&
      opcode !== OP_CONTINUATION && opcode < OP_CLOSE
    ) {
      // The common case: a whole unfragmented message in one read.
      this.#state = "header";
      this.#message = 0;
      if (opcode === OP_BINARY) {
        const data = chunk.slice(pos, pos + take);
        unmask(data, this.#mask, 0);
        this.#sink.binary(data);
        return pos + take;
      }
      let text = take <= ASCII_MAX
        ? unmaskAscii(chunk, pos, take, this.#mask)
        : null;
      if (text === null) {
        const piece = chunk.subarray(pos, pos + take);
        if (take > ASCII_MAX) unmask(piece, this.#mask, 0);
        try {
          text = fatal.decode(piece);
        } catch {
          this.#fail(1007, "Text message is not valid UTF-8");
          return end;
        }
      }
      this.#sink.text(text, take);
      return pos + take;
    }
    const piece = chunk.subarray(pos, pos + take);
    unmask(piece, this.#mask, this.#done & 3);
    this.#done += take;
    if (opcode >= OP_CLOSE) {
      (this.#control ??= new Uint8Array(125)).set(piece, this.#done - take);
    } else if (!this.#append(piece)) return end;
    if (this.#done === this.#length) this.#endFrame();
    return pos + take;
  }

  /** Adds a piece of a data frame to the message; false when it failed. */
  #append(piece: Uint8Array): boolean {
    if (this.#message === OP_TEXT) {
      const text = (this.#utf8 ??= new Utf8Stream()).push(piece);
      if (text === null) {
        return this.#fail(1007, "Text message is not valid UTF-8");
      }
      this.#text += text;
    } else this.#parts.push(piece.slice());
    return true;
  }

  /** Completes the current frame. */
  #endFrame(): void {
    this.#state = "header";
    const opcode = this.#opcode;
    if (opcode >= OP_CLOSE) {
      const payload = this.#length === 0
        ? new Uint8Array(0)
        : this.#control!.subarray(0, this.#length);
      if (opcode === OP_PING) this.#sink.ping(payload.slice());
      else if (opcode === OP_PONG) this.#sink.pong(payload.slice());
      else this.#endClose(payload);
      return;
    }
    if (!this.#fin) return;
    const bytes = this.#messageBytes;
    if (this.#message === OP_TEXT) {
      let text = this.#text;
      if (this.#utf8 !== null) {
        const tail = this.#utf8.end();
        if (tail === null) {
          this.#fail(1007, "Text message is not valid UTF-8");
          return;
        }
        text += tail;
      }
      this.#text = "";
      this.#message = 0;
      this.#fragmented = false;
      this.#sink.text(text, bytes);
      return;
    }
    const parts = this.#parts;
    this.#parts = [];
    this.#message = 0;
    this.#fragmented = false;
    if (parts.length === 1) {
      this.#sink.binary(parts[0]);
      return;
    }
    const data = new Uint8Array(bytes);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    this.#sink.binary(data);
  }

  /** Validates the peer's close payload and reports it. */
  #endClose(payload: Uint8Array): void {
    if (payload.length === 1) {
      this.#fail(1002, "Close frame with a 1-byte payload");
      return;
    }
    let code = 1005;
    let reason = "";
    if (payload.length >= 2) {
      code = (payload[0] << 8) | payload[1];
      if (!isValidWireCode(code)) {
        this.#fail(1002, `Invalid close code ${code}`);
        return;
      }
      try {
        reason = fatal.decode(payload.subarray(2));
      } catch {
        this.#fail(1007, "Close reason is not valid UTF-8");
        return;
      }
    }
    this.#state = "closed";
    this.#sink.close(code, reason);
  }

  #fail(code: number, reason: string): false {
    this.#state = "failed";
    this.#failure = { code, reason };
    this.#parts = [];
    this.#text = "";
    return false;
  }
}
