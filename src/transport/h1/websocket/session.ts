/**
 * One server-side WebSocket connection over a socket the h1 engine handed
 * over after its 101 response: reads and parses client frames, answers
 * pings, writes messages with bounded buffering, detects silent peers, and
 * runs the close handshake.
 *
 * States (`SessionState`): `"open"` until either side sends a close frame,
 * `"closing"` while the handshake or a failure runs its course, `"closed"`
 * once the TCP connection is closed and the close has been reported (once).
 *
 * - Peer closes first: the close is echoed with the same code, then the
 *   server closes TCP (RFC 6455 section 7.1.1: the server closes first).
 * - Server closes first (`close()`, shutdown's 1001): the peer's close is
 *   awaited for at most {@linkcode CLOSE_TIMEOUT_MS}, then TCP is closed;
 *   data messages arriving meanwhile are dropped.
 * - The peer breaks a rule: a close frame with 1002, 1007 or 1009 is sent,
 *   input is discarded (at most {@linkcode DISCARD_LIMIT} bytes, at most
 *   {@linkcode CLOSE_TIMEOUT_MS}) until the peer's close or EOF, so the
 *   peer reads the close frame instead of a reset; then TCP is closed.
 * - Write backpressure: `bufferedAmount` counts frame bytes not yet written
 *   to the socket. A frame that has to wait behind a pending write while
 *   more than `maxBufferedBytes` are buffered fails the connection with
 *   1008 (slow reader) instead of growing memory; nothing more is queued.
 * - Silence: with a heartbeat, a peer silent for the idle timeout gets a
 *   ping, and one that stays silent as long again is disconnected
 *   (reported as 1006).
 * - Handlers that return promises: while more than
 *   {@linkcode MAX_PENDING_MESSAGES} of them are unsettled, reading
 *   pauses (TCP backpressure), so a client cannot queue unbounded work.
 *
 * @module
 */

import type { UpgradedSocket } from "../../contract.ts";
import { CloseCode } from "./close.ts";
import { FrameParser, type FrameSink } from "./frame_parser.ts";
import {
  encodeClose,
  encodeFrame,
  encodeText,
  Opcode,
  ownBuffer,
} from "./frame_writer.ts";
import type { Heartbeat, HeartbeatMember } from "./heartbeat.ts";

/** How long the server waits for the peer's close frame (or EOF), in ms. */
export const CLOSE_TIMEOUT_MS = 5_000;
/** Most bytes read and dropped after failing a connection. */
export const DISCARD_LIMIT = 64 * 1024;
/** Unsettled promise-returning message handlers before reading pauses. */
export const MAX_PENDING_MESSAGES = 64;

const READ_SMALL = 1024;
const READ_LARGE = 64 * 1024;

/** Where a {@linkcode WebSocketSession} is. */
export type SessionState = "open" | "closing" | "closed";

/** What a session reports to the layer above it. */
export interface SessionEvents {
  /**
   * A message: a string for text, an `ArrayBuffer` for binary; `bytes` is
   * its payload size. A returned promise counts as pending work until it
   * settles (it must not reject: the caller reports its own errors).
   */
  message(data: string | ArrayBuffer, bytes: number): unknown;
  /** The connection failed (protocol error, slow reader, silent peer, I/O). */
  error(message: string): void;
  /** The connection is closed; called exactly once, last. */
  close(code: number, reason: string, wasClean: boolean): void;
}

/** Settings of a session, validated by the caller. */
export interface SessionOptions {
  /** Largest frame payload accepted, in bytes. */
  maxFrameBytes: number;
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** Most bytes buffered for writing before the peer is dropped as a slow reader. */
  maxBufferedBytes: number;
  /** Silence detection, or null for none. */
  heartbeat: Heartbeat | null;
}

