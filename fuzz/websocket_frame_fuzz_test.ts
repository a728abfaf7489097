/**
 * Property-based fuzzing of the WebSocket frame parser of the h1 engine.
 *
 * - Generated valid streams (text with any code points, binary, random
 *   fragmentation, pings and pongs between fragments, random masks, all
 *   three length encodings, an optional close) parse to exactly what was
 *   generated, whatever the read boundaries.
 * - A valid stream followed by one frame breaking a known rule delivers
 *   every message before it, then fails with that rule's close code.
 * - Byte mutations of valid streams and random bytes never throw out of
 *   the parser, end in messages then at most one outcome (a close or a
 *   failure with 1002, 1007 or 1009), and do not depend on the read
 *   boundaries.
 *
 * Runs `PALISADE_FUZZ_RUNS` cases per property (default 300; `deno task
 * fuzz` sets 200000).
 */

import assert from "node:assert/strict";
import fc from "npm:fast-check@4";
import {
  type FrameLimits,
  FrameParser,
} from "../src/transport/h1/websocket/frame_parser.ts";
import {
  closePayload,
  concat,
  frame,
  type FrameSpec,
} from "../tests/transport/h1/websocket/_raw_ws.ts";

function fuzzRuns(): number {
  try {
    const v = Number(Deno.env.get("PALISADE_FUZZ_RUNS"));
    return Number.isSafeInteger(v) && v > 0 ? v : 300;
  } catch {
    return 300;
  }
}

const RUNS = fuzzRuns();
const LIMITS: FrameLimits = { maxFrameBytes: 70_000, maxMessageBytes: 100_000 };
const encoder = new TextEncoder();

// ------------------------------------------------------------- harness

type Event =
  | { kind: "text"; data: string; bytes: number }
  | { kind: "binary"; data: number[] }
  | { kind: "ping" | "pong"; data: number[] }
  | { kind: "close"; code: number; reason: string };

interface Outcome {
  events: Event[];
  /** The failure code, or null. */
  failure: number | null;
  state: string;
}

/** Cuts `buf` at the given fractions of its length (copies: feed() unmasks in place). */
function cut(buf: Uint8Array, fractions: number[]): Uint8Array[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * buf.length)))]
    .filter((p) => p > 0 && p < buf.length)
    .sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.slice(prev, p));
    prev = p;
  }
  out.push(buf.slice(prev));
  return out;
}

/** Feeds `chunks`, recording what the parser reports; anything thrown fails the run. */
function drive(chunks: Uint8Array[], limits: FrameLimits = LIMITS): Outcome {
  const events: Event[] = [];
  const parser = new FrameParser({
    text: (data, bytes) => events.push({ kind: "text", data, bytes }),
    binary: (data) => events.push({ kind: "binary", data: [...data] }),
    ping: (p) => events.push({ kind: "ping", data: [...p] }),
    pong: (p) => events.push({ kind: "pong", data: [...p] }),
    close: (code, reason) => events.push({ kind: "close", code, reason }),
  }, limits);
  for (const c of chunks) {
    const more = parser.feed(c);
    assert.equal(more, parser.state === "header" || parser.state === "payload");
    if (!more) break;
  }
  const failure = parser.failure?.code ?? null;
  if (failure !== null) {
    assert.equal(parser.state, "failed");
    assert.ok(encoder.encode(parser.failure!.reason).length <= 123);
  }
  return { events, failure, state: parser.state };
}

// ---------------------------------------------------------- generators

const maskKey = fc.array(fc.integer({ min: 0, max: 255 }), {
  minLength: 4,
  maxLength: 4,
});
const lengthForm = fc.constantFrom("minimal", "minimal", "long");

/** Any string of code points (no lone surrogates: WebSocket text is UTF-8). */
const anyText = fc.string({ unit: "grapheme", maxLength: 40 });
const bigText = fc.integer({ min: 126, max: 3000 }).map((n) => "é".repeat(n));
const binaryData = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.integer({ min: 65_536, max: 66_000 }).map((n) =>
    new Uint8Array(n).fill(0xab)
  ),
);

/** Splits `bytes` into 1..4 fragments at random points. */
const fragmentsOf = (bytes: Uint8Array) =>
  fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 3 }).map(
    (points) => {
      const sorted = [...new Set(points)].sort((a, b) => a - b);
      const out: Uint8Array[] = [];
      let prev = 0;
      for (const p of sorted) {
        out.push(bytes.slice(prev, p));
        prev = p;
      }
      out.push(bytes.slice(prev));
      return out;
    },
  );

