import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { App } from "../../src/app/app.ts";
import { HashEtags } from "../../src/static/hash_etag.ts";
import { serveStatic } from "../../src/static/mod.ts";
import {
  canWrite,
  NEEDS_WRITE,
  ROOT,
  staticApp,
  withTempDir,
} from "./_helpers.ts";

function sha(bytes: Uint8Array): string {
  return `"${
    createHash("sha256").update(bytes).digest("base64url").slice(0, 22)
  }"`;
}

Deno.test("etag: hash sends a content hash, the same for identical content", async () => {
  const app = staticApp({ etag: "hash", precompressed: true });
  const res = await app.request("/assets/app.js");
  await res.body?.cancel();
  assert.equal(
    res.headers.get("etag"),
    sha(Deno.readFileSync(`${ROOT}/app.js`)),
  );
  const gz = await app.request("/assets/app.js", {
    headers: { "accept-encoding": "gzip" },
  });
  await gz.body?.cancel();
  assert.equal(
    gz.headers.get("etag"),
    sha(Deno.readFileSync(`${ROOT}/app.js.gz`)).slice(0, -1) + '-gzip"',
  );
  const again = await app.request("/assets/app.js", {
    headers: { "if-none-match": res.headers.get("etag")! },
  });
  assert.equal(again.status, 304);
});

Deno.test("HashEtags: computed once per (path, size, mtime), bounded LRU", async () => {
  const cache = new HashEtags(2);
  const files = ["hello.txt", "app.js", "index.html"].map((f) =>
    `${ROOT}/${f}`
  );
  const stat = (p: string) => Deno.statSync(p);
  const original = Deno.open;
  let opens = 0;
  Deno.open = ((...a: Parameters<typeof Deno.open>) => {
    opens++;
    return original(...a);
  }) as typeof Deno.open;
  try {
    const [a, b, c] = files;
    const tag = (p: string) => cache.get(p, stat(p).size, stat(p).mtime, "");
    const [t1, t2] = await Promise.all([tag(a), tag(a)]);
    assert.equal(t1, t2);
    assert.equal(opens, 1, "concurrent requests share one computation");
    await tag(a);
    assert.equal(opens, 1);
    await tag(b);
    await tag(a); // refresh a: b is now the oldest
    await tag(c); // evicts b
    assert.equal(cache.size, 2);
    assert.equal(opens, 3);
    await tag(a);
    assert.equal(opens, 3);
    await tag(b);
    assert.equal(opens, 4);
    // Another size or mtime is another entry.
    await cache.get(a, 1, stat(a).mtime, "");
    assert.equal(opens, 5);
  } finally {
    Deno.open = original;
  }
});

Deno.test({
  name: `etag: hash follows a file that is rewritten${
    canWrite ? "" : ` (${NEEDS_WRITE})`
  }`,
  ignore: !canWrite,
  fn: () =>
    withTempDir(async (dir) => {
      Deno.writeTextFileSync(`${dir}/a.txt`, "one");
      const app = new App();
      app.get("/f/*", serveStatic({ root: dir, etag: "hash" }));
      const first = await app.request("/f/a.txt");
      assert.equal(await first.text(), "one");
      Deno.writeTextFileSync(`${dir}/a.txt`, "two!");
      const second = await app.request("/f/a.txt");
      assert.equal(await second.text(), "two!");
      assert.equal(
        second.headers.get("etag"),
        sha(new TextEncoder().encode("two!")),
      );
      assert.notEqual(first.headers.get("etag"), second.headers.get("etag"));
    }),
});
