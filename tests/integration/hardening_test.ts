import assert from "node:assert/strict";
import { App, type RejectInfo } from "../../mod.ts";
import {
  denoServe,
  hasCompleteResponse,
  parseResponse,
  rawExchange,
} from "../_helpers.ts";

const encoder = new TextEncoder();

function observedApp(options: ConstructorParameters<typeof App>[0] = {}) {
  const rejects: RejectInfo[] = [];
  const app = new App({ ...options, onReject: (r) => rejects.push(r) });
  app.get("/", (ctx) => ctx.text("ok"));
  app.post("/json", async (ctx) => ctx.json(await ctx.body.json()));
  app.post("/small", { limits: { bodyBytes: 1024 } }, async (ctx) => {
    const bytes = await ctx.body.bytes();
    return ctx.text(`got ${bytes.length}`);
  });
  app.get("/q", (ctx) => ctx.text(String([...ctx.query.keys()].length)));
  return { app, rejects };
}

Deno.test("request target over urlBytes is 414 before routing", async () => {
  const { app, rejects } = observedApp({ limits: { urlBytes: 64 } });
  const res = await app.request("/" + "a".repeat(100));
  assert.equal(res.status, 414);
  assert.match((await res.json()).detail, /urlBytes limit of 64 bytes/);
  assert.equal(rejects[0].reason, "url_too_long");
  assert.equal(rejects[0].status, 414);
  assert.equal((await app.request("/")).status, 200);
});

Deno.test("too many or too large header fields are 431", async () => {
  const { app, rejects } = observedApp({
    limits: { headerCount: 5, headerBytes: 200 },
  });
  const many: Record<string, string> = {};
  for (let i = 0; i < 6; i++) many[`x-h${i}`] = "1";
  const a = await app.request("/", { headers: many });
  assert.equal(a.status, 431);
  assert.match((await a.json()).detail, /headerCount limit of 5/);
  const b = await app.request("/", { headers: { "x-big": "v".repeat(300) } });
  assert.equal(b.status, 431);
  assert.match((await b.json()).detail, /headerBytes limit of 200 bytes/);
  assert.deepEqual(rejects.map((r) => r.reason), [
    "too_many_headers",
    "headers_too_large",
  ]);
});

Deno.test("more query parameters than queryParams is 400", async () => {
  const { app, rejects } = observedApp({ limits: { queryParams: 3 } });
  assert.equal(await (await app.request("/q?a=1&b=2&c=3")).text(), "3");
  const res = await app.request("/q?a=1&b=2&c=3&d=4");
  assert.equal(res.status, 400);
  assert.match((await res.json()).detail, /queryParams limit of 3/);
  assert.equal(rejects.at(-1)?.reason, "too_many_query_params");
});

Deno.test("declared Content-Length over the limit is 413 over a real socket", async () => {
  const { app, rejects } = observedApp();
  const server = denoServe(app);
  try {
    const text = await rawExchange(
      server.port,
      "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n" +
        "x".repeat(5000),
      { until: hasCompleteResponse },
    );
    const res = parseResponse(text);
    assert.equal(res.status, 413);
    assert.match(JSON.parse(res.body).detail, /bodyBytes limit of 1024 bytes/);
    assert.equal(rejects[0].reason, "body_too_large");
  } finally {
    await server.close();
  }
});