interface Msg {
  expected: Event[];
  frames: FrameSpec[];
}

const control = fc.record({
  kind: fc.constantFrom("ping" as const, "pong" as const),
  data: fc.uint8Array({ maxLength: 125 }),
});

/** One message, fragmented, with control frames interleaved between fragments. */
const message: fc.Arbitrary<Msg> = fc.oneof(
  fc.oneof(anyText, bigText).map((s) => ({
    kind: "text" as const,
    s,
    bytes: encoder.encode(s),
  })),
  binaryData.map((b) => ({ kind: "binary" as const, s: "", bytes: b })),
).chain((m) =>
  fc.tuple(
    fragmentsOf(m.bytes),
    fc.array(fc.option(control, { nil: undefined }), {
      minLength: 4,
      maxLength: 4,
    }),
    fc.array(maskKey, { minLength: 8, maxLength: 8 }),
    fc.array(lengthForm, { minLength: 8, maxLength: 8 }),
  ).map(([parts, controls, keys, forms]) => {
    const frames: FrameSpec[] = [];
    const expected: Event[] = [];
    parts.forEach((payload, i) => {
      frames.push({
        opcode: i === 0 ? (m.kind === "text" ? 1 : 2) : 0,
        fin: i === parts.length - 1,
        payload,
        maskKey: keys[i],
        long: forms[i] === "long",
      });
      const c = controls[i];
      if (c !== undefined && i < parts.length - 1) {
        frames.push({
          opcode: c.kind === "ping" ? 9 : 10,
          payload: c.data,
          maskKey: keys[4 + i],
        });
        expected.push({ kind: c.kind, data: [...c.data] });
      }
    });
    expected.push(
      m.kind === "text"
        ? { kind: "text", data: m.s, bytes: m.bytes.length }
        : { kind: "binary", data: [...m.bytes] },
    );
    return { frames, expected };
  })
);

const validClose = fc.record({
  code: fc.oneof(
    fc.constantFrom(
      1000,
      1001,
      1002,
      1003,
      1007,
      1008,
      1009,
      1010,
      1011,
      1012,
      1013,
      1014,
    ),
    fc.integer({ min: 3000, max: 4999 }),
  ),
  reason: fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
});

const stream = fc.record({
  messages: fc.array(message, { maxLength: 6 }),
  close: fc.option(validClose, { nil: undefined }),
});

function encode(frames: FrameSpec[]): Uint8Array {
  return concat(...frames.map(frame));
}

const splits = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
  maxLength: 12,
});

// ---------------------------------------------------------- properties

Deno.test("fuzz websocket: valid streams parse to what was sent, at any read boundaries", () => {
  fc.assert(
    fc.property(stream, splits, (s, fractions) => {
      const frames = s.messages.flatMap((m) => m.frames);
      const expected = s.messages.flatMap((m) => m.expected);
      if (s.close !== undefined) {
        frames.push({
          opcode: 8,
          payload: closePayload(s.close.code, s.close.reason),
        });
        expected.push({
          kind: "close",
          code: s.close.code,
          reason: s.close.reason,
        });
      }
      const out = drive(cut(encode(frames), fractions));
      assert.equal(out.failure, null);
      assert.deepEqual(out.events, expected);
      assert.equal(out.state, s.close === undefined ? "header" : "closed");
    }),
    { numRuns: RUNS },
  );
});

