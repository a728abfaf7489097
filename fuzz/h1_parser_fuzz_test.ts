/**
 * Property-based fuzzing of the h1 request parser.
 *
 * - Generated valid requests (pipelined, with Content-Length and chunked
 *   bodies, extensions and trailers) parse to exactly what was generated,
 *   whatever the read boundaries.
 * - Byte mutations of valid requests and random bytes only ever end in
 *   parsed requests, a ParseError or "need more bytes"; every call makes
 *   progress; and the outcome (including the error status) does not depend
 *   on the read boundaries.
 *
 * Runs `PALISADE_FUZZ_RUNS` cases per property (default 300; `deno task
 * fuzz` sets 200000).
 */

import assert from "node:assert/strict";
import fc from "npm:fast-check@4";
import {
  ParseError,
  type ParserLimits,
  RequestParser,
} from "../src/transport/h1/parser/parser.ts";

function fuzzRuns(): number {
  try {
    const v = Number(Deno.env.get("PALISADE_FUZZ_RUNS"));
    return Number.isSafeInteger(v) && v > 0 ? v : 300;
  } catch {
    return 300;
  }
}

const RUNS = fuzzRuns();

const LIMITS: ParserLimits = {
  urlBytes: 8192,
  headerBytes: 16384,
  headerCount: 100,
};
const TIGHT: ParserLimits = {
  urlBytes: 24,
  headerBytes: 96,
  headerCount: 5,
  chunkExtensionBytes: 24,
  methodBytes: 8,
};

// ------------------------------------------------------------- harness

interface Parsed {
  method: string;
  target: string;
  version: number;
  headers: string[];
  body: string;
  trailers: string[] | null;
}

interface Outcome {
  messages: Parsed[];
  status: number | null;
  reason: string | null;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Cuts `buf` at the given fractions of its length. */
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

/**
 * Feeds the chunks, checking that every call makes progress, and returns
 * what was parsed. Anything thrown other than a ParseError fails the run.
 */
function drive(chunks: Uint8Array[], limits: ParserLimits): Outcome {
  const p = new RequestParser(limits);
  const messages: Parsed[] = [];
  let body = "";
  let total = 0;
  let calls = 0;
  for (const c of chunks) total += c.length;
  const budget = 2 * total + 2 * chunks.length + 4;
  try {
    for (const c of chunks) {
      let off = 0;
      let stalled = 0;
      for (;;) {
        if (++calls > budget) throw new Error("Parser made no progress");
        const ev = p.next(c, off);
        if (p.offset < off || p.offset > c.length) {
          throw new Error(`Offset went from ${off} to ${p.offset}`);
        }
        // Only "end" may consume nothing (right after a bodyless head), so
        // two events in a row without progress would be a stall.
        stalled = p.offset === off && ev !== "more" ? stalled + 1 : 0;
        if (stalled > 1) {
          throw new Error("Parser returned events without progress");
        }
        off = p.offset;
        if (ev === "more") {
          if (off !== c.length) throw new Error("more before the end of input");
          break;
        }
        if (ev === "head") body = "";
        else if (ev === "data") {
          if (p.data.length === 0) throw new Error("Empty data event");
          body += latin1(p.data);
        } else {
          const h = p.head!;
          messages.push({
            method: h.method,
            target: h.target,
            version: h.version,
            headers: h.headers,
            body,
            trailers: p.trailers,
          });
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return { messages, status: err.status, reason: err.reason };
  }
  return { messages, status: null, reason: null };
}

// ---------------------------------------------------------- generators

const TCHARS =
  "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const tchar = fc.constantFrom(...TCHARS);
const token = (max: number) =>
  fc.string({ unit: tchar, minLength: 1, maxLength: max });

const targetChar = fc.integer({ min: 0x21, max: 0x7e })
  .filter((c) => c !== 0x23)
  .map((c) => String.fromCharCode(c));
const target = fc.string({ unit: targetChar, maxLength: 40 }).map((s) =>
  "/" + s
);

// Field values: VCHAR / obs-text with single inner SP/HTAB, trimmed ends.
const vchar = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
).map((c) => String.fromCharCode(c));
const fieldValue = fc.array(
  fc.tuple(
    fc.constantFrom("", " ", "\t"),
    fc.string({ unit: vchar, minLength: 1, maxLength: 8 }),
  ),
  { maxLength: 4 },
).map((parts) => parts.map(([ws, v], i) => (i === 0 ? v : ws + v)).join(""));
const ows = fc.constantFrom("", " ", "\t", "  ");

const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "expect",
]);
const field = fc.record({
  name: token(16).filter((n) => !RESERVED.has(n.toLowerCase())),
  value: fieldValue,
  pre: ows,
  post: ows,
});

const extension = fc.oneof(
  token(6).map((n) => `;${n}`),
  fc.tuple(token(6), token(6)).map(([n, v]) => ` ; ${n}=${v}`),
  fc.tuple(
    token(6),
    fc.string({ unit: fc.constantFrom("a", " ", '\\"', ";"), maxLength: 6 }),
  )
    .map(([n, v]) => `;${n}="${v}"`),
);

const chunkedBody = fc.record({
  chunks: fc.array(
    fc.record({
      data: fc.uint8Array({ minLength: 1, maxLength: 40 }),
      ext: fc.option(extension, { nil: undefined }),
      upper: fc.boolean(),
    }),
    { maxLength: 4 },
  ),
  lastExt: fc.option(extension, { nil: undefined }),
  trailers: fc.array(field, { maxLength: 3 }),
});

const request = fc.record({
  method: fc.oneof(
    fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"),
    token(8),
  ).filter((m) => m !== "CONNECT"),
  target,
  http10: fc.boolean(),
  lf: fc.boolean(),
  leading: fc.constantFrom("", "", "\r\n", "\n"),
  host: fc.constantFrom("example.com", "a:8080", "[::1]:1", "127.0.0.1"),
  hostAt: fc.nat(),
  fields: fc.array(field, { maxLength: 6 }),
  body: fc.oneof(
    fc.constant(null),
    fc.uint8Array({ maxLength: 60 }),
    chunkedBody,
  ),
});

type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** Serializes a generated request and returns what it must parse to. */
function serialize(r: Req): { wire: string; expect: Parsed } {
  const eol = r.lf ? "\n" : "\r\n";
  const chunked = r.body !== null && !(r.body instanceof Uint8Array) &&
    !r.http10;
  const lines: [string, string, string][] = r.fields.map((
    f,
  ) => [f.name, f.value, `${f.name}:${f.pre}${f.value}${f.post}`]);
  const host: [string, string, string] = ["Host", r.host, `Host: ${r.host}`];
  if (!r.http10 || r.hostAt % 2 === 0) {
    lines.splice(r.hostAt % (lines.length + 1), 0, host);
  }
  let body = "";
  let trailers: string[] | null = null;
  let wireBody = "";
  if (r.body instanceof Uint8Array) {
    body = latin1(r.body);
    lines.push([
      "Content-Length",
      String(body.length),
      `Content-Length: ${body.length}`,
    ]);
    wireBody = body;
  } else if (r.body !== null && chunked) {
    lines.push(["Transfer-Encoding", "chunked", "Transfer-Encoding: chunked"]);
    for (const c of r.body.chunks) {
      const size = c.data.length.toString(16);
      const d = latin1(c.data);
      body += d;
      wireBody += `${c.upper ? size.toUpperCase() : size}${
        c.ext ?? ""
      }\r\n${d}\r\n`;
    }
    wireBody += `0${r.body.lastExt ?? ""}\r\n`;
    for (const t of r.body.trailers) {
      wireBody += `${t.name}:${t.pre}${t.value}${t.post}\r\n`;
    }
    wireBody += "\r\n";
    if (r.body.trailers.length > 0) {
      trailers = r.body.trailers.flatMap((
        t,
      ) => [t.name.toLowerCase(), t.value]);
    }
  }
  const version = r.http10 ? "HTTP/1.0" : "HTTP/1.1";
  const wire = r.leading + `${r.method} ${r.target} ${version}${eol}` +
    lines.map((l) => l[2] + eol).join("") + eol + wireBody;
  return {
    wire,
    expect: {
      method: r.method,
      target: r.target,
      version: r.http10 ? 0 : 1,
      headers: lines.flatMap((l) => [l[0].toLowerCase(), l[1]]),
      body,
      trailers,
    },
  };
}

const pipeline = fc.array(request, { minLength: 1, maxLength: 4 });
const fractions = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
  maxLength: 12,
});

