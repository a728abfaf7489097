import assert from "node:assert/strict";
import { Body } from "../../src/body/body.ts";
import { HttpError } from "../../src/http/errors.ts";
import {
  DEFAULT_LIMITS,
  type RejectReason,
  resolveLimits,
} from "../../src/http/limits.ts";

const enc = new TextEncoder();
const LIMITS = resolveLimits(DEFAULT_LIMITS, { bodyBytes: 1024 });

/** A body that yields `count` chunks of `size` bytes, only when pulled. */
class Chunks {
  pulls = 0;
  cancelled = false;
  readonly stream: ReadableStream<Uint8Array>;
  constructor(size: number, count: number, fill = 0x61) {
    this.stream = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        if (this.pulls === count) {
          controller.close();
          return;
        }
        this.pulls++;
        controller.enqueue(new Uint8Array(size).fill(fill));
      },
      cancel: () => {
        this.cancelled = true;
      },
    }, { highWaterMark: 0 });
  }
}

type Rejection = [RejectReason, number, string];

function setup(
  body: BodyInit | null,
  headers: Record<string, string> = {},
  limits = LIMITS,
): { body: Body; rejections: Rejection[] } {
  const rejections: Rejection[] = [];
  const req = new Request("http://localhost/", {
    method: "POST",
    body,
    headers,
  });
  return {
    body: new Body(req, limits, (...r) => rejections.push(r)),
    rejections,
  };
}

async function httpError(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
    return error;
  }
  assert.fail("did not reject");
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const sizes: number[] = [];
  for await (const chunk of stream) sizes.push(chunk.length);
  return sizes;
}

Deno.test("bytes() returns the body, with or without Content-Length", async () => {
  assert.deepEqual(await setup("hello").body.bytes(), enc.encode("hello"));
  const chunked = new Chunks(100, 5, 0x62);
  const declared = setup(chunked.stream, { "content-length": "500" }).body;
  assert.deepEqual(await declared.bytes(), new Uint8Array(500).fill(0x62));
  const unknown = setup(new Chunks(100, 5, 0x63).stream).body;
  assert.deepEqual(await unknown.bytes(), new Uint8Array(500).fill(0x63));
  assert.deepEqual(
    await setup(new Chunks(256, 4).stream).body.bytes(),
    new Uint8Array(1024).fill(0x61),
    "exactly bodyBytes is allowed",
  );
});

Deno.test("a declared Content-Length over bodyBytes is 413 before any byte is read", async () => {
  const src = new Chunks(100, 20);
  const { body, rejections } = setup(src.stream, { "content-length": "2000" });
  const error = await httpError(body.bytes());
  assert.equal(error.status, 413);
  assert.equal(
    error.message,
    "Request body exceeds the bodyBytes limit of 1024 bytes",
  );
  assert.equal(src.pulls, 0);
  assert.equal(src.cancelled, true);
  assert.deepEqual(rejections, [[
    "body_too_large",
    413,
    "Request body exceeds the bodyBytes limit of 1024 bytes",
  ]]);
});

Deno.test("a chunked 10 MB body stops being pulled at the 1 KiB limit", async () => {
  const src = new Chunks(100, 100_000); // 10 MB in 100-byte chunks
  const { body, rejections } = setup(src.stream);
  const error = await httpError(body.bytes());
  assert.equal(error.status, 413);
  assert.equal(src.pulls, 11, "10 chunks fit, the 11th crosses the limit");
  assert.equal(src.cancelled, true);
  assert.equal(rejections.length, 1);
  assert.equal(rejections[0][0], "body_too_large");
});

Deno.test("maxBytes overrides bodyBytes per read", async () => {
  const small = setup(new Chunks(100, 3).stream).body;
  assert.equal((await httpError(small.bytes({ maxBytes: 250 }))).status, 413);
  const large = setup(new Chunks(1000, 3).stream).body;
  assert.equal((await large.bytes({ maxBytes: 3000 })).length, 3000);
  await assert.rejects(
    setup("x").body.bytes({ maxBytes: 0 }),
    TypeError,
  );
});

Deno.test("stream() never delivers a chunk that would pass the limit", async () => {
  const src = new Chunks(100, 100_000);
  const { body, rejections } = setup(src.stream);
  const sizes: number[] = [];
  let caught: unknown;
  try {
    for await (const chunk of body.stream()) sizes.push(chunk.length);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HttpError);
  assert.equal(caught.status, 413);
  assert.deepEqual(sizes, new Array(10).fill(100));
  assert.equal(src.pulls, 11);
  assert.equal(src.cancelled, true);
  assert.equal(rejections.length, 1);
});

