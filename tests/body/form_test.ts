import assert from "node:assert/strict";
import { HttpError } from "../../src/http/errors.ts";
import { parseUrlEncoded } from "../../src/body/form.ts";
import { formFromParts } from "../../src/body/multipart_form.ts";
import { parseMultipartStream } from "../../src/body/multipart_stream.ts";

const enc = new TextEncoder();

function status(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
    return error.status;
  }
  assert.fail("did not throw");
}

async function statusOf(fn: () => Promise<unknown>): Promise<number> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
    return error.status;
  }
  assert.fail("did not throw");
}

/** What `ctx.body.form()` does with a multipart body. */
function parseMultipart(
  bytes: Uint8Array,
  boundary: string,
  maxFields: number,
): Promise<FormData> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
  const big = 1 << 30;
  return formFromParts(parseMultipartStream(stream, boundary, {
    bodyBytes: big,
    fileBytes: big,
    fieldBytes: big,
    files: 1000,
    formFields: maxFields,
    partHeaderBytes: 16 * 1024,
  }));
}

Deno.test("parseUrlEncoded decodes pairs like URLSearchParams", () => {
  const form = parseUrlEncoded(
    enc.encode("a=1&b=x+y&c=%C3%A9%26&&d&=e&a=2&bad=%zz"),
    1000,
  );
  assert.deepEqual([...form], [
    ["a", "1"],
    ["b", "x y"],
    ["c", "é&"],
    ["d", ""],
    ["", "e"],
    ["a", "2"],
    ["bad", "%zz"],
  ]);
  assert.deepEqual([...parseUrlEncoded(new Uint8Array(0), 1)], []);
  assert.deepEqual([...parseUrlEncoded(enc.encode("&&&"), 1)], []);
});

Deno.test("parseUrlEncoded enforces formFields with 413", () => {
  assert.equal([...parseUrlEncoded(enc.encode("a=1&b=2&c=3"), 3)].length, 3);
  assert.equal(
    status(() => parseUrlEncoded(enc.encode("a=1&b=2&c=3"), 2)),
    413,
  );
  // Empty pairs are not fields.
  assert.equal([...parseUrlEncoded(enc.encode("a=1&&&&b=2&"), 2)].length, 2);
  const many = enc.encode("a&".repeat(100_000));
  try {
    parseUrlEncoded(many, 1000);
    assert.fail("did not throw");
  } catch (error) {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 413);
    assert.equal(
      error.message,
      "Form exceeds the formFields limit of 1000 fields",
    );
  }
});

function multipart(boundary: string, parts: string[], close = true): string {
  let out = "";
  for (const part of parts) out += `--${boundary}\r\n${part}\r\n`;
  if (close) out += `--${boundary}--\r\n`;
  return out;
}

