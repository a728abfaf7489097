/**
 * What `compress()` costs per request on a 64 KiB JSON body, against the
 * same request without it, and what it costs on a small response it
 * leaves alone; and the two compressors it uses (node:zlib for a body in
 * memory, `CompressionStream` for a stream) on their own. Prints the
 * compression ratio of each coding once.
 *
 * Run: `deno bench bench/compress_bench.ts`
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { App } from "../src/app/app.ts";
import { compress } from "../src/middleware/compress.ts";

const items = [];
for (
  let i = 0;
  items.length === 0 || JSON.stringify(items).length < 65536;
  i++
) {
  items.push({
    id: i,
    name: `item ${i}`,
    price: Math.round(i * 137.5) / 100,
    tags: ["a", "b", String(i % 7)],
    inStock: i % 3 !== 0,
  });
}
const BODY = JSON.stringify(items);
const SIZE = new TextEncoder().encode(BODY).length;
const CHUNK = 16 * 1024;

function routes(app: App): App {
  app.get(
    "/json",
    () =>
      new Response(BODY, { headers: { "content-type": "application/json" } }),
  );
  app.get("/stream", () => {
    let offset = 0;
    const stream = new ReadableStream<string>({
      pull(controller) {
        if (offset >= BODY.length) return controller.close();
        controller.enqueue(BODY.slice(offset, offset += CHUNK));
      },
    }).pipeThrough(new TextEncoderStream());
    return new Response(stream, {
      headers: { "content-type": "application/json" },
    });
  });
  app.get("/small", (ctx) => ctx.json({ ok: true }));
  return app;
}

const plain = routes(new App({ metrics: false, requestIdHeader: false }));
const compressed = new App({ metrics: false, requestIdHeader: false });
compressed.use(compress());
routes(compressed);

async function fetchBytes(
  app: App,
  path: string,
  encoding?: string,
): Promise<number> {
  const headers = encoding === undefined ? undefined : {
    "accept-encoding": encoding,
  };
  const res = await app.request(path, { headers });
  return (await res.arrayBuffer()).byteLength;
}

for (const coding of ["gzip", "deflate"]) {
  const bytes = await fetchBytes(compressed, "/json", coding);
  const streamed = await fetchBytes(compressed, "/stream", coding);
  console.log(
    `${coding}: ${SIZE} → ${bytes} bytes (ratio ${
      (SIZE / bytes).toFixed(2)
    }:1, ${
      (100 * bytes / SIZE).toFixed(1)
    }%); streamed in ${CHUNK}-byte chunks: ${streamed} bytes`,
  );
}

const group = "64 KiB JSON";
Deno.bench({
  name: "no compress()",
  group,
  baseline: true,
  async fn() {
    await fetchBytes(plain, "/json", "gzip");
  },
});
Deno.bench({
  name: "compress(), no Accept-Encoding",
  group,
  async fn() {
    await fetchBytes(compressed, "/json");
  },
});
Deno.bench({
  name: "compress() gzip, string body",
  group,
  async fn() {
    await fetchBytes(compressed, "/json", "gzip");
  },
});
Deno.bench({
  name: "compress() deflate, string body",
  group,
  async fn() {
    await fetchBytes(compressed, "/json", "deflate");
  },
});
Deno.bench({
  name: "no compress(), streamed body",
  group,
  async fn() {
    await fetchBytes(plain, "/stream", "gzip");
  },
});
Deno.bench({
  name: "compress() gzip, streamed body (CompressionStream)",
  group,
  async fn() {
    await fetchBytes(compressed, "/stream", "gzip");
  },
});

const small = "small JSON (left as it is)";
Deno.bench({
  name: "no compress()",
  group: small,
  baseline: true,
  async fn() {
    await fetchBytes(plain, "/small", "gzip, deflate, br");
  },
});
Deno.bench({
  name: "compress()",
  group: small,
  async fn() {
    await fetchBytes(compressed, "/small", "gzip, deflate, br");
  },
});

const alone = "gzip of 64 KiB alone";
Deno.bench({
  name: "CompressionStream",
  group: alone,
  baseline: true,
  async fn() {
    const body = new Response(BODY).body!.pipeThrough(
      new CompressionStream("gzip"),
    );
    await new Response(body).arrayBuffer();
  },
});
Deno.bench({
  name: "node:zlib gzipSync",
  group: alone,
  fn() {
    gzipSync(BODY);
  },
});