Deno.test("stream() throws at once for a declared length over the limit", () => {
  const src = new Chunks(100, 20);
  const { body, rejections } = setup(src.stream, { "content-length": "2000" });
  assert.throws(
    () => body.stream(),
    (e) => e instanceof HttpError && e.status === 413,
  );
  assert.equal(src.pulls, 0);
  assert.equal(rejections.length, 1);
});

Deno.test("stream() pulls only as it is read and cancels the source on break", async () => {
  const src = new Chunks(100, 5);
  const { body } = setup(src.stream);
  const stream = body.stream();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(src.pulls, 0);
  for await (const _ of stream) break;
  assert.equal(src.pulls, 1);
  assert.equal(src.cancelled, true);
  assert.deepEqual(await drain(setup(new Chunks(10, 3).stream).body.stream()), [
    10,
    10,
    10,
  ]);
});

Deno.test("a body shorter than its Content-Length is 400", async () => {
  const short = setup("hello", { "content-length": "10" });
  const error = await httpError(short.body.bytes());
  assert.equal(error.status, 400);
  assert.equal(
    error.message,
    "Request body ended after 5 of the 10 bytes declared by Content-Length",
  );
  assert.deepEqual(short.rejections.map((r) => r[0]), ["body_incomplete"]);
  const streamed = setup("hello", { "content-length": "10" }).body.stream();
  await assert.rejects(
    drain(streamed),
    (e) => e instanceof HttpError && e.status === 400,
  );
  const none = new Body(
    { headers: new Headers({ "content-length": "5" }), body: null },
    LIMITS,
  );
  assert.equal((await httpError(none.bytes())).status, 400);
});

Deno.test("a body longer than its Content-Length is 400", async () => {
  const { body } = setup("hello", { "content-length": "3" });
  assert.equal((await httpError(body.bytes())).status, 400);
});

Deno.test("a body the transport reports as broken is 400", async () => {
  let pulls = 0;
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ === 0) controller.enqueue(enc.encode("partial"));
      else controller.error(new Error("connection reset"));
    },
  });
  const { body, rejections } = setup(broken);
  const error = await httpError(body.text());
  assert.equal(error.status, 400);
  assert.equal(error.message, "Request body ended before it was complete");
  assert.deepEqual(rejections.map((r) => r[0]), ["body_incomplete"]);
  // An HttpError raised by the transport keeps its status.
  const timeout = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new HttpError(408, "Body timeout"));
    },
  });
  assert.equal((await httpError(setup(timeout).body.bytes())).status, 408);
});

Deno.test("an invalid Content-Length is 400 before any byte is read", async () => {
  for (const value of ["abc", "-1", "+5", "5, 5", "1e3", "0x10", "5 5"]) {
    const src = new Chunks(1, 5);
    const { body, rejections } = setup(src.stream, { "content-length": value });
    const error = await httpError(body.bytes());
    assert.equal(error.status, 400, value);
    assert.equal(error.message, "Invalid Content-Length header");
    assert.equal(src.pulls, 0);
    assert.deepEqual(rejections.map((r) => r[0]), ["bad_request"]);
  }
  const zeros = setup("12345", { "content-length": "00005" }).body;
  assert.equal((await zeros.bytes()).length, 5);
  const huge = setup("x", { "content-length": "9".repeat(400) }).body;
  assert.equal((await httpError(huge.bytes())).status, 413);
});

Deno.test("text() decodes UTF-8 strictly", async () => {
  assert.equal(await setup("héllo ✓").body.text(), "héllo ✓");
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x61]);
  assert.equal(await setup(bom).body.text(), "a");
  const { body, rejections } = setup(new Uint8Array([0x61, 0xff, 0x62]));
  const error = await httpError(body.text());
  assert.equal(error.status, 400);
  assert.equal(error.message, "Request body is not valid UTF-8");
  assert.deepEqual(rejections.map((r) => r[0]), ["bad_request"]);
});