/** Counters of a session, for metrics and the access log. */
export interface SessionStats {
  /** Messages received. */
  messagesIn: number;
  /** Messages sent. */
  messagesOut: number;
  /** Payload bytes of the messages received. */
  bytesIn: number;
  /** Payload bytes of the messages sent. */
  bytesOut: number;
}

/**
 * A WebSocket connection over an {@linkcode UpgradedSocket}. Call
 * {@linkcode WebSocketSession.start} once the 101 response is written.
 *
 * @example Usage
 * ```ts ignore
 * const session = new WebSocketSession(socket, {
 *   message: (data) => session.sendText(String(data)),
 *   error: (message) => console.error(message),
 *   close: (code) => console.log("closed", code),
 * }, { maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20, maxBufferedBytes: 1 << 20, heartbeat: null });
 * session.start();
 * ```
 */
export class WebSocketSession implements HeartbeatMember {
  /** Message and byte counters. */
  readonly stats: SessionStats = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  #socket: UpgradedSocket;
  #events: SessionEvents;
  #parser: FrameParser;
  #maxBuffered: number;
  #heartbeat: Heartbeat | null;
  #state: SessionState = "open";

  // Writing.
  #queue: Uint8Array[] = [];
  #buffered = 0;
  #writing = false;
  /** Size of the write in progress. */
  #inflight = 0;
  /** Close TCP once the queue is written (after echoing the peer's close). */
  #closeAfterWrite = false;

  // Closing.
  /** Set once the peer broke a rule or was dropped: input is discarded. */
  #failed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #final: { code: number; reason: string; wasClean: boolean } | null = null;

  // Silence detection and read pausing.
  #heard = true;
  #silentMs = 0;
  #pinged = false;
  #pending = 0;
  #resume: (() => void) | null = null;

  /** Wraps `socket`; nothing is read until {@linkcode WebSocketSession.start}. */
  constructor(
    socket: UpgradedSocket,
    events: SessionEvents,
    options: SessionOptions,
  ) {
    this.#socket = socket;
    this.#events = events;
    this.#maxBuffered = options.maxBufferedBytes;
    this.#heartbeat = options.heartbeat;
    this.#parser = new FrameParser(this.#sink, options);
  }

  /** Where the session is. */
  get state(): SessionState {
    return this.#state;
  }

