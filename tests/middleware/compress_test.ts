import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { compress, isCompressible } from "../../src/middleware/compress.ts";
import { serve } from "../../src/server/serve.ts";

const BIG = JSON.stringify(
  Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })),
);
const enc = new TextEncoder();

async function decode(
  res: Response | Uint8Array<ArrayBuffer>,
  format: CompressionFormat,
): Promise<string> {
  const body = res instanceof Response ? res.body! : new Blob([res]).stream();
  return await new Response(body.pipeThrough(new DecompressionStream(format)))
    .text();
}

function appWith(options?: Parameters<typeof compress>[0]): App {
  const app = new App();
  app.use(compress(options));
  app.get("/big", (ctx) => ctx.json(JSON.parse(BIG)));
  app.get("/small", (ctx) => ctx.json({ ok: true }));
  app.get("/text", (ctx) => ctx.text("x".repeat(2000)));
  app.get("/png", () =>
    new Response(new Uint8Array(4096), {
      headers: { "content-type": "image/png" },
    }));
  app.get("/untyped", () => new Response(new Uint8Array(4096)));
  app.get("/headers", (ctx) =>
    new Response(BIG, {
      status: Number(ctx.query.get("status") ?? 200),
      headers: JSON.parse(ctx.query.get("h") ?? "{}"),
    }));
  app.get("/events", { deadlineMs: 0 }, (ctx) =>
    ctx.sse(async (sse) => {
      await sse.send({ data: "x".repeat(2000) });
    }));
  return app;
}

function get(
  app: App,
  path: string,
  headers: Record<string, string> = { "accept-encoding": "gzip, deflate" },
  method = "GET",
): Promise<Response> {
  return Promise.resolve(app.request(path, { method, headers }));
}

function headersPath(h: Record<string, string>, status = 200): string {
  return `/headers?status=${status}&h=${encodeURIComponent(JSON.stringify(h))}`;
}

Deno.test("gzip and deflate: body decodes, Content-Length removed, Vary set", async () => {
  const app = appWith();
  for (const coding of ["gzip", "deflate"] as const) {
    const res = await get(app, "/big", { "accept-encoding": coding });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-encoding"), coding);
    assert.equal(res.headers.get("vary"), "Accept-Encoding");
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await decode(res, coding), BIG);
  }
});

Deno.test("a byte body keeps an exact length of its compressed form", async () => {
  const app = appWith();
  const res = await get(app, "/text", { "accept-encoding": "gzip" });
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.ok(bytes.length < 100, `${bytes.length} bytes`);
  assert.equal(await decode(bytes, "gzip"), "x".repeat(2000));
});

Deno.test("q-values choose the coding", async () => {
  const app = appWith();
  const res = await get(app, "/big", {
    "accept-encoding": "gzip;q=0.4, deflate;q=0.8",
  });
  assert.equal(res.headers.get("content-encoding"), "deflate");
  const pref = await get(appWith({ encodings: ["deflate", "gzip"] }), "/big", {
    "accept-encoding": "gzip, deflate",
  });
  assert.equal(pref.headers.get("content-encoding"), "deflate");
  const refused = await get(app, "/big", { "accept-encoding": "gzip;q=0" });
  assert.equal(refused.headers.get("content-encoding"), null);
  assert.equal(await refused.text(), BIG);
  const identity = await get(app, "/big", {
    "accept-encoding": "identity, gzip;q=0.5",
  });
  assert.equal(identity.headers.get("content-encoding"), null);
});

Deno.test("no or unknown Accept-Encoding: as it is, but still Vary", async () => {
  const app = appWith();
  for (
    const headers of [{}, { "accept-encoding": "br" }] as Record<
      string,
      string
    >[]
  ) {
    const res = await get(app, "/big", headers);
    assert.equal(res.headers.get("content-encoding"), null);
    assert.equal(res.headers.get("vary"), "Accept-Encoding");
    assert.equal(await res.text(), BIG);
  }
});

Deno.test("below thresholdBytes stays as it is; identity;q=0 compresses it anyway", async () => {
  const app = appWith();
  const small = await get(app, "/small");
  assert.equal(small.headers.get("content-encoding"), null);
  assert.equal(small.headers.get("vary"), null, "never compressed: no Vary");
  assert.equal(await small.text(), '{"ok":true}');
  const refused = await get(app, "/small", {
    "accept-encoding": "gzip, identity;q=0",
  });
  assert.equal(refused.headers.get("content-encoding"), "gzip");
  assert.equal(refused.headers.get("vary"), "Accept-Encoding");
  assert.equal(await decode(refused, "gzip"), '{"ok":true}');
  const wide = new App();
  wide.use(compress({ thresholdBytes: 1500 }));
  for (const text of ["é".repeat(700), "é".repeat(800), "€".repeat(499)]) {
    wide.get(
      `/${text.length}${text[0] === "é" ? "e" : "u"}`,
      (ctx) => ctx.text(text),
    );
  }
  // 1400 and 1600 UTF-8 bytes from 700 and 800 UTF-16 units; 1497 bytes.
  const sizes: [string, string | null][] = [
    ["/700e", null],
    ["/800e", "gzip"],
    ["/499u", null],
  ];
  for (const [path, expected] of sizes) {
    const res = await get(wide, path);
    assert.equal(res.headers.get("content-encoding"), expected, path);
    await res.body?.cancel();
  }
  const all = await get(appWith({ thresholdBytes: 0 }), "/small");
  assert.equal(all.headers.get("content-encoding"), "gzip");
  const high = await get(appWith({ thresholdBytes: 1 << 20 }), "/big");
  assert.equal(high.headers.get("content-encoding"), null);
});