Deno.test("json() accepts application/json and +json types", async () => {
  for (
    const type of [
      "application/json",
      "APPLICATION/JSON",
      "application/json ; charset=utf-8",
      "application/json\t",
      "Application/Problem+JSON",
      'application/json; charset="UTF-8"',
    ]
  ) {
    const { body } = setup('{"a":1}', { "content-type": type });
    assert.deepEqual(await body.json(), { a: 1 }, type);
  }
});

Deno.test("json() answers 415 for other or malformed types without reading", async () => {
  const cases: [string | null, string][] = [
    ["application/jsonx", "got application/jsonx"],
    ["text/plain", "got text/plain"],
    [null, "got no Content-Type"],
    ["application/", "got a malformed Content-Type"],
    [";", "got a malformed Content-Type"],
    ["a/b; x", "got a malformed Content-Type"],
    ['a/b; x="unterminated', "got a malformed Content-Type"],
    ["application/json garbage", "got a malformed Content-Type"],
    ["application/json, text/plain", "got a malformed Content-Type"],
  ];
  for (const [type, got] of cases) {
    const src = new Chunks(10, 1);
    const headers: Record<string, string> = type === null
      ? {}
      : { "content-type": type };
    const { body, rejections } = setup(src.stream, headers);
    const error = await httpError(body.json());
    assert.equal(error.status, 415, String(type));
    assert.equal(error.message, `Expected application/json, ${got}`);
    assert.equal(src.pulls, 0);
    assert.equal(src.cancelled, true);
    assert.deepEqual(rejections, [[
      "unsupported_media_type",
      415,
      `Expected application/json, ${got}`,
    ]]);
  }
});

Deno.test("a Content-Type with a NUL byte is 415, never a crash", async () => {
  // Headers refuses NUL, but a transport's RequestSource may not.
  const body = new Body({
    headers: new Headers(),
    body: null,
    header: (name) => name === "content-type" ? "application/json\0" : null,
  }, LIMITS);
  assert.equal((await httpError(body.json())).status, 415);
});

Deno.test("json() answers 400 for malformed or too deep JSON", async () => {
  const type = { "content-type": "application/json" };
  const malformed = setup('{"a":1,}', type);
  const error = await httpError(malformed.body.json());
  assert.equal(error.status, 400);
  assert.match(error.message, /at position 7$/);
  assert.deepEqual(malformed.rejections.map((r) => r[0]), ["json_malformed"]);

  const empty = setup(null, type);
  assert.equal((await httpError(empty.body.json())).status, 400);

  const fifty = "[".repeat(50) + "]".repeat(50);
  const deep = setup(fifty, type);
  const deepError = await httpError(deep.body.json({ maxDepth: 16 }));
  assert.equal(deepError.status, 400);
  assert.equal(
    deepError.message,
    "JSON nesting exceeds the jsonDepth limit of 16",
  );
  assert.deepEqual(deep.rejections.map((r) => r[0]), ["json_too_deep"]);

  const limits = resolveLimits(LIMITS, { jsonDepth: 16, bodyBytes: 1 << 20 });
  const viaLimits = setup(fifty, type, limits).body;
  assert.equal((await httpError(viaLimits.json())).status, 400);
  const brackets = setup("[".repeat(100_000), type, limits).body;
  assert.equal((await httpError(brackets.json())).status, 400);

  const invalidUtf8 = setup(new Uint8Array([0x22, 0xff, 0x22]), type);
  assert.equal((await httpError(invalidUtf8.body.json())).status, 400);
  assert.deepEqual(invalidUtf8.rejections.map((r) => r[0]), ["json_malformed"]);
});

