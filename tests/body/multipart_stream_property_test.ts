/**
 * Properties of the streaming multipart parser: random valid bodies split
 * anywhere parse to their parts; mutated and random bodies only ever fail
 * with an HttpError (never another error, never a hang) and agree with the
 * buffering parser.
 */

import assert from "node:assert/strict";
import fc from "npm:fast-check@4";
import { parseMultipart } from "./_buffered_multipart.ts";
import { HttpError } from "../../src/http/errors.ts";
import {
  BIG,
  build,
  collect,
  enc,
  type Got,
  source,
  type Spec,
} from "./_multipart_helpers.ts";

const dec = new TextDecoder();

const nameArb = fc.string({
  unit: fc.constantFrom(..."abz_-. 09\u00e9\u6f22"),
  maxLength: 12,
});
const boundaryArb = fc.string({
  unit: fc.constantFrom(..."abcXYZ019'()+_,-./:=?"),
  minLength: 1,
  maxLength: 70,
});

/** Content that often looks almost like a delimiter. */
function contentArb(boundary: string): fc.Arbitrary<Uint8Array> {
  const pieces = [
    "\r",
    "\n",
    "\r\n",
    "-",
    "--",
    "\r\n-",
    "\r\n--",
    boundary,
    boundary.slice(0, -1),
    "x",
    "\0",
    "\u00ff",
  ];
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.array(fc.constantFrom(...pieces), { maxLength: 30 }).map((a) =>
      enc.encode(a.join(""))
    ),
  ).filter((bytes) =>
    !dec.decode(bytes).includes(`\r\n--${boundary}`) &&
    !dec.decode(bytes).startsWith(`--${boundary}`)
  );
}

const bodyArb = boundaryArb.chain((boundary) =>
  fc.record({
    boundary: fc.constant(boundary),
    parts: fc.array(
      fc.record({
        name: nameArb,
        file: fc.boolean(),
        filename: nameArb,
        content: contentArb(boundary),
      }),
      { maxLength: 6 },
    ),
    cuts: fc.array(fc.nat({ max: 2000 }), { maxLength: 20 }).map((a) =>
      [...a].sort((x, y) => x - y)
    ),
  })
);

Deno.test("property: random valid bodies, split anywhere, parse to their parts", async () => {
  await fc.assert(
    fc.asyncProperty(bodyArb, async ({ boundary, parts, cuts }) => {
      const specs: Spec[] = parts.map((p) =>
        p.file
          ? { name: p.name, filename: p.filename, content: p.content }
          : { name: p.name, content: dec.decode(p.content) }
      );
      const body = build(boundary, specs);
      const got = await collect(source(body, cuts).stream, boundary);
      assert.equal(got.length, specs.length);
      for (let i = 0; i < specs.length; i++) {
        assert.equal(got[i].name, specs[i].name);
        if (specs[i].filename === undefined) {
          assert.equal(got[i].value, specs[i].content);
        } else assert.deepEqual(got[i].content, specs[i].content);
      }
    }),
    { numRuns: 300 },
  );
});

const mutationArb: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({
      op: fc.constant("flip" as const),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({
      op: fc.constant("cut" as const),
      at: fc.nat(),
      len: fc.nat({ max: 40 }),
    }),
    fc.record({
      op: fc.constant("insert" as const),
      at: fc.nat(),
      text: fc.constantFrom(
        "\r\n",
        "--",
        "\r\n\r\n",
        ":",
        '"',
        ";",
        "\0",
        "Content-Disposition: form-data; name=x\r\n",
      ),
    }),
    fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  ),
  { minLength: 1, maxLength: 5 },
);

type Mutation =
  | { op: "flip"; at: number; byte: number }
  | { op: "cut"; at: number; len: number }
  | { op: "insert"; at: number; text: string }
  | { op: "truncate"; at: number };

function mutate(body: Uint8Array, ops: Mutation[]): Uint8Array {
  let b = body;
  for (const m of ops) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.op === "flip" && b.length > 0) {
      b = b.slice();
      b[at % b.length] = m.byte;
    } else if (m.op === "cut") {
      b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + m.len)]);
    } else if (m.op === "insert") {
      b = new Uint8Array([
        ...b.subarray(0, at),
        ...enc.encode(m.text),
        ...b.subarray(at),
      ]);
    } else if (m.op === "truncate") {
      b = b.subarray(0, at);
    }
  }
  return b;
}

Deno.test("property: mutated and random bodies only ever fail with HttpError, and never hang", async () => {
  const limits = {
    ...BIG,
    fileBytes: 64,
    fieldBytes: 64,
    files: 3,
    formFields: 5,
    partHeaderBytes: 200,
    bodyBytes: 4000,
  };
  await fc.assert(
    fc.asyncProperty(
      bodyArb,
      mutationArb,
      fc.boolean(),
      fc.uint8Array({ maxLength: 300 }),
      async ({ boundary, parts, cuts }, ops, random, noise) => {
        const specs: Spec[] = parts.map((p) =>
          p.file
            ? { name: p.name, filename: p.filename, content: p.content }
            : { name: p.name, content: p.content }
        );
        const body = random ? noise : mutate(build(boundary, specs), ops);
        let reports = 0;
        try {
          await collect(
            source(body, cuts).stream,
            boundary,
            limits,
            () => reports++,
          );
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          assert.ok(
            error.status === 400 || error.status === 413,
            String(error.status),
          );
          assert.ok(reports <= 1, "a rejection is reported at most once");
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("property: on mutated bodies it agrees with the buffering parser", async () => {
  await fc.assert(
    fc.asyncProperty(
      bodyArb,
      mutationArb,
      async ({ boundary, parts, cuts }, ops) => {
        const specs: Spec[] = parts.map((p) =>
          p.file
            ? { name: p.name, filename: p.filename, content: p.content }
            : { name: p.name, content: p.content }
        );
        const body = mutate(build(boundary, specs), ops);
        let bulk: [string, FormDataEntryValue][] | null;
        try {
          bulk = [...parseMultipart(body, boundary, 1000)];
        } catch {
          bulk = null;
        }
        let got: Got[] | null;
        try {
          got = await collect(source(body, cuts).stream, boundary);
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          got = null;
        }
        assert.equal(got === null, bulk === null, "both accept or both refuse");
        if (bulk === null || got === null) return;
        assert.equal(got.length, bulk.length);
        for (let i = 0; i < got.length; i++) {
          const entry: [string, FormDataEntryValue] = bulk[i];
          const [name, value] = entry;
          assert.equal(got[i].name, name);
          if (typeof value === "string") assert.equal(got[i].value, value);
          else {assert.deepEqual(
              got[i].content,
              new Uint8Array(await value.arrayBuffer()),
            );}
        }
      },
    ),
    { numRuns: 500 },
  );
});