Deno.test("a declared Content-Length under the threshold is honoured for streams", async () => {
  const app = new App();
  app.use(compress());
  app.get("/s", () =>
    new Response(new Blob(["x".repeat(100)]).stream(), {
      headers: { "content-type": "text/plain", "content-length": "100" },
    }));
  app.get("/u", () =>
    new Response(new Blob(["x".repeat(100)]).stream(), {
      headers: { "content-type": "text/plain" },
    }));
  const known = await get(app, "/s");
  assert.equal(known.headers.get("content-encoding"), null);
  assert.equal(await known.text(), "x".repeat(100));
  const unknown = await get(app, "/u");
  assert.equal(unknown.headers.get("content-encoding"), "gzip");
  assert.equal(await decode(unknown, "gzip"), "x".repeat(100));
});

Deno.test("skips: HEAD, Range, 204, 206, 304, Content-Range, Content-Encoding, no-transform", async () => {
  const app = appWith();
  const head = await get(app, "/big", undefined, "HEAD");
  assert.equal(head.headers.get("content-encoding"), null);
  const range = await get(app, "/big", {
    "accept-encoding": "gzip",
    range: "bytes=0-10",
  });
  assert.equal(range.headers.get("content-encoding"), null);
  await range.body?.cancel();
  const cases: [Record<string, string>, number][] = [
    [{ "content-type": "text/plain" }, 206],
    [{ "content-type": "text/plain", "content-range": "bytes 0-9/100" }, 200],
    [{ "content-type": "text/plain", "content-encoding": "br" }, 200],
    [
      { "content-type": "text/plain", "cache-control": "public, No-Transform" },
      200,
    ],
  ];
  for (const [h, status] of cases) {
    const res = await get(app, headersPath(h, status));
    assert.equal(res.status, status);
    assert.equal(
      res.headers.get("content-encoding"),
      h["content-encoding"] ?? null,
      JSON.stringify(h),
    );
    assert.equal(await res.text(), BIG);
  }
  for (const status of [204, 304]) {
    const empty = new App();
    empty.use(compress({ thresholdBytes: 0 }));
    empty.get("/", () =>
      new Response(null, {
        status,
        headers: { "content-type": "text/plain" },
      }));
    const res = await get(empty, "/");
    assert.equal(res.status, status);
    assert.equal(res.headers.get("content-encoding"), null);
  }
});

Deno.test("types: compressible only; none without Content-Type; SSE left alone", async () => {
  const app = appWith();
  const png = await get(app, "/png");
  assert.equal(png.headers.get("content-encoding"), null);
  assert.equal(png.headers.get("vary"), null);
  await png.body?.cancel();
  const untyped = await get(app, "/untyped");
  assert.equal(untyped.headers.get("content-encoding"), null);
  await untyped.body?.cancel();
  const sse = await get(app, "/events");
  assert.equal(sse.headers.get("content-encoding"), null);
  assert.match(await sse.text(), /^data: x+/);
  const custom = await get(
    appWith({ compressible: (type) => type === "image/png" }),
    "/png",
  );
  assert.equal(custom.headers.get("content-encoding"), "gzip");
  await custom.body?.cancel();
});

Deno.test("isCompressible: the default media types", () => {
  for (
    const type of [
      "text/html",
      "text/css",
      "text/plain",
      "application/json",
      "application/problem+json",
      "application/ld+json",
      "application/xml",
      "application/atom+xml",
      "image/svg+xml",
      "application/javascript",
      "application/wasm",
    ]
  ) assert.equal(isCompressible(type), true, type);
  for (
    const type of [
      "text/event-stream",
      "image/png",
      "image/jpeg",
      "font/woff2",
      "application/zip",
      "application/octet-stream",
      "video/mp4",
      "application/x-ndjson",
    ]
  ) assert.equal(isCompressible(type), false, type);
});