// ---------------------------------------------------------- properties

Deno.test("fuzz: valid requests parse as generated, whatever the splits", () => {
  fc.assert(
    fc.property(pipeline, fractions, (reqs, cuts) => {
      const parts = reqs.map(serialize);
      const wire = bytes(parts.map((p) => p.wire).join(""));
      const expected = parts.map((p) => p.expect);
      const whole = drive([wire], LIMITS);
      assert.equal(
        whole.status,
        null,
        `refused with ${whole.status} ${whole.reason}`,
      );
      assert.deepEqual(whole.messages, expected);
      assert.deepEqual(drive(cut(wire, cuts), LIMITS), whole);
    }),
    { numRuns: RUNS },
  );
});

const mutation = fc.record({
  op: fc.constantFrom("flip", "set", "insert", "delete"),
  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  byte: fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x3b, 0x30, 0x2c, 0x22, 0x00),
  ),
});

function mutate(
  buf: Uint8Array,
  ms: { op: string; at: number; byte: number }[],
): Uint8Array {
  const b = [...buf];
  for (const m of ms) {
    const i = Math.floor(m.at * b.length);
    if (m.op === "flip" && b.length > 0) b[i] ^= 1 << (m.byte & 7);
    else if (m.op === "set" && b.length > 0) b[i] = m.byte;
    else if (m.op === "insert") b.splice(i, 0, m.byte);
    else if (m.op === "delete") b.splice(i, 1);
  }
  return Uint8Array.from(b);
}

Deno.test("fuzz: mutated requests end in requests, a ParseError or need-more", () => {
  fc.assert(
    fc.property(
      pipeline,
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      fractions,
      fc.boolean(),
      (reqs, ms, cuts, tight) => {
        const wire = mutate(
          bytes(reqs.map((r) => serialize(r).wire).join("")),
          ms,
        );
        const limits = tight ? TIGHT : LIMITS;
        const whole = drive([wire], limits);
        assert.deepEqual(drive(cut(wire, cuts), limits), whole);
        assert.deepEqual(
          drive(cut(wire, cuts.map((f) => 1 - f)), limits),
          whole,
        );
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("fuzz: random bytes never escape as anything but ParseError", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.string({
          unit: fc.constantFrom(
            "GET",
            " ",
            "/",
            "HTTP/1.1",
            "\r\n",
            ":",
            "a",
            "0",
            ";",
            "\n",
            "\r",
          ),
          maxLength: 60,
        }).map(bytes),
      ),
      fractions,
      (wire, cuts) => {
        const whole = drive([wire], TIGHT);
        assert.deepEqual(drive(cut(wire, cuts), TIGHT), whole);
      },
    ),
    { numRuns: RUNS },
  );
});