Deno.test("a chunked 10 MB upload to a 1 KiB route is refused early over a real socket", async () => {
  const { app } = observedApp();
  const server = denoServe(app);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(encoder.encode(
      "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    ));
    let response = "";
    const reading = (async () => {
      const buf = new Uint8Array(4096);
      while (!hasCompleteResponse(response)) {
        const n = await conn.read(buf);
        if (n === null) break;
        response += new TextDecoder().decode(buf.subarray(0, n));
      }
    })();
    const chunk = encoder.encode(`1000\r\n${"y".repeat(4096)}\r\n`);
    let sent = 0;
    while (sent < 10_000_000 && !hasCompleteResponse(response)) {
      await conn.write(chunk);
      sent += 4096;
      await new Promise((r) => setTimeout(r, 1));
    }
    await reading;
    assert.equal(parseResponse(response).status, 413);
    // The server answered long before the client could send 10 MB.
    assert.ok(sent < 1_000_000, `client sent ${sent} bytes before the 413`);
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("JSON nesting deeper than jsonDepth is 400, and __proto__ never pollutes", async () => {
  const { app, rejects } = observedApp({ limits: { jsonDepth: 16 } });
  const deep = "[".repeat(50) + "]".repeat(50);
  const res = await app.request("/json", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: deep,
  });
  assert.equal(res.status, 400);
  assert.match((await res.json()).detail, /jsonDepth limit of 16/);
  assert.equal(rejects.at(-1)?.reason, "json_too_deep");

  const evil =
    '{"a":1,"__proto__":{"polluted":"yes"},"b":[{"constructor":{"prototype":{"polluted":"yes"}}}]}';
  const ok = await app.request("/json", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: evil,
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(
    Object.prototype.hasOwnProperty.call(Object.prototype, "polluted"),
    false,
  );
});

Deno.test("Content-Type variants get the status the rule says, over a real socket", async () => {
  const { app } = observedApp();
  const server = denoServe(app);
  const cases: [string, number][] = [
    ["APPLICATION/JSON", 200],
    ["application/json ; charset=utf-8", 200],
    ["application/json\t", 200],
    ["application/problem+json", 200],
    ["application/jsonx", 415],
    ["text/plain", 415],
    ["application/json; charset", 415],
    ["application/json garbage", 415],
    ["/json", 415],
  ];
  try {
    for (const [type, status] of cases) {
      const body = '{"k":1}';
      const text = await rawExchange(
        server.port,
        `POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      assert.equal(parseResponse(text).status, status, JSON.stringify(type));
    }
  } finally {
    await server.close();
  }
});

Deno.test("malformed JSON is 400 naming the position, never 500", async () => {
  const { app } = observedApp();
  const res = await app.request("/json", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"a": tru}',
  });
  assert.equal(res.status, 400);
  assert.match((await res.json()).detail, /position/);
});

Deno.test("a body shorter than its Content-Length is 400 where the transport shows it", async () => {
  const { app } = observedApp();
  const server = denoServe(app);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(encoder.encode(
      "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b",
    ));
    await conn.closeWrite();
    const buf = new Uint8Array(4096);
    let text = "";
    const timer = setTimeout(() => conn.close(), 3000);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } catch {
      /* closed by timer */
    } finally {
      clearTimeout(timer);
    }
    // Deno.serve reports the truncated body to the App as a stream error.
    const res = parseResponse(text);
    assert.equal(res.status, 400);
    assert.match(JSON.parse(res.body).detail, /Content-Length|ended/i);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
    await server.close();
  }
});

Deno.test("header limits hold over a real socket, repeated fields counted one by one", async () => {
  const { app, rejects } = observedApp({
    limits: { headerCount: 5, headerBytes: 300 },
  });
  const server = denoServe(app);
  try {
    const many = "X-Dup: 1\r\n".repeat(5);
    const a = parseResponse(
      await rawExchange(
        server.port,
        `GET / HTTP/1.1\r\nHost: x\r\n${many}Connection: close\r\n\r\n`,
      ),
    );
    assert.equal(a.status, 431);
    const b = parseResponse(
      await rawExchange(
        server.port,
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${
          "v".repeat(400)
        }\r\nConnection: close\r\n\r\n`,
      ),
    );
    assert.equal(b.status, 431);
    const ok = parseResponse(
      await rawExchange(
        server.port,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      ),
    );
    assert.equal(ok.status, 200);
    assert.deepEqual(rejects.map((r) => r.reason), [
      "too_many_headers",
      "headers_too_large",
    ]);
  } finally {
    await server.close();
  }
});
