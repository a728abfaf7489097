/**
 * Property: no JSON, urlencoded, multipart or random body, under any
 * Content-Type string and Content-Length, makes a body reader fail with
 * anything but a 4xx HttpError, nor makes the App answer 5xx.
 *
 * Bounded by PALISADE_FUZZ_RUNS (default 300) so it runs in `deno task test`;
 * `deno task fuzz` runs it long.
 */

import fc from "npm:fast-check@4";
import { App } from "../src/app/app.ts";
import { Body } from "../src/body/body.ts";
import { HttpError } from "../src/http/errors.ts";
import { DEFAULT_LIMITS, resolveLimits } from "../src/http/limits.ts";

function numRuns(): number {
  try {
    const value = Number(Deno.env.get("PALISADE_FUZZ_RUNS"));
    return Number.isSafeInteger(value) && value > 0 ? value : 300;
  } catch {
    return 300; // no --allow-env
  }
}

const RUNS = numRuns();
const enc = new TextEncoder();

/** Strings made of the characters that matter to a media type parser. */
const mediaTypeNoise = fc.string({
  unit: fc.constantFrom(
    ...'aAjJ/+;="\\ \t,.-_*xyz09()<>@:?{}[]\u00e9',
  ),
  maxLength: 40,
});

const knownTypes = fc.constantFrom(
  "application/json",
  "APPLICATION/JSON",
  "application/json ; charset=utf-8",
  "application/json\t",
  "application/problem+json",
  "application/jsonx",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "text/plain",
  "application/",
  ";",
  "a/b; x",
  'a/b; x="unterminated',
  "application/json garbage",
);

const boundaryArb = fc.string({
  unit: fc.constantFrom(..."abcXYZ019'()+_,-./:=? "),
  minLength: 1,
  maxLength: 72,
});

/** A Content-Type that is a valid header value (no NUL/CR/LF, Latin-1). */
const contentTypeArb: fc.Arbitrary<string | null> = fc.oneof(
  knownTypes,
  boundaryArb.map((b) => `multipart/form-data; boundary="${b}"`),
  boundaryArb.map((b) => `multipart/form-data; boundary=${b}`),
  fc.tuple(knownTypes, mediaTypeNoise).map(([t, n]) => t + n),
  mediaTypeNoise,
  fc.constant(null),
);

/** Any string, for sources that bypass `Headers` (NUL and all). */
const rawContentTypeArb = fc.oneof(
  contentTypeArb,
  fc.string({ maxLength: 30, unit: "binary" }),
);

interface Part {
  name: string;
  value: string;
  filename: string | undefined;
  type: string | undefined;
}

interface FuzzLimits {
  bodyBytes: number;
  jsonDepth: number;
  formFields: number;
}

const partArb: fc.Arbitrary<Part> = fc.record({
  name: fc.string({ maxLength: 10 }),
  value: fc.string({ maxLength: 40 }),
  filename: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
  type: fc.option(fc.oneof(knownTypes, mediaTypeNoise), { nil: undefined }),
});

