/**
 * A WebSocket tunnel on the h1 transport: after both 101s, the client's
 * connection (handed over by the engine) and the upstream's are joined
 * byte for byte, frames untouched (so the client and the upstream
 * negotiate extensions and close codes end to end). Each direction reads
 * only once its last write completed, so a slow reader stops the reads from
 * the other side (TCP backpressure) and a tunnel buffers at most one read
 * per direction. When either side's connection ends or fails, both are
 * closed.
 *
 * Frame headers are followed, not parsed into messages
 * ({@linkcode FrameWatch}): the side whose close frame passed first is the
 * one that closed (metrics), its code is the one logged, and a graceful
 * shutdown sends the client close 1001 between two frames, drops what the
 * upstream sends after that, and lets the client's answer reach the
 * upstream, which then closes. An idle tunnel's two sides each get close
 * 1001 before both connections are closed.
 *
 * @module
 */

import type { UpgradedSocket } from "../../transport/contract.ts";
import { encodeClose } from "../../transport/h1/websocket/frame_writer.ts";
import type { Families } from "../metrics.ts";
import type { TunnelEnd, Upstream } from "../upstreams.ts";
import type { UpstreamConn } from "../wire/conn.ts";
import { FrameWatch } from "./frame_watch.ts";
import { maskedClose } from "./frames.ts";
import { Tunnel, type Tunnels } from "./tunnel.ts";

/** Bytes read from the client at a time. */
const CLIENT_READ_BYTES = 16 * 1024;
/** Reported when the connection ended without a close frame. */
const ABNORMAL = 1006;
const GOING_AWAY = 1001;
const IDLE = "Idle timeout";

/** A byte tunnel between an h1 client connection and an upstream. */
export class RawTunnel extends Tunnel {
  #client: UpgradedSocket | null = null;
  /** Upstream-to-client frames, and client-to-upstream ones. */
  readonly #downFrames = new FrameWatch();
  readonly #upFrames = new FrameWatch();
  /** The side whose close frame passed first. */
  #first: "client" | "upstream" | null = null;
  /** Shutdown began: the client is to get close 1001 at the next boundary. */
  #goingAway = false;
  /** The proxy sent the client its close frame: later upstream bytes are dropped. */
  #closedClient = false;
  #downWriting = false;
  #upWriting = false;

  /** Accounts for a tunnel over `conn`, started by {@linkcode RawTunnel.start}. */
  constructor(
    set: Tunnels,
    conn: UpstreamConn,
    upstream: Upstream,
    families: Families | undefined,
  ) {
    super(set, conn, upstream, families);
  }

  /** Joins `client` to the upstream connection. */
  start(client: UpgradedSocket): void {
    this.#client = client;
    if (this.ended !== null) {
      client.close();
      return;
    }
    void this.#down(client);
    void this.#up(client);
  }

  /** Shutdown: close 1001 to the client between two frames. */
  override goingAway(): void {
    if (this.ended !== null || this.#goingAway) return;
    this.#goingAway = true;
    const client = this.#client;
    if (client === null) return this.close("shutdown");
    if (!this.#downWriting && this.#downFrames.atBoundary) {
      void this.#sayGoingAway(client);
    }
  }

  close(by: TunnelEnd): void {
    const first = this.#first;
    const end = this.#goingAway && (by === "client" || by === "upstream")
      ? "shutdown"
      : first ?? by;
    const code = this.#goingAway
      ? GOING_AWAY
      : first === "client"
      ? this.#upFrames.closeCode!
      : first === "upstream"
      ? this.#downFrames.closeCode!
      : ABNORMAL;
    if (!this.finish(end, code)) return;
    const client = this.#client;
    if (
      by === "idle" && client !== null && !this.#closedClient &&
      !this.#downWriting && !this.#upWriting &&
      this.#downFrames.atBoundary && this.#upFrames.atBoundary
    ) {
      // Nothing is passing: both sides get close 1001 before the TCP close.
      void this.#sayIdle(client);
      return;
    }
    client?.close();
    this.dispose();
  }

  async #sayIdle(client: UpgradedSocket): Promise<void> {
    this.#closedClient = true;
    await Promise.allSettled([
      client.write(encodeClose(GOING_AWAY, IDLE)),
      this.conn.write(maskedClose(GOING_AWAY, IDLE)),
    ]);
    client.close();
    this.dispose();
  }

  async #sayGoingAway(client: UpgradedSocket): Promise<void> {
    this.#closedClient = true;
    try {
      await client.write(encodeClose(GOING_AWAY, "Server shutting down"));
    } catch {
      this.close("client");
    }
  }

  /** Upstream to client: bytes already read past the 101 head first. */
  async #down(client: UpgradedSocket): Promise<void> {
    const c = this.conn;
    const buf = c.buf;
    const frames = this.#downFrames;
    let n: number | null = c.end - c.start;
    let at = c.start;
    c.start = c.end = 0;
    try {
      for (;;) {
        if (n > 0 && !this.#closedClient) {
          this.ticks = 0;
          const end = at + n;
          const stop = frames.feed(buf, at, end, this.#goingAway);
          if (frames.closeCode !== null) this.#first ??= "upstream";
          this.counts.bytesOut += stop - at;
          this.#downWriting = true;
          try {
            if (stop > at) await client.write(buf.subarray(at, stop));
          } catch {
            return this.close("client");
          } finally {
            this.#downWriting = false;
          }
          if (this.#goingAway && frames.atBoundary && !this.#closedClient) {
            await this.#sayGoingAway(client);
          }
        }
        if (this.ended !== null) return;
        n = await c.conn.read(buf);
        at = 0;
        if (n === null) break;
      }
    } catch { /* reset, or closed by the other direction */ }
    this.close("upstream");
  }

  /** Client to upstream. */
  async #up(client: UpgradedSocket): Promise<void> {
    const c = this.conn;
    const buf = new Uint8Array(CLIENT_READ_BYTES);
    const frames = this.#upFrames;
    try {
      for (;;) {
        const n = await client.read(buf);
        if (n === null) break;
        this.ticks = 0;
        this.counts.bytesIn += n;
        frames.feed(buf, 0, n);
        if (frames.closeCode !== null) this.#first ??= "client";
        this.#upWriting = true;
        try {
          await c.write(buf.subarray(0, n));
        } catch {
          return this.close("upstream");
        } finally {
          this.#upWriting = false;
        }
        if (this.ended !== null) return;
      }
    } catch { /* reset, or closed by the other direction */ }
    this.close("client");
  }
}
