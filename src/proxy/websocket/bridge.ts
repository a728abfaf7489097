/**
 * A WebSocket tunnel on the deno transport, where `Deno.upgradeWebSocket`
 * gives a `WebSocket`, not the connection's bytes: the proxy ends the
 * protocol on both sides and relays messages — Deno's socket to the
 * client, and Palisade's own client side (masked frames out, the h1
 * engine's frame parser in `fromServer` mode) to the upstream.
 *
 * - Text, binary and close codes pass through; pings are answered on each
 *   side (Deno answers the client's, the proxy the upstream's); no
 *   extension is negotiated on either side.
 * - Upstream to client has backpressure: once Deno holds more than
 *   `maxBufferedBytes` unsent for the client, the proxy stops reading the
 *   upstream until it is under half of that.
 * - Client to upstream cannot: Deno delivers messages with no way to pause
 *   them, so the proxy queues them for the upstream and, once more than
 *   `maxBufferedBytes` wait, closes the client with 1008 and drops the
 *   upstream connection.
 * - A message over `maxMessageBytes` either way closes both: 1009 to a
 *   client that sent it, 1011 to a client whose upstream sent it (or any
 *   other broken frame).
 * - An upstream that closes without a close frame gets its client closed
 *   with 1011.
 *
 * @module
 */

import {
  FrameParser,
  type FrameSink,
} from "../../transport/h1/websocket/frame_parser.ts";
import { isValidWireCode } from "../../transport/h1/websocket/close.ts";
import { utf8Length } from "../../internal/text.ts";
import type { Families } from "../metrics.ts";
import type { TunnelEnd, Upstream } from "../upstreams.ts";
import type { UpstreamConn } from "../wire/conn.ts";
import { maskedClose, maskedFrame, maskedText, Op } from "./frames.ts";
import { Tunnel, type Tunnels } from "./tunnel.ts";

/** How long the upstream gets to close after the proxy's close frame. */
const CLOSE_WAIT_MS = 1_000;
/** How often a paused relay checks whether the client caught up. */
const DRAIN_POLL_MS = 5;
/** Close code for failures on the upstream's side. */
const UPSTREAM_FAILED = 1011;
const GOING_AWAY = 1001;

/** Limits of a bridge. */
export interface BridgeLimits {
  maxMessageBytes: number;
  maxBufferedBytes: number;
}