  /** Bytes of frames handed to the session and not yet written to the socket. */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** Starts reading and silence detection. */
  start(): void {
    if (this.#state === "open") this.#heartbeat?.add(this);
    this.#readLoop();
  }

  /** Sends a text message; dropped unless the session is open. */
  sendText(text: string): void {
    if (this.#state !== "open") return;
    const frame = encodeText(text);
    this.stats.messagesOut++;
    this.stats.bytesOut += payloadSize(frame);
    this.#enqueue(frame);
  }

  /** Sends a binary message (copied); dropped unless the session is open. */
  sendBinary(data: Uint8Array): void {
    if (this.#state !== "open") return;
    this.stats.messagesOut++;
    this.stats.bytesOut += data.length;
    this.#enqueue(encodeFrame(Opcode.binary, data));
  }

  /** Sends a ping (at most 125 bytes of payload); dropped unless open. */
  ping(payload: Uint8Array = EMPTY): void {
    if (this.#state !== "open") return;
    this.#enqueue(encodeFrame(Opcode.ping, payload));
  }

  /**
   * Starts the close handshake with `code` (undefined: a close frame
   * without code) and `reason`, both validated by the caller; the peer's
   * close is awaited for at most {@linkcode CLOSE_TIMEOUT_MS}. No effect
   * unless open.
   */
  close(code: number | undefined, reason: string): void {
    if (this.#state !== "open") return;
    this.#state = "closing";
    this.#heartbeat?.delete(this);
    this.#enqueue(encodeClose(code, reason));
    this.#armTimer();
  }

  /** Closes the TCP connection now, without a handshake (reported as 1006). */
  terminate(): void {
    if (this.#state === "closed") return;
    this.#finish(CloseCode.abnormal, "", false);
  }

  /** Heartbeat callback. */
  beat(stepMs: number): void {
    if (this.#heard || this.#resume !== null) {
      this.#heard = false;
      this.#silentMs = 0;
      this.#pinged = false;
      return;
    }
    this.#silentMs += stepMs;
    const timeout = this.#heartbeat!.timeoutMs;
    if (this.#silentMs < timeout) return;
    this.#silentMs = 0;
    if (!this.#pinged) {
      this.#pinged = true;
      this.ping();
      return;
    }
    this.#events.error(
      `WebSocket peer did not answer a ping within the idleTimeoutMs of ${timeout} ms`,
    );
    // A peer this silent is gone: close without a handshake.
    this.#finish(CloseCode.abnormal, "", false);
  }

  // ---- reading ----

  async #readLoop(): Promise<void> {
    const socket = this.#socket;
    const small = new Uint8Array(READ_SMALL);
    let buf = small;
    let discarded = 0;
    for (;;) {
      if (this.#pending >= MAX_PENDING_MESSAGES) {
        await new Promise<void>((resolve) => this.#resume = resolve);
        this.#resume = null;
        this.#heard = true;
      }
      if (this.#isClosed()) return;
      let n: number | null;
      try {
        n = await socket.read(buf);
      } catch {
        n = null;
      }
      if (this.#isClosed()) return;
      if (n === null) {
        this.#onEof();
        return;
      }
      this.#heard = true;
      if (this.#failed) {
        discarded += n;
        if (discarded > DISCARD_LIMIT || endsWithClose(buf, n)) {
          this.#finishFailure();
          return;
        }
        continue;
      }
      if (!this.#parser.feed(buf, n)) {
        const failure = this.#parser.failure;
        if (failure === null) return; // the peer's close frame: nothing more to read
        this.#fail(failure.code, failure.reason);
        if (endsWithClose(buf, n)) {
          this.#finishFailure();
          return;
        }
        continue;
      }
      // Big reads: use a big buffer until the reads get small again.
      if (n === buf.length && buf === small) buf = new Uint8Array(READ_LARGE);
      else if (n < READ_SMALL && buf !== small) buf = small;
    }
  }

  /** Whether the session closed (a method, so it is re-read after awaits). */
  #isClosed(): boolean {
    return this.#state === "closed";
  }

  #onEof(): void {
    if (this.#failed) this.#finishFailure();
    else this.#finish(CloseCode.abnormal, "", false);
  }

  #sink: FrameSink = {
    text: (data, bytes) => this.#deliver(data, bytes),
    binary: (data) => this.#deliver(data.buffer as ArrayBuffer, data.length),
    ping: (payload) => {
      if (this.#state === "open") {
        this.#enqueue(encodeFrame(Opcode.pong, payload));
      }
    },
    pong: () => {},
    close: (code, reason) => this.#onPeerClose(code, reason),
  };

  #deliver(data: string | ArrayBuffer, bytes: number): void {
    if (this.#state !== "open") return; // closing: late messages are dropped
    this.stats.messagesIn++;
    this.stats.bytesIn += bytes;
    const result = this.#events.message(data, bytes);
    if (result instanceof Promise) {
      this.#pending++;
      result.then(this.#settled, this.#settled);
    }
  }

  #settled = (): void => {
    this.#pending--;
    if (this.#resume !== null && this.#pending < MAX_PENDING_MESSAGES) {
      this.#resume();
    }
  };

  #onPeerClose(code: number, reason: string): void {
    if (this.#state === "open") {
      // Echo the code, then close TCP once it is written.
      this.#state = "closing";
      this.#heartbeat?.delete(this);
      this.#final = { code, reason, wasClean: true };
      this.#closeAfterWrite = true;
      this.#enqueue(
        encodeClose(code === CloseCode.noStatus ? undefined : code, reason),
      );
      this.#armTimer();
      return;
    }
    // The answer to our close.
    this.#finish(code, reason, true);
  }

  // ---- failing ----

  /** The peer broke a rule or is dropped: send `code`, discard input, then close. */
  #fail(code: number, reason: string): void {
    if (this.#state === "closed" || this.#failed) return;
    const wasOpen = this.#state === "open";
    this.#failed = true;
    this.#state = "closing";
    this.#heartbeat?.delete(this);
    this.#final = { code, reason, wasClean: false };
    this.#events.error(reason);
    // Frames not yet started will not matter any more: only the close goes.
    for (const frame of this.#queue) this.#buffered -= frame.length;
    this.#queue = [];
    if (wasOpen) this.#enqueue(encodeClose(code, reason));
    this.#armTimer();
  }

  #finishFailure(): void {
    const f = this.#final;
    this.#finish(f?.code ?? CloseCode.abnormal, f?.reason ?? "", false);
  }

  #armTimer(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#failed) this.#finishFailure();
      else this.#finish(CloseCode.abnormal, "", false);
    }, CLOSE_TIMEOUT_MS);
  }

  /** Closes TCP and reports the close, once. */
  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#heartbeat?.delete(this);
    this.#queue = [];
    this.#resume?.();
    try {
      this.#socket.close();
    } catch { /* already closed */ }
    this.#events.close(code, reason, wasClean);
  }

