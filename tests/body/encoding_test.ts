import assert from "node:assert/strict";
import { decodeBody } from "../../src/body/encoding.ts";
import { HttpError } from "../../src/http/errors.ts";
import type { RejectReason } from "../../src/http/limits.ts";

const enc = new TextEncoder();
type Bytes = Uint8Array<ArrayBuffer>;

async function compressed(
  format: CompressionFormat,
  data: Bytes | string,
): Promise<Bytes> {
  const stream = new Blob([data]).stream().pipeThrough(
    new CompressionStream(format),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A source yielding `bytes` in chunks of `size`, counting what was pulled. */
class Source {
  pulled = 0;
  cancelled = false;
  readonly stream: ReadableStream<Uint8Array>;
  constructor(bytes: Bytes, size = 16 * 1024) {
    let offset = 0;
    this.stream = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        if (offset >= bytes.length) {
          controller.close();
          return;
        }
        const chunk = bytes.slice(offset, offset + size);
        offset += chunk.length;
        this.pulled += chunk.length;
        controller.enqueue(chunk);
      },
      cancel: () => {
        this.cancelled = true;
      },
    }, { highWaterMark: 0 });
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

async function failure(stream: ReadableStream<Uint8Array>): Promise<HttpError> {
  try {
    await readAll(stream);
  } catch (error) {
    assert.ok(error instanceof HttpError, String(error));
    return error;
  }
  assert.fail("the stream did not error");
}

function sync415(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 415);
    return error;
  }
  assert.fail("no error");
}

const TEXT = "hello compressed world ".repeat(500);

Deno.test("gzip, x-gzip and deflate bodies decode", async () => {
  for (
    const [header, format] of [
      ["gzip", "gzip"],
      ["x-gzip", "gzip"],
      [" GZip ", "gzip"],
      ["deflate", "deflate"],
    ] as const
  ) {
    const source = new Source(await compressed(format, TEXT), 100);
    const out = await readAll(
      decodeBody(source.stream, header, { limit: 1 << 20 }),
    );
    assert.equal(out, TEXT, header);
  }
});

Deno.test("identity, empty and null return the stream unchanged", () => {
  const stream = new Blob(["x"]).stream();
  for (const header of [null, "", "identity", " Identity "]) {
    assert.equal(decodeBody(stream, header, { limit: 10 }), stream);
  }
});

Deno.test("unsupported, disallowed and repeated codings are a 415 naming them", () => {
  const stream = new Blob(["x"]).stream();
  const br = sync415(() => decodeBody(stream, "br", { limit: 10 }));
  assert.equal(br.detail, "Request Content-Encoding br is not supported");
  assert.equal(
    new Headers(br.headers).get("accept-encoding"),
    "gzip, deflate",
  );
  const deflate = sync415(() =>
    decodeBody(stream, "deflate", { limit: 10, allowed: ["gzip"] })
  );
  assert.equal(
    deflate.detail,
    "Request Content-Encoding deflate is not accepted here",
  );
  assert.equal(new Headers(deflate.headers).get("accept-encoding"), "gzip");
  const twice = sync415(() => decodeBody(stream, "gzip, gzip", { limit: 10 }));
  assert.equal(
    twice.detail,
    "Request Content-Encoding lists more than one coding (gzip, gzip); only one is decoded",
  );
  const none = sync415(() =>
    decodeBody(stream, "gzip", { limit: 10, allowed: [] })
  );
  assert.equal(new Headers(none.headers).get("accept-encoding"), "identity");
  const long = sync415(() =>
    decodeBody(stream, "z".repeat(10_000), { limit: 1 })
  );
  assert.ok(long.detail!.length < 200, "the coding is clipped in the detail");
});

Deno.test("invalid options are a TypeError", () => {
  const stream = new Blob(["x"]).stream();
  assert.throws(
    () => decodeBody(stream, "gzip", { limit: 0 }),
    /Option limit must be a positive integer, got 0/,
  );
  assert.throws(
    () =>
      decodeBody(stream, "gzip", {
        limit: 1,
        allowed: ["br" as "gzip"],
      }),
    /Option allowed must be an array of "gzip" and "deflate"/,
  );
});

Deno.test("decoded bytes count against the limit: exactly the limit passes, one more is a 413", async () => {
  const data = await compressed("gzip", "a".repeat(1000));
  const exact = decodeBody(new Source(data).stream, "gzip", { limit: 1000 });
  assert.equal((await readAll(exact)).length, 1000);
  const rejections: [RejectReason, number, string][] = [];
  const over = decodeBody(new Source(data).stream, "gzip", {
    limit: 999,
    onReject: (...args) => rejections.push(args),
  });
  const error = await failure(over);
  assert.equal(error.status, 413);
  const detail =
    "Request body exceeds the bodyBytes limit of 999 bytes after decoding";
  assert.equal(error.detail, detail);
  assert.deepEqual(rejections, [["body_too_large", 413, detail]]);
});

/** gzip of `size` zeros, made stream-wise (the zeros are never all held). */
async function zerosGzip(size: number): Promise<Bytes> {
  const zeros = new Uint8Array(1 << 20);
  let made = 0;
  const input = new ReadableStream<Bytes>({
    pull(controller) {
      if (made >= size) return controller.close();
      made += zeros.length;
      controller.enqueue(zeros);
    },
  }, { highWaterMark: 0 });
  const out = input.pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(out).arrayBuffer());
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<{
  delivered: number;
  error: unknown;
}> {
  const reader = stream.getReader();
  let delivered = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return { delivered, error: undefined };
      delivered += value.length;
    }
  } catch (error) {
    return { delivered, error };
  }
}