const field = (name: string, value: string): string =>
  `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;

Deno.test("multipart form: fields and files", async () => {
  const body = multipart("XyZ", [
    field("a", "1"),
    field("text", "line 1\r\nline 2 --XyZ not a delimiter"),
    'Content-Disposition: form-data; name="file"; filename="r\u00c3\u00a9sum\u00c3\u00a9.txt"\r\n' +
    "Content-Type: text/plain; charset=utf-8\r\n\r\nfile\r\nbody",
    'content-disposition: form-data; name="empty"; filename=""\r\n\r\n',
  ]);
  // The file name is sent as raw UTF-8 bytes, as browsers do.
  const bytes = Uint8Array.from(body, (c) => c.charCodeAt(0));
  const form = await parseMultipart(bytes, "XyZ", 1000);
  assert.equal(form.get("a"), "1");
  assert.equal(form.get("text"), "line 1\r\nline 2 --XyZ not a delimiter");
  const file = form.get("file");
  assert.ok(file instanceof File);
  assert.equal(file.name, "résumé.txt");
  assert.equal(file.type, "text/plain; charset=utf-8");
  assert.equal(file.size, 10);
  const empty = form.get("empty");
  assert.ok(empty instanceof File);
  assert.equal(empty.name, "");
  assert.equal(empty.type, "application/octet-stream");
  assert.equal(empty.size, 0);
});

Deno.test("multipart form: binary file bytes kept exactly", async () => {
  const content = new Uint8Array(256);
  for (let i = 0; i < 256; i++) content[i] = i;
  const head = enc.encode(
    '--b\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n',
  );
  const tail = enc.encode("\r\n--b--");
  const body = new Uint8Array(head.length + content.length + tail.length);
  body.set(head);
  body.set(content, head.length);
  body.set(tail, head.length + content.length);
  const file = (await parseMultipart(body, "b", 10)).get("f");
  assert.ok(file instanceof File);
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), content);
});

Deno.test("multipart form: preamble, epilogue and transport padding ignored", async () => {
  const body = "preamble\r\n--b \t\r\n" + field("a", "1") + "\r\n--b\r\n" +
    field("b", "2") + "\r\n--b--epilogue\r\n--b\r\n" + field("c", "3");
  const form = await parseMultipart(enc.encode(body), "b", 10);
  assert.deepEqual([...form], [["a", "1"], ["b", "2"]]);
});

Deno.test("multipart form: what Deno serializes", async () => {
  const input = new FormData();
  input.append("name", "palisade");
  input.append("doc", new File(["hello"], "h.txt", { type: "text/plain" }));
  const req = new Request("http://x/", { method: "POST", body: input });
  const boundary = req.headers.get("content-type")!.split("boundary=")[1];
  const form = await parseMultipart(
    new Uint8Array(await req.arrayBuffer()),
    boundary,
    2,
  );
  assert.equal(form.get("name"), "palisade");
  const doc = form.get("doc");
  assert.ok(doc instanceof File);
  assert.equal(doc.name, "h.txt");
  assert.equal(await doc.text(), "hello");
});

Deno.test("multipart form: formFields enforced with 413", async () => {
  const body = enc.encode(multipart("b", [field("a", "1"), field("b", "2")]));
  assert.equal([...await parseMultipart(body, "b", 2)].length, 2);
  assert.equal(await statusOf(() => parseMultipart(body, "b", 1)), 413);
});

Deno.test("multipart form: malformed bodies are 400", async () => {
  const ok = multipart("b", [field("a", "1")]);
  const cases: [string, string][] = [
    ["", ok],
    ["b ", ok],
    ["x".repeat(71), ok],
    ["b\u00e9", ok],
    ["b", multipart("b", [field("a", "1")], false)],
    ["b", "--b\r\n" + field("a", "1")],
    ["b", "no boundary here"],
    ["b", ""],
    ["c", ok],
    ["b", "--b\r\nX-Other: 1\r\n\r\nv\r\n--b--"],
    ["b", "--b\r\n\r\nv\r\n--b--"],
    ["b", "--b\r\nno colon\r\n\r\nv\r\n--b--"],
    ["b", "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--b--"],
    ["b", "--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--"],
    ["b", '--b\r\nContent-Disposition: form-data; name="a\r\n\r\nv\r\n--b--'],
    ["b", "--bjunk\r\n" + field("a", "1") + "\r\n--b--"],
    ["b", "--b\r\n" + field("a", "1") + "\r\n--bjunk"],
    ["b", "--b\r\nContent-Disposition: form-data; name=a"],
    [
      "b",
      "--b\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n\r\nv\r\n--b--",
    ],
    [
      "b",
      "--b\r\nContent-Disposition: form-data; name=a; filename=f\r\nContent-Type: bad\r\n\r\nv\r\n--b--",
    ],
  ];
  for (const [boundary, body] of cases) {
    assert.equal(
      await statusOf(() => parseMultipart(enc.encode(body), boundary, 10)),
      400,
      `${JSON.stringify(boundary)} ${JSON.stringify(body)}`,
    );
  }
});
