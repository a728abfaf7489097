import assert from "node:assert/strict";
import { FrameWatch } from "../../src/proxy/websocket/frame_watch.ts";
import {
  maskedClose,
  maskedFrame,
  maskedText,
  Op,
} from "../../src/proxy/websocket/frames.ts";
import { FrameParser } from "../../src/transport/h1/websocket/frame_parser.ts";
import {
  encodeClose,
  encodeFrame,
  encodeText,
} from "../../src/transport/h1/websocket/frame_writer.ts";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("proxy frames: masked client frames parse back through the server parser", () => {
  const got: unknown[] = [];
  const parser = new FrameParser({
    text: (s) => got.push(s),
    binary: (b) => got.push([...b]),
    ping() {},
    pong: (p) => got.push(["pong", [...p]]),
    close: (code, reason) => got.push(["close", code, reason]),
  }, { maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20 });
  const long = "ü".repeat(40_000); // 80 000 bytes: a 64-bit length
  const bytes = concat([
    maskedText("hi"),
    maskedFrame(Op.binary, new Uint8Array(300).fill(7)),
    maskedText(long),
    maskedFrame(Op.pong, new Uint8Array([1, 2])),
    maskedClose(4000, "é".repeat(100)), // 200 bytes, cut to 122 at a char
  ]);
  // Two frames with the same payload get different masks.
  const a = maskedText("same");
  const b = maskedText("same");
  assert.notDeepEqual(a.subarray(2), b.subarray(2));
  assert.equal(parser.feed(bytes), false); // stops at the close frame
  assert.equal(got[0], "hi");
  assert.deepEqual(got[1], new Array(300).fill(7));
  assert.equal(got[2], long);
  assert.deepEqual(got[3], ["pong", [1, 2]]);
  assert.deepEqual(got[4], ["close", 4000, "é".repeat(61)]);
  assert.equal(parser.failure, null);
});

Deno.test("proxy frames: the parser in fromServer mode takes unmasked frames and refuses masked ones", () => {
  const got: string[] = [];
  const sink = {
    text: (s: string) => got.push(s),
    binary() {},
    ping() {},
    pong() {},
    close() {},
  };
  const limits = {
    maxFrameBytes: 1024,
    maxMessageBytes: 1024,
    fromServer: true,
  };
  const parser = new FrameParser(sink, limits);
  assert.equal(parser.feed(encodeText("from the server")), true);
  assert.deepEqual(got, ["from the server"]);
  const strict = new FrameParser(sink, limits);
  assert.equal(strict.feed(maskedText("masked")), false);
  assert.deepEqual(strict.failure, {
    code: 1002,
    reason: "Frame from the server is masked",
  });
});

Deno.test("proxy frames: FrameWatch finds every boundary and the first close code, fed byte by byte or whole", () => {
  const frames = [
    encodeText("a"),
    encodeFrame(Op.binary, new Uint8Array(70_000)),
    maskedFrame(Op.binary, new Uint8Array(200)),
    maskedClose(4321, "bye"),
    encodeClose(1000, ""),
  ];
  const ends: number[] = [];
  let at = 0;
  for (const f of frames) ends.push(at += f.length);
  const bytes = concat(frames);

  const whole = new FrameWatch();
  assert.equal(whole.feed(bytes, 0, bytes.length), bytes.length);
  assert.equal(whole.closeCode, 4321);
  assert.equal(whole.atBoundary, true);

  const split = new FrameWatch();
  const seen: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    split.feed(bytes, i, i + 1);
    if (split.atBoundary) seen.push(i + 1);
  }
  assert.deepEqual(seen, ends);
  assert.equal(split.closeCode, 4321);

  // With stop, feed returns the next boundary and follows no further.
  const stopping = new FrameWatch();
  assert.equal(stopping.feed(bytes, 0, bytes.length, true), 0);
  stopping.feed(bytes, 0, 5);
  assert.equal(stopping.feed(bytes, 5, bytes.length, true), ends[1]);
  assert.equal(stopping.closeCode, null);
});

Deno.test("proxy frames: an empty close frame reads as 1005", () => {
  const w = new FrameWatch();
  const f = maskedClose(null, "");
  w.feed(f, 0, f.length);
  assert.equal(w.closeCode, 1005);
});