Deno.test("json() never pollutes prototypes", async () => {
  const body = setup(
    '{"a":[{"__proto__":{"polluted":1}}],"constructor":{"prototype":{"polluted":1}},"__proto__":{"polluted":1}}',
    { "content-type": "application/json" },
  ).body;
  const value = await body.json<Record<string, unknown>>();
  assert.deepEqual(value, { a: [{}] });
  Object.assign({}, value, (value.a as object[])[0]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("form() reads urlencoded forms", async () => {
  const { body } = setup("a=1&b=x+y", {
    "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
  });
  const form = await body.form();
  assert.equal(form.get("a"), "1");
  assert.equal(form.get("b"), "x y");
  const many = setup("a=1&".repeat(11), {
    "content-type": "application/x-www-form-urlencoded",
  });
  const error = await httpError(many.body.form({ maxFields: 10 }));
  assert.equal(error.status, 413);
  assert.deepEqual(many.rejections.map((r) => r[0]), ["too_many_form_fields"]);
});

Deno.test("form() reads multipart forms with files", async () => {
  const input = new FormData();
  input.append("name", "palisade");
  input.append(
    "avatar",
    new File([new Uint8Array([0, 1, 2, 255])], "me.png", { type: "image/png" }),
  );
  const form = await setup(input).body.form();
  assert.equal(form.get("name"), "palisade");
  const file = form.get("avatar");
  assert.ok(file instanceof File);
  assert.equal(file.name, "me.png");
  assert.equal(file.type, "image/png");
  assert.deepEqual(
    new Uint8Array(await file.arrayBuffer()),
    new Uint8Array([0, 1, 2, 255]),
  );
});

Deno.test("form() counts multipart parts against formFields", async () => {
  const input = new FormData();
  for (let i = 0; i < 11; i++) input.append(`f${i}`, "v");
  const limits = resolveLimits(LIMITS, { formFields: 10 });
  const { body, rejections } = setup(input, {}, limits);
  assert.equal((await httpError(body.form())).status, 413);
  assert.deepEqual(rejections.map((r) => r[0]), ["too_many_form_fields"]);
});

Deno.test("form() treats a multipart body as one body under bodyBytes", async () => {
  const input = new FormData();
  // Each part is far below 1 KiB; together they are over it.
  for (let i = 0; i < 8; i++) input.append(`f${i}`, "v".repeat(200));
  const { body, rejections } = setup(input);
  const error = await httpError(body.form());
  assert.equal(error.status, 413);
  assert.deepEqual(rejections.map((r) => r[0]), ["body_too_large"]);
});

Deno.test("form() answers 415 for other types and 400 for bad multipart", async () => {
  const plain = setup("a=1", { "content-type": "text/plain" });
  const error = await httpError(plain.body.form());
  assert.equal(error.status, 415);
  assert.equal(
    error.message,
    "Expected application/x-www-form-urlencoded or multipart/form-data, got text/plain",
  );
  const noBoundary = setup("--b--", { "content-type": "multipart/form-data" });
  assert.equal((await httpError(noBoundary.body.form())).status, 400);
  assert.deepEqual(noBoundary.rejections.map((r) => r[0]), ["form_malformed"]);
  const unclosed = setup(
    '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1',
    { "content-type": "multipart/form-data; boundary=b" },
  );
  assert.equal((await httpError(unclosed.body.form())).status, 400);
  assert.deepEqual(unclosed.rejections.map((r) => r[0]), ["form_malformed"]);
});

Deno.test("reading a body twice throws a TypeError", async () => {
  const { body } = setup('{"a":1}', { "content-type": "application/json" });
  assert.equal(body.used, false);
  await body.json();
  assert.equal(body.used, true);
  await assert.rejects(body.text(), {
    name: "TypeError",
    message: "Request body has already been read",
  });
  assert.throws(() => body.stream(), TypeError);

  const rejected = setup("x", { "content-type": "text/plain" }).body;
  await httpError(rejected.json());
  await assert.rejects(rejected.bytes(), TypeError);

  const req = new Request("http://localhost/", { method: "POST", body: "x" });
  await req.text();
  await assert.rejects(new Body(req, LIMITS).bytes(), {
    name: "TypeError",
    message: "Request body has already been read",
  });
});

Deno.test("cancel() cancels an unread or partly read body and never throws", async () => {
  const unread = new Chunks(10, 5);
  setup(unread.stream).body.cancel();
  assert.equal(unread.cancelled, true);
  assert.equal(unread.pulls, 0);

  const partly = new Chunks(10, 5);
  const body = setup(partly.stream).body;
  const reader = body.stream().getReader();
  await reader.read();
  body.cancel();
  assert.equal(partly.cancelled, true);
  await assert.rejects(reader.read());

  const read = new Chunks(10, 2);
  const done = setup(read.stream).body;
  await done.bytes();
  done.cancel();
  done.cancel();
  assert.equal(read.cancelled, false);

  setup(null).body.cancel();
  const consumed = new Request("http://localhost/", {
    method: "POST",
    body: "x",
  });
  await consumed.text();
  new Body(consumed, LIMITS).cancel();
});

Deno.test("cancel() during bytes() fails the read instead of truncating it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  let pulls = 0;
  const slow = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pulls++ === 0) {
        controller.enqueue(enc.encode("first"));
        return;
      }
      await gate;
    },
  }, { highWaterMark: 0 });
  const body = setup(slow).body;
  const reading = body.bytes();
  await new Promise((resolve) => setTimeout(resolve, 0));
  body.cancel();
  release();
  await assert.rejects(reading, HttpError);
});

