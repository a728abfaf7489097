/**
 * Encodes the frames a server sends (RFC 6455 section 5.2): unmasked, final,
 * one frame per message (Palisade never fragments what it sends).
 *
 * @module
 */

import { utf8Length } from "../../../internal/text.ts";

/** Frame opcodes a server sends. */
export const Opcode = {
  text: 1,
  binary: 2,
  close: 8,
  ping: 9,
  pong: 10,
} as const;

const encoder = new TextEncoder();
/** Text whose worst-case UTF-8 size fits this is encoded via a scratch buffer. */
const SCRATCH_MAX = 192 * 1024;
let scratch = new Uint8Array(0);

/**
 * Small frames are carved from shared slabs (like Node's Buffer pool):
 * allocating an `ArrayBuffer` per frame costs more than the rest of
 * encoding it. A frame pins its slab until it is written, so a frame that
 * has to wait in a queue is detached first ({@linkcode ownBuffer}).
 */
const SLAB_BYTES = 8 * 1024;
const SLAB_MAX = 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

function alloc(n: number): Uint8Array {
  if (n > SLAB_MAX) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const buf = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return buf;
}

/**
 * `frame` in a buffer of its own: a copy when it is a view into a larger
 * buffer (a slab), so that keeping it does not keep the rest alive.
 *
 * @example Usage
 * ```ts
 * import { encodeText, ownBuffer } from "./frame_writer.ts";
 * ownBuffer(encodeText("hi")).buffer.byteLength; // 4
 * ```
 */
export function ownBuffer(frame: Uint8Array): Uint8Array {
  return frame.byteLength === frame.buffer.byteLength ? frame : frame.slice();
}

function headerSize(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/** Writes a FIN frame header for `length` bytes ending exactly at `end`. */
function writeHeader(
  buf: Uint8Array,
  end: number,
  opcode: number,
  length: number,
): number {
  const start = end - headerSize(length);
  buf[start] = 0x80 | opcode;
  if (length < 126) buf[start + 1] = length;
  else if (length < 0x10000) {
    buf[start + 1] = 126;
    buf[start + 2] = length >>> 8;
    buf[start + 3] = length & 0xff;
  } else {
    buf[start + 1] = 127;
    const high = Math.floor(length / 0x100000000);
    buf[start + 2] = 0;
    buf[start + 3] = 0;
    buf[start + 4] = (high >>> 8) & 0xff;
    buf[start + 5] = high & 0xff;
    buf[start + 6] = length >>> 24;
    buf[start + 7] = (length >>> 16) & 0xff;
    buf[start + 8] = (length >>> 8) & 0xff;
    buf[start + 9] = length & 0xff;
  }
  return start;
}

/**
 * Encodes one frame carrying `payload` (copied).
 *
 * @example Usage
 * ```ts
 * import { encodeFrame, Opcode } from "./frame_writer.ts";
 * encodeFrame(Opcode.binary, new Uint8Array([1, 2])); // [0x82, 2, 1, 2]
 * ```
 */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const size = headerSize(payload.length);
  const buf = alloc(size + payload.length);
  writeHeader(buf, size, opcode, payload.length);
  buf.set(payload, size);
  return buf;
}

/**
 * Encodes a text frame, writing the UTF-8 bytes of `text` straight into
 * the frame buffer.
 *
 * @example Usage
 * ```ts
 * import { encodeText } from "./frame_writer.ts";
 * encodeText("hi"); // [0x81, 2, 0x68, 0x69]
 * ```
 */
export function encodeText(text: string): Uint8Array {
  const length = text.length;
  if (length < 126) {
    // Short ASCII text: copied in JS, cheaper than an encoder call.
    const buf = alloc(2 + length);
    buf[0] = 0x80 | Opcode.text;
    buf[1] = length;
    let i = 0;
    for (; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      buf[2 + i] = c;
    }
    if (i === length) return buf;
  }
  if (length * 3 <= SCRATCH_MAX) {
    // Encode into a scratch buffer sized for the worst case (3 bytes per
    // UTF-16 unit), then copy the exact bytes behind the header.
    if (scratch.length < length * 3) scratch = new Uint8Array(length * 3);
    const n = encoder.encodeInto(text, scratch).written;
    const size = headerSize(n);
    const buf = alloc(size + n);
    writeHeader(buf, size, Opcode.text, n);
    buf.set(scratch.subarray(0, n), size);
    return buf;
  }
  const n = utf8Length(text);
  const size = headerSize(n);
  const buf = new Uint8Array(size + n);
  writeHeader(buf, size, Opcode.text, n);
  encoder.encodeInto(text, buf.subarray(size));
  return buf;
}

/**
 * Encodes a close frame: empty when `code` is undefined, else the code and
 * the UTF-8 `reason` (the caller keeps it within 123 bytes).
 *
 * @example Usage
 * ```ts
 * import { encodeClose } from "./frame_writer.ts";
 * encodeClose(1000, ""); // [0x88, 2, 0x03, 0xe8]
 * ```
 */
export function encodeClose(
  code: number | undefined,
  reason: string,
): Uint8Array {
  if (code === undefined) return new Uint8Array([0x80 | Opcode.close, 0]);
  const text = encoder.encode(reason);
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return encodeFrame(Opcode.close, payload);
}