/** Frames that break one rule, with the close code the rule requires. */
const badFrame: fc.Arbitrary<{ bytes: Uint8Array; code: number }> = fc.oneof(
  fc.constant({
    bytes: frame({ opcode: 1, payload: "x", masked: false }),
    code: 1002,
  }),
  fc.integer({ min: 1, max: 7 }).map((rsv) => ({
    bytes: frame({ opcode: 2, rsv }),
    code: 1002,
  })),
  fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15).map((opcode) => ({
    bytes: frame({ opcode }),
    code: 1002,
  })),
  fc.constantFrom(8, 9, 10).map((opcode) => ({
    bytes: frame({ opcode, fin: false }),
    code: 1002,
  })),
  fc.integer({ min: 126, max: 300 }).map((n) => ({
    bytes: frame({ opcode: 9, payload: new Uint8Array(n) }),
    code: 1002,
  })),
  fc.constant({ bytes: frame({ opcode: 0, payload: "c" }), code: 1002 }),
  fc.constant({
    bytes: concat(
      frame({ opcode: 1, fin: false, payload: "a" }),
      frame({ opcode: 2 }),
    ),
    code: 1002,
  }),
  fc.constantFrom(
    [0xff],
    [0xc0, 0x80],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xe2, 0x82],
    [0x80],
  ).map((b) => ({
    bytes: frame({ opcode: 1, payload: new Uint8Array([0x61, ...b]) }),
    code: 1007,
  })),
  fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535).map((
    c,
  ) => ({
    bytes: frame({ opcode: 8, payload: closePayload(c) }),
    code: 1002,
  })),
  fc.constant({
    bytes: frame({ opcode: 8, payload: new Uint8Array([3]) }),
    code: 1002,
  }),
  fc.constant({
    bytes: frame({
      opcode: 8,
      payload: closePayload(1000, new Uint8Array([0xff])),
    }),
    code: 1007,
  }),
  fc.constant({
    bytes: frame({ opcode: 2, declaredLength: 1n << 63n, long: true }),
    code: 1002,
  }),
  fc.bigInt({ min: 70_001n, max: (1n << 63n) - 1n }).map((n) => ({
    bytes: frame({ opcode: 2, declaredLength: n, long: true }),
    code: 1009,
  })),
  fc.constant({
    bytes: concat(
      frame({ opcode: 2, fin: false, payload: new Uint8Array(60_000) }),
      frame({ opcode: 0, declaredLength: 40_001 }),
    ),
    code: 1009,
  }),
);

Deno.test("fuzz websocket: a rule broken after valid messages fails with that rule's code", () => {
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 4 }),
      badFrame,
      splits,
      (msgs, bad, fractions) => {
        const bytes = concat(encode(msgs.flatMap((m) => m.frames)), bad.bytes);
        const out = drive(cut(bytes, fractions));
        const expected = msgs.flatMap((m) => m.expected);
        assert.deepEqual(out.events.slice(0, expected.length), expected);
        assert.equal(out.failure, bad.code);
      },
    ),
    { numRuns: RUNS },
  );
});

const mutation = fc.oneof(
  fc.record({
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    byte: fc.integer({ min: 0, max: 255 }),
    op: fc.constant("set" as const),
  }),
  fc.record({
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    byte: fc.integer({ min: 0, max: 255 }),
    op: fc.constant("insert" as const),
  }),
  fc.record({
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    byte: fc.constant(0),
    op: fc.constant("delete" as const),
  }),
);

function mutate(
  bytes: Uint8Array,
  ms: { at: number; byte: number; op: string }[],
): Uint8Array {
  const arr = [...bytes];
  for (const m of ms) {
    const i = Math.min(arr.length, Math.floor(m.at * arr.length));
    if (m.op === "set" && i < arr.length) arr[i] = m.byte;
    else if (m.op === "insert") arr.splice(i, 0, m.byte);
    else if (m.op === "delete" && i < arr.length) arr.splice(i, 1);
  }
  return new Uint8Array(arr);
}

Deno.test("fuzz websocket: mutated and random input never throws and does not depend on read boundaries", () => {
  const input = fc.oneof(
    fc.tuple(stream, fc.array(mutation, { minLength: 1, maxLength: 4 })).map((
      [s, ms],
    ) => mutate(encode(s.messages.flatMap((m) => m.frames)), ms)),
    fc.uint8Array({ maxLength: 300 }),
  );
  fc.assert(
    fc.property(input, splits, splits, (bytes, a, b) => {
      const tight = { maxFrameBytes: 1000, maxMessageBytes: 1500 };
      for (const limits of [LIMITS, tight]) {
        const one = drive(cut(bytes, a), limits);
        const two = drive(cut(bytes, b), limits);
        assert.deepEqual(one, two);
        const whole = drive([bytes.slice()], limits);
        assert.deepEqual(whole, one);
        if (one.failure !== null) {
          assert.ok([1002, 1007, 1009].includes(one.failure));
        }
        const closes = one.events.filter((e) => e.kind === "close");
        assert.ok(closes.length <= 1);
        if (closes.length === 1) {
          assert.equal(one.events.at(-1)?.kind, "close");
          assert.equal(one.state, "closed");
        }
        for (const e of one.events) {
          if (e.kind === "text") assert.ok(e.bytes <= limits.maxMessageBytes);
          if (e.kind === "binary") {
            assert.ok(e.data.length <= limits.maxMessageBytes);
          }
        }
      }
    }),
    { numRuns: RUNS },
  );
});
