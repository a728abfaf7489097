import assert from "node:assert/strict";
import { parseMultipart } from "./_buffered_multipart.ts";
import {
  type MultipartLimits,
  parseMultipartStream,
} from "../../src/body/multipart_stream.ts";
import { HttpError } from "../../src/http/errors.ts";
import {
  BIG,
  build,
  collect,
  enc,
  rejection,
  source,
  type Spec,
} from "./_multipart_helpers.ts";

const SAMPLE: Spec[] = [
  { name: "title", content: "caf\u00e9 \u6f22" },
  { name: "empty", content: "" },
  {
    name: "doc",
    filename: "r\u00e9sum\u00e9.txt",
    type: "text/plain",
    content: "line 1\r\nline 2\r\n--not-a-boundary\r\n",
  },
  {
    name: "bin",
    filename: "a.bin",
    content: new Uint8Array([0, 13, 10, 45, 45, 255, 13]),
  },
  { name: "blank", filename: "", content: "" },
];

Deno.test("parses fields and files, with preamble, epilogue and padding", async () => {
  const body = build("XyZ", SAMPLE, {
    preamble: "ignored preamble",
    epilogue: "ignored epilogue",
  });
  const got = await collect(source(body).stream, "XyZ");
  assert.deepEqual(got, [
    { kind: "field", name: "title", value: "caf\u00e9 \u6f22" },
    { kind: "field", name: "empty", value: "" },
    {
      kind: "file",
      name: "doc",
      filename: "r\u00e9sum\u00e9.txt",
      type: "text/plain",
      content: enc.encode("line 1\r\nline 2\r\n--not-a-boundary\r\n"),
    },
    {
      kind: "file",
      name: "bin",
      filename: "a.bin",
      type: "application/octet-stream",
      content: new Uint8Array([0, 13, 10, 45, 45, 255, 13]),
    },
    {
      kind: "file",
      name: "blank",
      filename: "",
      type: "application/octet-stream",
      content: new Uint8Array(0),
    },
  ]);
  // Transport padding after a boundary, and the headers of a part.
  const padded = enc.encode(
    '--b \t\r\nContent-Disposition: form-data; name="f"; filename="x"\r\nX-Extra: 1\r\n\r\nhi\r\n--b--',
  );
  for await (
    const part of parseMultipartStream(source(padded).stream, "b", BIG)
  ) {
    assert.equal(part.kind, "file");
    if (part.kind === "file") {
      assert.equal(part.headers.get("x-extra"), "1");
      assert.match(part.headers.get("content-disposition")!, /filename="x"/);
      assert.equal(await new Response(part.stream).text(), "hi");
    }
  }
});

Deno.test("boundaries split byte by byte and at every offset give the same parts", async () => {
  const boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
  const body = build(boundary, SAMPLE);
  const expected = await collect(source(body).stream, boundary);
  assert.deepEqual(
    await collect(source(body, "bytes").stream, boundary),
    expected,
  );
  for (let cut = 1; cut < body.length; cut++) {
    assert.deepEqual(
      await collect(source(body, [cut]).stream, boundary),
      expected,
      `cut at ${cut}`,
    );
  }
  for (let cut = 1; cut + 40 < body.length; cut += 7) {
    assert.deepEqual(
      await collect(
        source(body, [cut, cut + 1, cut + 2, cut + 40]).stream,
        boundary,
      ),
      expected,
    );
  }
});

Deno.test("file content is handed on without copies beyond the current chunk", async () => {
  const content = new Uint8Array(1 << 20).fill(0x61);
  const body = build("B", [{ name: "f", filename: "a", content }]);
  const src = source(
    body,
    Array.from({ length: 64 }, (_, i) => (i + 1) * 16384),
  );
  let pieces = 0;
  for await (const part of parseMultipartStream(src.stream, "B", BIG)) {
    if (part.kind !== "file") continue;
    const reader = part.stream.getReader();
    let total = 0;
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      pieces++;
      total += value.length;
      // Each piece is a view of one source chunk, not an accumulation.
      assert.ok(value.length <= 16384, `piece of ${value.length}`);
      assert.ok(
        src.pulled() - total <= 16384 + 200,
        "read ahead of the consumer",
      );
    }
    assert.equal(total, content.length);
  }
  assert.ok(pieces >= 64);
});

/** Runs a body against a limit: returns the error (or null) and the reported reasons. */
async function withLimit(
  body: Uint8Array,
  limits: Partial<MultipartLimits>,
  cuts: number[] | "bytes" = [],
): Promise<{ error: HttpError | null; reasons: string[]; delivered: number }> {
  const reasons: string[] = [];
  let delivered = 0;
  try {
    for await (
      const part of parseMultipartStream(source(body, cuts).stream, "B", {
        ...BIG,
        ...limits,
      }, (r) => reasons.push(r))
    ) {
      if (part.kind === "file") {
        for await (const chunk of part.stream) delivered += chunk.length;
      } else delivered += enc.encode(part.value).length;
    }
    return { error: null, reasons, delivered };
  } catch (error) {
    assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
    return { error, reasons, delivered };
  }
}

