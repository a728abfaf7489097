import assert from "node:assert/strict";
import {
  isValidRequestId,
  MAX_REQUEST_ID_LENGTH,
  newRequestId,
} from "../../src/http/request_id.ts";

Deno.test("request id: printable ASCII ids up to 200 characters are kept", () => {
  assert.ok(isValidRequestId("a"));
  assert.ok(isValidRequestId("4bf92f3577b34da6a3ce929d0e0e4736"));
  assert.ok(isValidRequestId("Root=1-67891233-abcdef012345678912345678"));
  assert.ok(isValidRequestId("!~{}[]\"'\\/:;=?@#$%^&*()_+-."));
  assert.ok(isValidRequestId("x".repeat(MAX_REQUEST_ID_LENGTH)));
});

Deno.test("request id: empty, long, spaced, control and non-ASCII ids are refused", () => {
  assert.equal(MAX_REQUEST_ID_LENGTH, 200);
  assert.ok(!isValidRequestId(""));
  assert.ok(!isValidRequestId("x".repeat(201)));
  assert.ok(!isValidRequestId("x".repeat(100_000)));
  assert.ok(!isValidRequestId("a b"));
  assert.ok(!isValidRequestId("a\tb"));
  assert.ok(!isValidRequestId("a\nb"));
  assert.ok(!isValidRequestId("a\r\nx-injected: 1"));
  assert.ok(!isValidRequestId("a\x00b"));
  assert.ok(!isValidRequestId("a\x7fb"));
  assert.ok(!isValidRequestId("café"));
  assert.ok(!isValidRequestId("😀"));
});

Deno.test("request id: generated ids are valid and unique", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const id = newRequestId();
    assert.ok(isValidRequestId(id), id);
    seen.add(id);
  }
  assert.equal(seen.size, 10_000);
});

Deno.test("request id: generated ids share a per-process random prefix", () => {
  const a = newRequestId();
  const b = newRequestId();
  const prefix = a.slice(0, a.indexOf("-") + 1);
  assert.ok(prefix.length > 1);
  assert.ok(b.startsWith(prefix));
  assert.notEqual(a, b);
});

Deno.test("request id: ids round-trip over the wire, on errors too", async () => {
  const { App } = await import("../../src/app/app.ts");
  const { serve } = await import("../../src/server/serve.ts");
  const app = new App();
  const seen: string[] = [];
  app.get("/ok", (ctx) => {
    seen.push(ctx.requestId);
    return ctx.text("ok");
  });
  app.get("/boom", () => {
    throw new Error("boom");
  });
  const server = serve(app, {
    hostname: "127.0.0.1",
    port: 0,
    shutdown: { signals: [] },
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  async function idOf(path: string, id?: string): Promise<[number, string]> {
    const res = await fetch(base + path, {
      headers: id === undefined ? {} : { "x-request-id": id },
    });
    await res.body?.cancel();
    return [res.status, res.headers.get("x-request-id") ?? ""];
  }
  try {
    const incoming = "Root=1-67891233-abcdef012345678912345678";
    assert.deepEqual(await idOf("/ok", incoming), [200, incoming]);
    assert.equal(seen[0], incoming);
    assert.deepEqual(await idOf("/missing", "abc"), [404, "abc"]);
    assert.deepEqual(await idOf("/boom", "def"), [500, "def"]);
    // The h1 engine refuses an overlong target at the request line, before
    // reading any header: its 414 carries a new id, not the incoming one.
    const [tooLong, newId] = await idOf("/" + "x".repeat(9000), "ghi");
    assert.equal(tooLong, 414);
    assert.ok(isValidRequestId(newId) && newId !== "ghi", newId);
    for (const bad of ["a b", "x".repeat(201)]) {
      const [status, id] = await idOf("/ok", bad);
      assert.equal(status, 200);
      assert.notEqual(id, bad);
      assert.ok(isValidRequestId(id));
    }
    const [, generated] = await idOf("/ok");
    assert.ok(isValidRequestId(generated));
    assert.equal(seen.at(-1), generated);
  } finally {
    await server.shutdown();
  }
});