Deno.test("Body prefers a RequestSource's header() lookup", async () => {
  const body = new Body({
    get headers(): Headers {
      throw new Error("headers should not be built");
    },
    body: new Response('{"ok":true}').body,
    header: (name) => name === "content-type" ? "application/json" : null,
  }, LIMITS);
  assert.deepEqual(await body.json(), { ok: true });
});

Deno.test("a request without a body reads as empty", async () => {
  const body = new Body({ headers: new Headers(), body: null }, LIMITS);
  assert.equal((await body.bytes()).length, 0);
  assert.equal(await new Body(new Request("http://x/"), LIMITS).text(), "");
});

Deno.test("stream path: a declared length is read into one buffer and checked", async () => {
  const source = (chunks: string[], length: string): Body =>
    new Body({
      headers: new Headers({ "content-length": length }),
      body: ReadableStream.from(chunks.map((c) => enc.encode(c))),
    }, LIMITS);
  assert.equal(
    new TextDecoder().decode(await source(["ab", "", "cd", "e"], "5").bytes()),
    "abcde",
  );
  assert.equal((await source(["abcde"], "5").bytes()).length, 5);
  assert.equal((await httpError(source(["abc"], "5").bytes())).status, 400);
  assert.equal(
    (await httpError(source(["abc", "def"], "5").bytes())).status,
    400,
  );
  assert.equal((await httpError(source(["abcdef"], "5").bytes())).status, 400);
  assert.equal((await source([], "0").bytes()).length, 0);
});

Deno.test("Request path: a declared length that the body breaks is 400", async () => {
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("connection reset"));
    },
  });
  const { body, rejections } = setup(broken, { "content-length": "100" });
  assert.equal((await httpError(body.bytes())).status, 400);
  assert.deepEqual(rejections.map((r) => r[0]), ["body_incomplete"]);
  const req = new Request("http://localhost/", {
    method: "POST",
    body: "abc",
    headers: { "content-length": "3" },
  });
  await req.text();
  await assert.rejects(new Body(req, LIMITS).bytes(), TypeError);
});

/** Serves `handler` on 127.0.0.1:0, runs `fn(port)`, then shuts down. */
async function withServer(
  handler: (req: Request) => Promise<Response>,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handler,
  );
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown();
  }
}

/** Sends `parts` over a raw connection (closing the write side when asked) and returns the response status. */
async function rawStatus(
  port: number,
  parts: string[],
  closeWrite = false,
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (const part of parts) await conn.write(enc.encode(part));
    if (closeWrite) await conn.closeWrite();
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return Number(text.split(" ")[1]);
  } finally {
    conn.close();
  }
}

function bodyHandler(
  seen: number[],
): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      const bytes = await new Body(req, LIMITS).bytes();
      seen.push(bytes.length);
      return new Response("ok");
    } catch (error) {
      if (error instanceof HttpError) return error.toResponse();
      throw error;
    }
  };
}

Deno.test("over the wire: a declared length over the limit is 413 without sending the body", async () => {
  const seen: number[] = [];
  await withServer(bodyHandler(seen), async (port) => {
    const status = await rawStatus(port, [
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n",
    ]);
    assert.equal(status, 413);
  });
  assert.deepEqual(seen, []);
});

Deno.test("over the wire: a chunked body over the limit is 413", async () => {
  const seen: number[] = [];
  await withServer(bodyHandler(seen), async (port) => {
    const chunk = "64\r\n" + "a".repeat(100) + "\r\n";
    const status = await rawStatus(port, [
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
      chunk.repeat(20),
    ]);
    assert.equal(status, 413);
    const ok = await rawStatus(port, [
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
      chunk.repeat(10) + "0\r\n\r\n",
    ]);
    assert.equal(ok, 200);
  });
  assert.deepEqual(seen, [1000]);
});

Deno.test("over the wire: a body that ends before its Content-Length is 400", async () => {
  const seen: number[] = [];
  await withServer(bodyHandler(seen), async (port) => {
    const status = await rawStatus(port, [
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
      "12345",
    ], true);
    assert.equal(status, 400);
  });
  assert.deepEqual(seen, []);
});