Deno.test("each limit: at its value passes, one over is 413 naming the limit and value", async () => {
  const n = 100;
  const cases: [
    keyof MultipartLimits,
    (k: number) => Uint8Array,
    string,
    string,
  ][] = [
    [
      "fileBytes",
      (k) =>
        build("B", [{
          name: "f",
          filename: "a",
          content: new Uint8Array(k).fill(13),
        }]),
      "file_too_large",
      `Multipart file part exceeds the fileBytes limit of ${n} bytes`,
    ],
    [
      "fieldBytes",
      (k) => build("B", [{ name: "f", content: "\r".repeat(k) }]),
      "field_too_large",
      `Multipart field exceeds the fieldBytes limit of ${n} bytes`,
    ],
    [
      "files",
      (k) =>
        build(
          "B",
          Array.from(
            { length: k },
            () => ({ name: "f", filename: "a", content: "x" }),
          ),
        ),
      "too_many_files",
      `Multipart body exceeds the files limit of ${n} files`,
    ],
    [
      "formFields",
      (k) =>
        build(
          "B",
          Array.from({ length: k }, () => ({ name: "f", content: "x" })),
        ),
      "too_many_form_fields",
      `Multipart body exceeds the formFields limit of ${n} parts`,
    ],
    [
      "partHeaderBytes",
      (k) => {
        // The block: the disposition line, then padding up to k bytes.
        const first = 'Content-Disposition: form-data; name="f"\r\n';
        const pad = "X-Pad: " + "p".repeat(k - first.length - 9) + "\r\n";
        assert.equal(first.length + pad.length, k);
        return build("B", [{
          name: "f",
          headers: [pad.slice(0, -2)],
          content: "x",
        }]);
      },
      "part_headers_too_large",
      `Multipart part headers exceed the partHeaderBytes limit of ${n} bytes`,
    ],
  ];
  for (const [limit, make, reason, message] of cases) {
    for (const cuts of [[], "bytes"] as const) {
      const ok = await withLimit(
        make(n),
        { [limit]: n },
        cuts as number[] | "bytes",
      );
      assert.equal(ok.error, null, `${limit} at its value`);
      const over = await withLimit(
        make(n + 1),
        { [limit]: n },
        cuts as number[] | "bytes",
      );
      assert.equal(over.error?.status, 413, limit);
      assert.equal(over.error?.message, message);
      assert.deepEqual(over.reasons, [reason]);
      if (limit === "fileBytes" || limit === "fieldBytes") {
        assert.ok(over.delivered <= n, `${limit}: delivered ${over.delivered}`);
      }
    }
  }
  // bodyBytes counts everything, preamble and epilogue included.
  const body = build("B", SAMPLE, { preamble: "pre", epilogue: "post" });
  assert.equal((await withLimit(body, { bodyBytes: body.length })).error, null);
  const over = await withLimit(body, { bodyBytes: body.length - 1 });
  assert.equal(over.error?.status, 413);
  assert.equal(
    over.error?.message,
    `Multipart body exceeds the bodyBytes limit of ${body.length - 1} bytes`,
  );
  assert.deepEqual(over.reasons, ["body_too_large"]);
  const src = source(body, "bytes");
  await rejection(collect(src.stream, "B", { ...BIG, bodyBytes: 50 }));
  assert.equal(src.pulled(), 51, "stops at the byte that passes the limit");
  assert.ok(src.cancelled(), "the source is cancelled");
});

