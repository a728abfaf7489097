/**
 * Server frames as encoded by the h1 WebSocket writer: every length form,
 * text of any size and script, close frames, and frames carved from the
 * shared slab staying intact.
 */

import assert from "node:assert/strict";
import {
  encodeClose,
  encodeFrame,
  encodeText,
  Opcode,
  ownBuffer,
} from "../../../../src/transport/h1/websocket/frame_writer.ts";

/** Decodes one unmasked server frame that fills `frame` exactly. */
function decode(frame: Uint8Array): { opcode: number; payload: Uint8Array } {
  assert.equal(frame[0] & 0xf0, 0x80, "FIN set, no reserved bits");
  assert.equal(frame[1] & 0x80, 0, "not masked");
  let len = frame[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    len = (frame[2] << 8) | frame[3];
    at = 4;
    assert.ok(len >= 126, "minimal length encoding");
  } else if (len === 127) {
    len = Number(
      new DataView(frame.buffer, frame.byteOffset + 2, 8).getBigUint64(0),
    );
    at = 10;
    assert.ok(len >= 0x10000, "minimal length encoding");
  }
  assert.equal(frame.length, at + len, "frame length matches its header");
  return { opcode: frame[0] & 0x0f, payload: frame.subarray(at) };
}

const encoder = new TextEncoder();

Deno.test("h1 websocket writer: text of every size and script round-trips", () => {
  const texts = [
    "",
    "a",
    "x".repeat(125),
    "x".repeat(126),
    "é",
    "héllo 𝄞 ✓",
    "€".repeat(125),
    "y".repeat(0xffff),
    "z".repeat(0x10000),
    "日本".repeat(40_000), // beyond the scratch buffer
  ];
  for (const text of texts) {
    const { opcode, payload } = decode(encodeText(text));
    assert.equal(opcode, Opcode.text);
    assert.deepEqual(payload, encoder.encode(text), `${text.length} units`);
  }
});

Deno.test("h1 websocket writer: binary frames at the length-form boundaries", () => {
  for (const n of [0, 1, 125, 126, 1000, 1025, 0xffff, 0x10000, 200_000]) {
    const data = new Uint8Array(n).map((_, i) => i * 31);
    const { opcode, payload } = decode(encodeFrame(Opcode.binary, data));
    assert.equal(opcode, Opcode.binary);
    assert.deepEqual(payload, data);
  }
});

Deno.test("h1 websocket writer: close frames carry the code and UTF-8 reason", () => {
  assert.deepEqual([...encodeClose(undefined, "")], [0x88, 0]);
  const { opcode, payload } = decode(encodeClose(4001, "déjà"));
  assert.equal(opcode, Opcode.close);
  assert.equal((payload[0] << 8) | payload[1], 4001);
  assert.equal(new TextDecoder().decode(payload.subarray(2)), "déjà");
});

Deno.test("h1 websocket writer: slab frames do not overlap; ownBuffer detaches them", () => {
  const frames = Array.from({ length: 2000 }, (_, i) => encodeText(`m${i}`));
  frames.forEach((f, i) =>
    assert.equal(new TextDecoder().decode(decode(f).payload), `m${i}`)
  );
  const own = ownBuffer(frames[0]);
  assert.equal(own.buffer.byteLength, own.length);
  assert.deepEqual(own, frames[0]);
  const big = encodeFrame(Opcode.binary, new Uint8Array(5000));
  assert.equal(
    ownBuffer(big),
    big,
    "a frame with a buffer of its own is not copied",
  );
});