/** Relays messages between a Deno WebSocket and an upstream connection. */
export class Bridge extends Tunnel {
  readonly #socket: WebSocket;
  readonly #parser: FrameParser;
  readonly #limits: BridgeLimits;
  /** Frames waiting to be written upstream, and their bytes. */
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  /** The proxy sent (or queued) the upstream its close frame. */
  #closeSent = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  /** Bridges `socket` (not open yet) and `conn` (past its 101 head). */
  constructor(
    set: Tunnels,
    conn: UpstreamConn,
    upstream: Upstream,
    families: Families | undefined,
    socket: WebSocket,
    limits: BridgeLimits,
  ) {
    super(set, conn, upstream, families);
    this.#socket = socket;
    this.#limits = limits;
    const sink: FrameSink = {
      text: (data, bytes) => this.#toClient(data, bytes),
      binary: (data) => this.#toClient(data, data.length),
      ping: (payload) => {
        if (!this.#closeSent) this.#send(maskedFrame(Op.pong, payload));
      },
      pong: () => {},
      close: (code, reason) => this.#upstreamClosed(code, reason),
    };
    this.#parser = new FrameParser(sink, {
      maxFrameBytes: limits.maxMessageBytes,
      maxMessageBytes: limits.maxMessageBytes,
      fromServer: true,
    });
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.opened();
      void this.#down();
    };
    socket.onmessage = (e) => this.#fromClient(e.data);
    socket.onclose = (e) => this.#clientClosed(e.code, e.reason);
    socket.onerror = () => {}; // onclose follows
  }

  /** Idle timeout and shutdown: 1001 to both sides. */
  close(by: TunnelEnd): void {
    const reason = by === "idle" ? "Idle timeout" : "Server shutting down";
    if (!this.finish(by, GOING_AWAY)) return;
    this.#closeClient(GOING_AWAY, reason);
    this.#closeUpstream(GOING_AWAY, reason);
  }

  override dispose(): void {
    clearTimeout(this.#closeTimer);
    super.dispose();
  }

  // The client side.

  #fromClient(data: string | ArrayBuffer): void {
    if (this.ended !== null) return;
    this.ticks = 0;
    const text = typeof data === "string";
    const bytes = text ? utf8Length(data) : data.byteLength;
    const max = this.#limits.maxMessageBytes;
    if (bytes > max) {
      if (!this.finish("error", 1009)) return;
      this.#closeClient(
        1009,
        `Message exceeds the maxMessageBytes limit of ${max}`,
      );
      this.#closeUpstream(GOING_AWAY, "");
      return;
    }
    this.counts.messagesIn++;
    this.counts.bytesIn += bytes;
    this.#send(
      text ? maskedText(data) : maskedFrame(Op.binary, new Uint8Array(data)),
    );
  }

  #clientClosed(code: number, reason: string): void {
    this.opened();
    if (!this.finish("client", code)) return;
    // 1005 (no code) becomes an empty close frame; 1006 (the client
    // vanished) has no frame to pass on: the upstream sees the TCP close.
    if (code === 1006) this.dispose();
    else this.#closeUpstream(isValidWireCode(code) ? code : null, reason);
  }

  #closeClient(code: number, reason: string): void {
    try {
      if (code === 1005) this.#socket.close();
      else this.#socket.close(code, reason);
    } catch { /* closing already */ }
  }

  // The upstream side.

  /** Queues `frame` for the upstream; too much waiting closes both. */
  #send(frame: Uint8Array): void {
    if (this.conn.closed) return;
    this.#queue.push(frame);
    this.#queued += frame.length;
    const max = this.#limits.maxBufferedBytes;
    if (this.#queued > max) {
      if (this.finish("error", 1008)) {
        this.#closeClient(
          1008,
          `Upstream reads too slowly: more than the maxBufferedBytes of ${max} waiting`,
        );
      }
      this.dispose();
      return;
    }
    if (!this.#writing) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const frame = this.#queue[0];
        await this.conn.write(frame);
        this.#queue.shift();
        this.#queued -= frame.length;
      }
    } catch {
      this.#writing = false;
      this.#upstreamGone();
      return;
    }
    this.#writing = false;
    if (this.#closeSent && this.#closeTimer === undefined) {
      // Close sent: the upstream closes the connection, or is cut.
      this.#closeTimer = setTimeout(() => this.dispose(), CLOSE_WAIT_MS);
    }
  }

  /** Sends the upstream a close frame (once), then waits for its close. */
  #closeUpstream(code: number | null, reason: string): void {
    if (this.#closeSent || this.conn.closed) return;
    this.#closeSent = true;
    this.#send(maskedClose(code, reason));
  }

  /** The upstream connection ended or failed. */
  #upstreamGone(): void {
    if (this.finish("upstream", UPSTREAM_FAILED)) {
      this.#closeClient(UPSTREAM_FAILED, "The upstream connection closed");
    }
    this.dispose();
  }

  /** The upstream's close frame: passed on, answered, then its TCP close awaited. */
  #upstreamClosed(code: number, reason: string): void {
    if (this.finish("upstream", code)) this.#closeClient(code, reason);
    this.#closeUpstream(code === 1005 ? null : code, reason);
  }

  /** Reads the upstream, starting with what followed its 101 head. */
  async #down(): Promise<void> {
    const c = this.conn;
    const parser = this.#parser;
    try {
      for (;;) {
        if (c.buffered > 0) {
          this.ticks = 0;
          // After its close frame (or a failure) the rest is dropped.
          const live = parser.state === "header" || parser.state === "payload";
          const ok = live && parser.feed(c.buf.subarray(c.start, c.end));
          c.start = c.end;
          if (live && !ok && parser.failure !== null) {
            if (this.finish("error", UPSTREAM_FAILED)) {
              this.#closeClient(
                UPSTREAM_FAILED,
                "The upstream sent an invalid frame",
              );
            }
            this.#closeUpstream(parser.failure.code, parser.failure.reason);
          }
          await this.#drain();
        }
        if (c.closed || !(await c.fill())) break;
      }
    } catch { /* reset, or disposed */ }
    this.#upstreamGone();
  }

  /** Waits while Deno holds more than the limit for the client. */
  async #drain(): Promise<void> {
    const max = this.#limits.maxBufferedBytes;
    const socket = this.#socket;
    if (socket.bufferedAmount <= max) return;
    while (
      socket.bufferedAmount > max / 2 &&
      socket.readyState === WebSocket.OPEN && !this.conn.closed
    ) {
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    }
  }

  #toClient(data: string | Uint8Array, bytes: number): void {
    if (this.ended !== null) return;
    this.counts.messagesOut++;
    this.counts.bytesOut += bytes;
    this.#socket.send(data);
  }
}