function multipartBody(
  boundary: string,
  parts: Part[],
): string {
  let out = "";
  for (const p of parts) {
    out += `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) out += `; filename="${p.filename}"`;
    out += "\r\n";
    if (p.type !== undefined) out += `Content-Type: ${p.type}\r\n`;
    out += `\r\n${p.value}\r\n`;
  }
  return out + `--${boundary}--\r\n`;
}

/** Random byte edits (truncate, overwrite, insert); none half of the time. */
const mutationsArb: fc.Arbitrary<[number, number, number][]> = fc.oneof(
  fc.constant<[number, number, number][]>([]),
  fc.array(
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)),
    { minLength: 1, maxLength: 4 },
  ),
);

function mutate(
  bytes: Uint8Array,
  edits: [number, number, number][],
): Uint8Array {
  let out = bytes;
  for (const [at, byte, kind] of edits) {
    if (out.length === 0) break;
    const i = at % out.length;
    if (kind === 0) out = out.slice(0, i);
    else if (kind === 1) {
      out = out.slice();
      out[i] = byte;
    } else {
      const next = new Uint8Array(out.length + 1);
      next.set(out.subarray(0, i));
      next[i] = byte;
      next.set(out.subarray(i), i + 1);
      out = next;
    }
  }
  return out;
}

const payloadArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.oneof(
    fc.json({ maxDepth: 6 }),
    fc.nat(200).map((n) => "[".repeat(n) + "]".repeat(n)),
    fc.nat(200).map((n) => '{"a":'.repeat(n)),
    fc.constantFrom(
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '[{"\\u005f_proto__":{"polluted":1}}]',
    ),
    fc.array(
      fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })),
      { maxLength: 30 },
    ).map((pairs) => new URLSearchParams(pairs).toString()),
    fc.tuple(boundaryArb, fc.array(partArb, { maxLength: 6 })).map(
      ([b, parts]) => multipartBody(b, parts),
    ),
  ).map((s) => enc.encode(s)),
  fc.uint8Array({ maxLength: 300 }),
).chain(([text, random]) =>
  fc.tuple(fc.constantFrom(text, random), mutationsArb).map(([b, edits]) =>
    mutate(b, edits)
  )
);

/** A body and a Content-Type: unrelated, or matching and then mutated. */
const requestArb: fc.Arbitrary<[Uint8Array, string | null]> = fc.oneof(
  fc.tuple(payloadArb, contentTypeArb),
  fc.tuple(boundaryArb, fc.array(partArb, { maxLength: 6 }), mutationsArb)
    .map(([b, parts, edits]): [Uint8Array, string | null] => [
      mutate(enc.encode(multipartBody(b, parts)), edits),
      `multipart/form-data; boundary="${b}"`,
    ]),
  fc.tuple(fc.json({ maxDepth: 8 }), mutationsArb).map((
    [json, edits],
  ): [Uint8Array, string | null] => [
    mutate(enc.encode(json), edits),
    "application/json",
  ]),
  fc.array(
    fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })),
    { maxLength: 50 },
  ).map((pairs): [Uint8Array, string | null] => [
    enc.encode(new URLSearchParams(pairs).toString()),
    "application/x-www-form-urlencoded",
  ]),
);

const limitsArb: fc.Arbitrary<FuzzLimits> = fc.record({
  bodyBytes: fc.integer({ min: 1, max: 4096 }),
  jsonDepth: fc.integer({ min: 1, max: 80 }),
  formFields: fc.integer({ min: 1, max: 40 }),
});

type Reader = "json" | "form" | "text" | "bytes" | "stream";
const readerArb = fc.constantFrom<Reader>(
  "json",
  "form",
  "text",
  "bytes",
  "stream",
);

/** Content-Length: mostly absent or right; sometimes wrong or not a number. */
const lengthArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant("none") },
  { weight: 3, arbitrary: fc.constant("exact") },
  { weight: 1, arbitrary: fc.nat(5000).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "-1",
      "+1",
      "1, 1",
      "abc",
      "1e3",
      "99999999999999999999",
    ),
  },
);

/** Splits `bytes` into a stream of chunks at the given cut points. */
function chunked(
  bytes: Uint8Array,
  cuts: number[],
): ReadableStream<Uint8Array> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.slice(last, p));
    last = p;
  }
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks.shift();
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

async function read(body: Body, reader: Reader): Promise<void> {
  switch (reader) {
    case "json":
      await body.json();
      break;
    case "form":
      await body.form();
      break;
    case "text":
      await body.text();
      break;
    case "bytes":
      await body.bytes();
      break;
    case "stream":
      for await (const _ of body.stream()) { /* drain */ }
      break;
  }
}

function lengthHeader(spec: string, bytes: Uint8Array): string | null {
  if (spec === "none") return null;
  return spec === "exact" ? String(bytes.length) : spec;
}

Deno.test("body readers fail only with 4xx HttpErrors", async () => {
  await fc.assert(
    fc.asyncProperty(
      requestArb,
      fc.option(rawContentTypeArb, { nil: undefined }),
      lengthArb,
      limitsArb,
      readerArb,
      fc.array(fc.nat(), { maxLength: 5 }),
      async ([bytes, matched], raw, length, limits, reader, cuts) => {
        const type = raw === undefined ? matched : raw;
        const cl = lengthHeader(length, bytes);
        const rejections: number[] = [];
        const body = new Body(
          {
            headers: new Headers(),
            body: chunked(bytes, cuts),
            header: (name) =>
              name === "content-type"
                ? type
                : name === "content-length"
                ? cl
                : null,
          },
          resolveLimits(DEFAULT_LIMITS, limits),
          (_reason, status) => rejections.push(status),
        );
        try {
          await read(body, reader);
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          if (error.status >= 500) throw error;
          if (rejections.length !== 1 || rejections[0] !== error.status) {
            throw new Error(
              `expected one onReject(${error.status}), got ${rejections}`,
            );
          }
        } finally {
          body.cancel();
        }
        if (({} as Record<string, unknown>).polluted !== undefined) {
          throw new Error("Object.prototype was polluted");
        }
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("the App never answers 5xx to any body", async () => {
  const cases: [Reader, string][] = [
    ["json", "/json"],
    ["form", "/form"],
    ["text", "/text"],
    ["bytes", "/bytes"],
    ["stream", "/stream"],
  ];
  const apps = new Map<string, App>();
  const appFor = (limits: FuzzLimits): App => {
    const key = JSON.stringify(limits);
    let app = apps.get(key);
    if (app === undefined) {
      app = new App({ limits, deadlineMs: 0 });
      for (const [reader, path] of cases) {
        app.post(path, async (ctx) => {
          await read(ctx.body, reader);
          return ctx.empty(204);
        });
      }
      if (apps.size > 50) apps.clear();
      apps.set(key, app);
    }
    return app;
  };
  await fc.assert(
    fc.asyncProperty(
      requestArb,
      lengthArb,
      limitsArb,
      fc.constantFrom(...cases.map((c) => c[1])),
      fc.array(fc.nat(), { maxLength: 5 }),
      async ([bytes, type], length, limits, path, cuts) => {
        const headers = new Headers();
        if (type !== null) headers.set("content-type", type);
        const cl = lengthHeader(length, bytes);
        if (cl !== null) headers.set("content-length", cl);
        const res = await appFor(limits).request(path, {
          method: "POST",
          headers,
          body: chunked(bytes, cuts),
        });
        await res.body?.cancel();
        if (res.status >= 500) {
          throw new Error(`status ${res.status} for ${path}`);
        }
      },
    ),
    { numRuns: RUNS },
  );
  if (({} as Record<string, unknown>).polluted !== undefined) {
    throw new Error("Object.prototype was polluted");
  }
});