Deno.test("Vary is appended, not clobbered; ETag weakened; Accept-Ranges dropped", async () => {
  const app = appWith();
  const res = await get(
    app,
    headersPath({
      "content-type": "text/plain; charset=utf-8",
      vary: "Origin",
      etag: '"abc"',
      "accept-ranges": "bytes",
    }),
  );
  assert.equal(res.headers.get("content-encoding"), "gzip");
  assert.equal(res.headers.get("vary"), "Origin, Accept-Encoding");
  assert.equal(res.headers.get("etag"), 'W/"abc"');
  assert.equal(res.headers.get("accept-ranges"), null);
  await res.body?.cancel();
  for (
    const [vary, etag] of [["accept-encoding", 'W/"w"'], ["*", 'W/"x"']]
  ) {
    const r = await get(
      app,
      headersPath({ "content-type": "text/plain", vary, etag }),
    );
    assert.equal(r.headers.get("vary"), vary);
    assert.equal(r.headers.get("etag"), etag, "a weak ETag stays as it is");
    await r.body?.cancel();
  }
});

Deno.test("a streamed body is compressed as it is produced, never buffered", async () => {
  const total = 64;
  let produced = 0;
  const app = new App();
  app.use(compress());
  app.get("/stream", (ctx) =>
    ctx.stream(
      (async function* () {
        for (; produced < total;) {
          produced++;
          // Incompressible text, so the compressor emits output early.
          yield btoa(
            String.fromCharCode(
              ...crypto.getRandomValues(new Uint8Array(12288)),
            ),
          );
        }
      })(),
      { headers: { "content-type": "text/plain" } },
    ));
  const res = await get(app, "/stream", { "accept-encoding": "gzip" });
  assert.equal(res.headers.get("content-encoding"), "gzip");
  const reader = res.body!.pipeThrough(new DecompressionStream("gzip"))
    .getReader();
  const first = await reader.read();
  assert.ok(first.value!.length > 0);
  assert.ok(produced < total, `produced ${produced} of ${total} chunks first`);
  let length = first.value!.length;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
  }
  assert.equal(produced, total);
  assert.equal(length, total * 16384);
});

Deno.test("invalid options are refused at factory time", () => {
  assert.throws(
    () => compress({ thresholdBytes: -1 }),
    /Option thresholdBytes must be a non-negative integer, got -1/,
  );
  assert.throws(
    () => compress({ encodings: ["br" as "gzip"] }),
    /Option encodings must list only "gzip" and "deflate", got br/,
  );
  assert.throws(() => compress({ encodings: [] }), /Option encodings/);
  assert.throws(
    () => compress({ compressible: "text/*" as unknown as () => boolean }),
    /Option compressible must be a function/,
  );
});

Deno.test("Deno 2.9.6 CompressionStream has no br: compress offers gzip and deflate", () => {
  assert.throws(
    () => new CompressionStream("br" as CompressionFormat),
    TypeError,
  );
});

interface RawBytesResponse {
  status: number;
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
}

/** GET over a raw socket (Connection: close), body de-chunked as bytes. */
async function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<RawBytesResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let head = `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  await conn.write(enc.encode(head + "\r\n"));
  const raw = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  const end = raw.findIndex((_, i) =>
    raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13 && raw[i + 3] === 10
  );
  const lines = new TextDecoder().decode(raw.subarray(0, end)).split("\r\n");
  const out = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    out.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if (out.get("transfer-encoding") === "chunked") {
    const parts: number[] = [];
    let i = 0;
    while (true) {
      let nl = i;
      while (body[nl] !== 13) nl++;
      const size = parseInt(new TextDecoder().decode(body.subarray(i, nl)), 16);
      if (size === 0) break;
      parts.push(...body.subarray(nl + 2, nl + 2 + size));
      i = nl + 2 + size + 2;
    }
    body = new Uint8Array(parts);
  }
  return { status: Number(lines[0].split(" ")[1]), headers: out, body };
}

for (const transport of ["h1", "deno"] as const) {
  Deno.test(`over a real socket (${transport}): compressed static and streamed bodies decode`, async () => {
    const app = appWith();
    app.get("/chunks", (ctx) =>
      ctx.stream(
        (async function* () {
          for (let i = 0; i < 50; i++) yield `line ${i} ${"y".repeat(100)}\n`;
        })(),
        { headers: { "content-type": "text/plain" } },
      ));
    const server = serve(app, {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    try {
      const port = server.addr.port;
      for (const coding of ["gzip", "deflate"] as const) {
        const res = await rawGet(port, "/big", { "accept-encoding": coding });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-encoding"), coding);
        assert.equal(res.headers.get("vary"), "Accept-Encoding");
        assert.equal(await decode(res.body, coding), BIG);
      }
      const streamed = await rawGet(port, "/chunks", {
        "accept-encoding": "gzip",
      });
      assert.equal(streamed.headers.get("content-encoding"), "gzip");
      assert.equal(streamed.headers.get("content-length"), null);
      const text = await decode(streamed.body, "gzip");
      assert.equal(text.split("\n").length, 51);
      const plain = await rawGet(port, "/big", {});
      assert.equal(plain.headers.get("content-encoding"), null);
      assert.equal(new TextDecoder().decode(plain.body), BIG);
    } finally {
      await server.shutdown();
    }
  });
}