Deno.test("a gzip bomb of 1 GiB is a 413 after at most limit bytes, in bounded memory", async () => {
  // Deflate expands at most ~1032:1, so 1 GiB of zeros is ~1 MiB of gzip.
  const bomb = await zerosGzip(1 << 30);
  assert.ok(bomb.length < 1.1 * (1 << 20), `bomb is ${bomb.length} bytes`);

  // A small limit: the 413 comes after ~1 KiB of compressed input.
  const small = new Source(bomb, 64 * 1024);
  const first = await drain(
    decodeBody(small.stream, "gzip", { limit: 1 << 20 }),
  );
  assert.ok(first.error instanceof HttpError && first.error.status === 413);
  assert.ok(first.delivered <= 1 << 20);
  assert.ok(small.cancelled, "the source is cancelled");
  assert.ok(small.pulled <= 2 * 64 * 1024, `pulled ${small.pulled} bytes`);

  // A larger limit, read to the 413: decoding streams, memory stays flat
  // (RSS also counts decoded chunks not yet collected, up to ~the limit).
  const limit = 16 << 20;
  const source = new Source(bomb, 64 * 1024);
  const before = Deno.memoryUsage().rss;
  const big = await drain(decodeBody(source.stream, "gzip", { limit }));
  const growth = Deno.memoryUsage().rss - before;
  assert.ok(big.error instanceof HttpError && big.error.status === 413);
  assert.ok(big.delivered <= limit && big.delivered > limit - (1 << 20));
  assert.ok(source.cancelled);
  assert.ok(source.pulled <= 2 * 64 * 1024, `pulled ${source.pulled} bytes`);
  assert.ok(growth < 64 << 20, `RSS grew by ${growth >> 20} MiB`);
});

Deno.test("truncated, corrupt and trailing data are a 400", async () => {
  const gz = await compressed("gzip", TEXT);
  const df = await compressed("deflate", TEXT);
  const cases: [string, Bytes][] = [
    ["gzip", gz.subarray(0, gz.length - 4)],
    ["gzip", gz.subarray(0, gz.length >> 1)],
    ["gzip", new Uint8Array(0)],
    ["gzip", enc.encode("this is not gzip at all")],
    ["gzip", new Uint8Array([...gz, ...gz])],
    ["gzip", new Uint8Array([...gz, 0])],
    ["deflate", df.subarray(0, df.length - 1)],
    ["deflate", df.subarray(0, df.length - 4)],
    ["deflate", df.subarray(0, df.length >> 1)],
    ["deflate", new Uint8Array(0)],
    ["deflate", new Uint8Array([...df, 1])],
    ["deflate", gz],
  ];
  for (const [coding, bytes] of cases) {
    const rejections: RejectReason[] = [];
    const error = await failure(
      decodeBody(new Source(bytes, 50).stream, coding, {
        limit: 1 << 20,
        onReject: (reason) => rejections.push(reason),
      }),
    );
    assert.equal(error.status, 400, `${coding} of ${bytes.length} bytes`);
    assert.equal(
      error.detail,
      `Request body is not valid ${coding} data (corrupt or truncated)`,
    );
    assert.deepEqual(rejections, ["bad_request"]);
  }
});

Deno.test("an error of the source passes through as it is", async () => {
  const gz = await compressed("gzip", TEXT);
  const raw = new HttpError(413, "Request body exceeds the bodyBytes limit");
  let sent = false;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(gz.slice(0, 20));
      } else controller.error(raw);
    },
  });
  const { error } = await drain(decodeBody(source, "gzip", { limit: 1 << 20 }));
  assert.equal(error, raw);
});

Deno.test("cancelling the decoded stream cancels the source", async () => {
  const source = new Source(await zerosGzip(64 << 20), 1024);
  const reader = decodeBody(source.stream, "gzip", { limit: 1 << 30 })
    .getReader();
  await reader.read();
  await reader.cancel();
  assert.ok(source.cancelled);
});

Deno.test("ctx.body: request Content-Encoding is 415 unless the App decodes it, and decoded bytes count against bodyBytes", async () => {
  const { App } = await import("../../src/app/app.ts");
  const gzip = async (bytes: Uint8Array): Promise<Uint8Array> =>
    new Uint8Array(
      await new Response(
        new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
          new CompressionStream("gzip"),
        ),
      ).arrayBuffer(),
    );
  const body = await gzip(new TextEncoder().encode('{"a":1}'));
  const bomb = await gzip(new Uint8Array(4 << 20)); // 4 MiB of zeros
  const make = (requestEncodings?: ("gzip" | "deflate")[]) => {
    const app = new App({ requestEncodings, limits: { bodyBytes: 1 << 20 } });
    app.post("/", async (ctx) => ctx.json(await ctx.body.json()));
    return app;
  };
  const post = (app: ReturnType<typeof make>, bytes: Uint8Array) =>
    app.request("/", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-encoding": "gzip",
      },
      body: bytes as Uint8Array<ArrayBuffer>,
    });
  const refused = await post(make(), body);
  assert.equal(refused.status, 415);
  await refused.body?.cancel();
  const ok = await post(make(["gzip"]), body);
  assert.deepEqual(await ok.json(), { a: 1 });
  const tooBig = await post(make(["gzip"]), bomb);
  assert.equal(tooBig.status, 413);
  assert.match(await tooBig.text(), /bodyBytes limit of 1048576/);
});