  // ---- writing ----

  #enqueue(frame: Uint8Array): void {
    this.#buffered += frame.length;
    if (!this.#writing) {
      this.#write(frame);
      return;
    }
    this.#queue.push(ownBuffer(frame));
    if (this.#buffered > this.#maxBuffered && !this.#failed) {
      this.#fail(
        CloseCode.policy,
        `Slow reader: more than the maxBufferedBytes of ${this.#maxBuffered} buffered`,
      );
    }
  }

  /** Starts writing `bytes`; frames enqueued meanwhile wait in the queue. */
  #write(bytes: Uint8Array): void {
    this.#writing = true;
    this.#inflight = bytes.length;
    this.#socket.write(bytes).then(this.#written, this.#writeFailed);
  }

  #written = (): void => {
    this.#buffered -= this.#inflight;
    this.#writing = false;
    if (this.#isClosed()) return;
    const queue = this.#queue;
    if (queue.length > 0) {
      this.#queue = [];
      this.#write(
        queue.length === 1 ? queue[0] : concat(queue, this.#buffered),
      );
      return;
    }
    if (this.#closeAfterWrite && this.#state === "closing") {
      const f = this.#final!;
      this.#finish(f.code, f.reason, f.wasClean);
    }
  };

  #writeFailed = (): void => {
    this.#writing = false;
    if (this.#isClosed()) return;
    if (this.#failed) this.#finishFailure();
    else if (this.#closeAfterWrite) {
      const f = this.#final!;
      this.#finish(f.code, f.reason, f.wasClean);
    } else {
      this.#events.error("WebSocket connection lost while writing");
      this.#finish(CloseCode.abnormal, "", false);
    }
  };
}

const EMPTY = new Uint8Array(0);

/** Payload size of an encoded server frame. */
function payloadSize(frame: Uint8Array): number {
  const len7 = frame[1] & 0x7f;
  return frame.length - (len7 < 126 ? 2 : len7 === 126 ? 4 : 10);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Whether the first `n` bytes of `chunk` end with a complete masked close frame: how a failed
 * connection notices the peer's answer to its close without parsing the
 * frames in between (their boundaries are lost once a rule was broken).
 */
function endsWithClose(chunk: Uint8Array, n: number): boolean {
  for (let len = 0; len <= 125 && len + 6 <= n; len++) {
    const at = n - len - 6;
    if (chunk[at] === 0x88 && chunk[at + 1] === (0x80 | len)) return true;
  }
  return false;
}
