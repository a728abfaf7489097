/**
 * The h1 WebSocket session over an in-memory socket: read pausing for
 * pending async handlers, write coalescing and the slow-reader limit, and
 * silence detection, where a real network would make the timing vague.
 */

import assert from "node:assert/strict";
import type { UpgradedSocket } from "../../../../src/transport/contract.ts";
import { Heartbeat } from "../../../../src/transport/h1/websocket/heartbeat.ts";
import {
  MAX_PENDING_MESSAGES,
  type SessionOptions,
  WebSocketSession,
} from "../../../../src/transport/h1/websocket/session.ts";
import { concat, frame } from "./_raw_ws.ts";

/** A socket whose reads and writes the test controls. */
class FakeSocket implements UpgradedSocket {
  reads = 0;
  writes: Uint8Array[] = [];
  closed = false;
  /** When false, writes stay pending until `releaseWrites()`. */
  writable = true;
  #input: Uint8Array[] = [];
  #reader: ((n: number | null) => void) | null = null;
  #readBuf: Uint8Array | null = null;
  #blocked: (() => void)[] = [];

  read(buf: Uint8Array): Promise<number | null> {
    this.reads++;
    return new Promise((resolve) => {
      this.#reader = resolve;
      this.#readBuf = buf;
      this.#pump();
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    this.writes.push(bytes.slice());
    if (this.closed) return Promise.reject(new Error("closed"));
    if (this.writable) return Promise.resolve();
    return new Promise((resolve) => this.#blocked.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.deliver(null);
  }

  /** Makes `bytes` (or the end, for null) available to the next read. */
  deliver(bytes: Uint8Array | null): void {
    this.#input.push(bytes ?? new Uint8Array(0));
    this.#pump();
  }

  releaseWrites(): void {
    this.writable = true;
    for (const r of this.#blocked.splice(0)) r();
  }

  #pump(): void {
    const reader = this.#reader;
    if (reader === null || this.#input.length === 0) return;
    const next = this.#input.shift()!;
    this.#reader = null;
    if (next.length === 0) {
      reader(null);
      return;
    }
    const n = Math.min(next.length, this.#readBuf!.length);
    this.#readBuf!.set(next.subarray(0, n));
    if (n < next.length) this.#input.unshift(next.subarray(n));
    reader(n);
  }
}

const OPTIONS: SessionOptions = {
  maxFrameBytes: 1 << 20,
  maxMessageBytes: 1 << 20,
  maxBufferedBytes: 4096,
  heartbeat: null,
};

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("h1 websocket session: reading pauses while too many async handlers are pending", async () => {
  const socket = new FakeSocket();
  const release: (() => void)[] = [];
  let messages = 0;
  const session = new WebSocketSession(socket, {
    message() {
      messages++;
      return new Promise<void>((r) => release.push(r));
    },
    error() {},
    close() {},
  }, OPTIONS);
  session.start();
  const frames: Uint8Array[] = [];
  for (let i = 0; i < MAX_PENDING_MESSAGES + 6; i++) {
    frames.push(frame({ opcode: 1, payload: `${i}` }));
  }
  socket.deliver(concat(...frames));
  await tick();
  assert.equal(messages, MAX_PENDING_MESSAGES + 6);
  const readsWhilePaused = socket.reads;
  socket.deliver(frame({ opcode: 1, payload: "later" }));
  await tick();
  assert.equal(messages, MAX_PENDING_MESSAGES + 6, "no read while paused");
  assert.equal(socket.reads, readsWhilePaused);
  // Settle enough handlers: reading resumes.
  for (const r of release.splice(0, 10)) r();
  await tick();
  assert.equal(messages, MAX_PENDING_MESSAGES + 7);
  for (const r of release.splice(0)) r();
  session.terminate();
});

Deno.test("h1 websocket session: frames queued behind a pending write go out in one write", async () => {
  const socket = new FakeSocket();
  const session = new WebSocketSession(socket, {
    message() {},
    error() {},
    close() {},
  }, OPTIONS);
  session.start();
  socket.writable = false;
  session.sendText("a");
  session.sendText("b");
  session.sendBinary(new Uint8Array([1]));
  assert.equal(socket.writes.length, 1);
  assert.equal(session.bufferedAmount, 3 + 3 + 3);
  socket.releaseWrites();
  await tick();
  assert.equal(socket.writes.length, 2);
  assert.deepEqual([...socket.writes[1]], [0x81, 1, 0x62, 0x82, 1, 1]);
  assert.equal(session.bufferedAmount, 0);
  assert.deepEqual(session.stats, {
    messagesIn: 0,
    messagesOut: 3,
    bytesIn: 0,
    bytesOut: 3,
  });
  session.terminate();
});

Deno.test("h1 websocket session: a slow reader is failed with 1008 and its queue dropped", async () => {
  const socket = new FakeSocket();
  const errors: string[] = [];
  const closes: number[] = [];
  const session = new WebSocketSession(socket, {
    message() {},
    error: (m) => errors.push(m),
    close: (code) => closes.push(code),
  }, OPTIONS);
  session.start();
  socket.writable = false;
  const big = new Uint8Array(1000);
  session.sendBinary(big); // in flight
  for (let i = 0; i < 3; i++) session.sendBinary(big); // 4 × 1004 buffered: within 4096
  assert.equal(errors.length, 0);
  session.sendBinary(big); // 5 × 1004: over

  assert.match(errors[0], /Slow reader/);
  assert.equal(session.state, "closing");
  // Only the frame in flight and the close frame remain.
  assert.equal(session.bufferedAmount, 1004 + 4 + errors[0].length);
  session.sendBinary(big); // ignored now
  assert.equal(session.bufferedAmount, 1004 + 4 + errors[0].length);
  socket.releaseWrites();
  await tick();
  const close = socket.writes.at(-1)!;
  assert.equal(close[0], 0x88);
  assert.equal((close[2] << 8) | close[3], 1008);
  // The peer leaves: the close is reported with the failure's code.
  socket.deliver(null);
  await tick();
  assert.deepEqual(closes, [1008]);
  assert.ok(socket.closed);
});

Deno.test("h1 websocket session: silence gets one ping, continued silence drops the peer", async () => {
  const socket = new FakeSocket();
  const closes: [number, boolean][] = [];
  const errors: string[] = [];
  // A long heartbeat so only the manual beats below count.
  const heartbeat = new Heartbeat(1_000_000);
  const session = new WebSocketSession(socket, {
    message() {},
    error: (m) => errors.push(m),
    close: (code, _r, clean) => closes.push([code, clean]),
  }, { ...OPTIONS, heartbeat });
  session.start();
  session.beat(500_000); // data seen at start: resets
  session.beat(999_999);
  assert.equal(socket.writes.length, 0);
  session.beat(1);
  assert.deepEqual([...socket.writes[0]], [0x89, 0]); // ping
  // An answer resets the clock.
  socket.deliver(frame({ opcode: 10 }));
  await tick();
  session.beat(1_000_000);
  session.beat(1_000_000);
  assert.equal(socket.writes.length, 2); // a second ping, no drop
  session.beat(1_000_000);
  assert.deepEqual(closes, [[1006, false]]);
  assert.match(errors[0], /did not answer a ping/);
  assert.ok(socket.closed);
});