Deno.test("malformed bodies are 400 and reported once", async () => {
  const good = build("B", SAMPLE);
  const cases: [Uint8Array, string][] = [
    [good.subarray(0, good.length - 10), "part headers do not end"],
    [
      enc.encode(
        '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nabc\r\n--B',
      ),
      "missing closing boundary",
    ],
    [
      enc.encode(
        '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nabc\r\n--',
      ),
      "missing closing boundary",
    ],
    [enc.encode("no boundary here at all"), "missing closing boundary"],
    [
      enc.encode("--B\r\nContent-Disposition form-data\r\n\r\nx\r\n--B--"),
      "invalid part header line",
    ],
    [
      enc.encode("--B\r\nX-A: 1\r\n\r\nx\r\n--B--"),
      "part without Content-Disposition",
    ],
    [enc.encode("--B\r\n\r\nx\r\n--B--"), "part without Content-Disposition"],
    [
      enc.encode(
        '--B\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--B--',
      ),
      "part without a valid form-data Content-Disposition",
    ],
    [
      enc.encode(
        '--B\r\nContent-Disposition: form-data; name="a"\r\nContent-Type: ???\r\n\r\nx\r\n--B--',
      ),
      "invalid part Content-Type",
    ],
    [
      enc.encode(
        '--Bjunk\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--B--',
      ),
      "unexpected bytes after a boundary",
    ],
    [
      enc.encode('--B\r\nContent-Disposition: form-data; name="a"\r\n'),
      "part headers do not end",
    ],
    [
      enc.encode("--B" + " ".repeat(300) + "\r\n"),
      "too much padding after a boundary",
    ],
  ];
  for (const [body, detail] of cases) {
    for (const cuts of [[], "bytes"] as const) {
      const reasons: string[] = [];
      const error = await rejection(
        collect(
          source(body, cuts as number[] | "bytes").stream,
          "B",
          BIG,
          (r) => reasons.push(r),
        ),
      );
      assert.equal(error.status, 400);
      assert.equal(error.message, `Malformed multipart body: ${detail}`);
      assert.deepEqual(reasons, ["form_malformed"]);
    }
  }
  assert.throws(
    () => parseMultipartStream(source(good).stream, 'bad"boundary', BIG),
    HttpError,
  );
  assert.throws(
    () => parseMultipartStream(source(good).stream, "", BIG),
    HttpError,
  );
  assert.throws(
    () => parseMultipartStream(source(good).stream, "B", { ...BIG, files: 0 }),
    {
      name: "TypeError",
      message: 'Limit "files" must be a positive integer, got 0',
    },
  );
});

Deno.test("an unread part is skipped when the iterator advances, limits still counted", async () => {
  const big = new Uint8Array(300_000).fill(7);
  const body = build("B", [
    { name: "skip", filename: "a", content: big },
    { name: "after", content: "value" },
    { name: "half", filename: "b", content: big },
    { name: "last", content: "end" },
  ]);
  const src = source(
    body,
    Array.from({ length: 40 }, (_, i) => (i + 1) * 8192),
  );
  const names: string[] = [];
  const streams: ReadableStream<Uint8Array>[] = [];
  for await (const part of parseMultipartStream(src.stream, "B", BIG)) {
    names.push(part.name);
    if (part.kind === "file") {
      streams.push(part.stream);
      if (part.name === "half") {
        const reader = part.stream.getReader();
        await reader.read(); // one chunk, then move on
        reader.releaseLock();
      }
    } else if (part.name === "after") {
      assert.equal(part.value, "value");
    }
  }
  assert.deepEqual(names, ["skip", "after", "half", "last"]);
  // A skipped stream cannot be read afterwards.
  await assert.rejects(new Response(streams[0]).arrayBuffer(), TypeError);
  // Skipping a file still enforces fileBytes.
  const error = await rejection((async () => {
    for await (
      const _ of parseMultipartStream(source(body).stream, "B", {
        ...BIG,
        fileBytes: 1000,
      })
    ) {
      // never read
    }
  })());
  assert.equal(error.status, 413);
});

Deno.test("breaking out cancels the source; source errors pass through as HttpError", async () => {
  const src = source(build("B", SAMPLE), "bytes");
  for await (const _ of parseMultipartStream(src.stream, "B", BIG)) break;
  assert.ok(src.cancelled());

  const failing = (error: unknown) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(
          enc.encode(
            '--B\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nabc',
          ),
        );
      },
      pull(c) {
        c.error(error);
      },
    });
  const own = new HttpError(
    413,
    "Request body exceeds the bodyBytes limit of 10 bytes",
  );
  const reasons: string[] = [];
  const report = (r: string) => reasons.push(r);
  assert.equal(await rejection(collect(failing(own), "B", BIG, report)), own);
  assert.deepEqual(reasons, [], "the source reported its own error");
  const other = await rejection(
    collect(failing(new Error("socket reset")), "B", BIG, report),
  );
  assert.equal(other.status, 400);
  assert.equal(other.message, "Request body ended before it was complete");
  assert.deepEqual(reasons, ["body_incomplete"]);
});

Deno.test("agrees with the buffering parser on valid bodies", async () => {
  const boundary = "AaB03x";
  const body = build(boundary, SAMPLE, { preamble: "p", epilogue: "e" });
  const form = parseMultipart(body, boundary, 1000);
  const got = await collect(source(body, "bytes").stream, boundary);
  const entries = [...form];
  assert.equal(entries.length, got.length);
  for (let i = 0; i < got.length; i++) {
    const [name, value] = entries[i];
    assert.equal(got[i].name, name);
    if (typeof value === "string") assert.equal(got[i].value, value);
    else {
      assert.equal(got[i].filename, value.name);
      assert.deepEqual(
        got[i].content,
        new Uint8Array(await value.arrayBuffer()),
      );
    }
  }
});
