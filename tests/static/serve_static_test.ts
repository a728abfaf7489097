import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serveStatic } from "../../src/static/mod.ts";
import {
  canWrite,
  NEEDS_WRITE,
  ROOT,
  SECRET,
  staticApp,
  withTempDir,
} from "./_helpers.ts";

/** Counts `Deno.open` and `Deno.openSync` calls made while `fn` runs. */
async function countOpens(fn: () => Promise<void>): Promise<number> {
  const { open, openSync } = Deno;
  let opens = 0;
  Deno.open = ((...args: Parameters<typeof Deno.open>) => {
    opens++;
    return open(...args);
  }) as typeof Deno.open;
  Deno.openSync = ((...args: Parameters<typeof Deno.openSync>) => {
    opens++;
    return openSync(...args);
  }) as typeof Deno.openSync;
  try {
    await fn();
  } finally {
    Deno.open = open;
    Deno.openSync = openSync;
  }
  return opens;
}

Deno.test("serves a file with its type, length, validators and caching headers", async () => {
  const app = staticApp();
  const res = await app.request("/assets/hello.txt");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "hello world\n");
  const stat = Deno.statSync(`${ROOT}/hello.txt`);
  const h = res.headers;
  assert.equal(h.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(h.get("x-content-type-options"), "nosniff");
  assert.equal(h.get("content-length"), "12");
  assert.equal(h.get("accept-ranges"), "bytes");
  assert.equal(h.get("cache-control"), "public, max-age=0");
  assert.equal(
    h.get("last-modified"),
    new Date(Math.floor(stat.mtime!.getTime() / 1000) * 1000).toUTCString(),
  );
  assert.equal(
    h.get("etag"),
    `"${stat.size.toString(16)}-${stat.mtime!.getTime().toString(16)}"`,
  );
  assert.equal(h.get("vary"), null);
});

Deno.test("content types: mime-db table, charset on text, octet-stream default, overrides", async () => {
  const app = staticApp();
  const type = async (path: string, a = app) => {
    const res = await a.request(path);
    await res.body?.cancel();
    return res.headers.get("content-type");
  };
  assert.equal(await type("/assets/app.js"), "text/javascript; charset=utf-8");
  assert.equal(await type("/assets/index.html"), "text/html; charset=utf-8");
  assert.equal(
    await type("/assets/blob.unknownext"),
    "application/octet-stream",
  );
  const custom = staticApp({
    mimeTypes: { txt: "text/x-custom", ".UNKNOWNEXT": "application/x-thing" },
  });
  assert.equal(
    await type("/assets/hello.txt", custom),
    "text/x-custom; charset=utf-8",
  );
  assert.equal(
    await type("/assets/blob.unknownext", custom),
    "application/x-thing",
  );
  assert.equal(
    await type("/assets/app.js", custom),
    "text/javascript; charset=utf-8",
  );
});

Deno.test("directories: index, relative 301 to the slash form, 404 without index", async () => {
  const app = staticApp();
  let res = await app.request("/assets/");
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<title>home<\/title>/);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");

  res = await app.request("/assets/docs/");
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<title>docs<\/title>/);

  res = await app.request("/assets/docs?v=1");
  assert.equal(res.status, 301);
  assert.equal(res.headers.get("location"), "./docs/?v=1");
  res = await app.request("/assets");
  assert.equal(res.status, 301);
  assert.equal(res.headers.get("location"), "./assets/");

  for (
    const path of ["/assets/noindex/", "/assets/noindex", "/assets/hello.txt/"]
  ) {
    res = await app.request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
  const noIndex = staticApp({ index: false });
  res = await noIndex.request("/assets/");
  assert.equal(res.status, 404);
  await res.body?.cancel();
  const otherIndex = staticApp({ index: "nested.txt" });
  res = await otherIndex.request("/assets/sub/");
  assert.equal(await res.text(), "nested\n");
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
});

Deno.test("dotfiles: deny is 404 even with fallthrough, ignore falls through, allow serves", async () => {
  const chain = (options: Parameters<typeof staticApp>[0]) => {
    const app = new App();
    app.get(
      "/assets/*",
      serveStatic({ root: ROOT, ...options }),
      (ctx) => ctx.text("next", { status: 299 }),
    );
    return app;
  };
  for (const path of ["/assets/.env", "/assets/.hidden/secret.txt"]) {
    let res = await staticApp().request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
    res = await chain({ fallthrough: true }).request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
    res = await chain({ fallthrough: true, dotfiles: "ignore" }).request(path);
    assert.equal(res.status, 299, path);
    assert.equal(await res.text(), "next");
    res = await staticApp({ dotfiles: "ignore" }).request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
  const res = await staticApp({ dotfiles: "allow" }).request("/assets/.env");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "DOTENV=1\n");
});

Deno.test("fallthrough calls next() on a miss; as app.use middleware it serves the whole path", async () => {
  const app = new App();
  app.use(serveStatic({ root: ROOT, fallthrough: true }));
  app.get("/hello.txt", (ctx) => ctx.text("route"));
  app.get("/api", (ctx) => ctx.text("api"));
  app.post("/api", (ctx) => ctx.text("posted"));
  let res = await app.request("/hello.txt");
  assert.equal(await res.text(), "hello world\n");
  res = await app.request("/api");
  assert.equal(await res.text(), "api");
  res = await app.request("/api", { method: "POST" });
  assert.equal(await res.text(), "posted");

  res = await staticApp().request("/assets/missing.txt");
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal((await res.json()).detail, "File not found");
});

Deno.test("methods other than GET and HEAD get 405 with Allow", async () => {
  const app = new App();
  app.all("/assets/*", serveStatic({ root: ROOT }));
  const res = await app.request("/assets/hello.txt", { method: "POST" });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, HEAD");
  await res.body?.cancel();
});

Deno.test("HEAD answers the GET headers without opening the file", async () => {
  const app = staticApp();
  let get: Response | undefined;
  const getOpens = await countOpens(async () => {
    get = await app.request("/assets/hello.txt");
    await get.text();
  });
  assert.equal(getOpens, 1);
  const heads: Response[] = [];
  const headOpens = await countOpens(async () => {
    const cases: Record<string, string>[] = [{}, { range: "bytes=0-1" }, {
      "if-none-match": get!.headers.get("etag")!,
    }];
    for (const headers of cases) {
      heads.push(
        await app.request("/assets/hello.txt", { method: "HEAD", headers }),
      );
    }
  });
  assert.equal(headOpens, 0);
  const [whole, part, cached] = heads;
  assert.equal(whole.status, 200);
  assert.equal(whole.body, null);
  assert.equal(whole.headers.get("content-length"), "12");
  assert.equal(whole.headers.get("etag"), get!.headers.get("etag"));
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-length"), "2");
  assert.equal(cached.status, 304);
});

Deno.test("symlinks: off by default; followSymlinks allows targets inside root only", async () => {
  const strict = staticApp();
  const follow = staticApp({ followSymlinks: true });
  for (
    const path of [
      "/assets/link_in.txt",
      "/assets/link_sub/nested.txt",
      "/assets/link_up/root/hello.txt", // leaves and re-enters the root
    ]
  ) {
    let res = await strict.request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
    res = await follow.request(path);
    assert.equal(res.status, 200, path);
    await res.body?.cancel();
  }
  for (
    const path of [
      "/assets/link_out.txt",
      "/assets/link_up/secret.txt",
      "/assets/link_etc/passwd",
      "/assets/link_etc/",
    ]
  ) {
    for (
      const app of [
        strict,
        follow,
        staticApp({ followSymlinks: true, listing: true }),
      ]
    ) {
      const res = await app.request(path);
      assert.equal(res.status, 404, path);
      const text = await res.text();
      assert.ok(!text.includes(SECRET) && !text.includes("root:"), path);
    }
  }
});

Deno.test("Cache-Control: maxAgeSec, and immutable for fingerprinted names", async () => {
  const app = staticApp({ maxAgeSec: 3600, immutable: /\.js$/ });
  let res = await app.request("/assets/app.js");
  assert.equal(
    res.headers.get("cache-control"),
    "public, max-age=31536000, immutable",
  );
  await res.body?.cancel();
  res = await app.request("/assets/hello.txt");
  assert.equal(res.headers.get("cache-control"), "public, max-age=3600");
  await res.body?.cancel();
});

Deno.test("etag: false and lastModified: false send no validators", async () => {
  const res = await staticApp({ etag: false, lastModified: false }).request(
    "/assets/hello.txt",
    {
      headers: {
        "if-none-match": "*",
        "if-modified-since": new Date(Date.now() + 1e6).toUTCString(),
      },
    },
  );
  // If-None-Match: * still matches an existing file.
  assert.equal(res.status, 304);
  assert.equal(res.headers.get("etag"), null);
  assert.equal(res.headers.get("last-modified"), null);
  const plain = await staticApp({ etag: false, lastModified: false }).request(
    "/assets/hello.txt",
    {
      headers: {
        "if-modified-since": new Date(Date.now() + 1e6).toUTCString(),
      },
    },
  );
  assert.equal(plain.status, 200);
  await plain.body?.cancel();
});

Deno.test("listing: names escaped, links encoded, dotfiles and symlinks left out", async () => {
  const app = staticApp({ listing: true, index: false });
  let res = await app.request("/assets/");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await res.text();
  assert.match(html, /<a href="\.\/docs\/">docs\/<\/a>/);
  assert.match(html, /<a href="\.\/hello\.txt">hello\.txt<\/a>/);
  assert.ok(!html.includes(".env") && !html.includes(".hidden"));
  assert.ok(!html.includes("link_"));
  assert.ok(!html.includes('href="../"'), "no parent link at the root");
  res = await app.request("/assets/noindex");
  assert.equal(res.status, 301);
  res = await app.request("/assets/noindex/");
  assert.match(await res.text(), /href="\.\.\/"/);
  const off = await staticApp({ index: false }).request("/assets/");
  assert.equal(off.status, 404);
  await off.body?.cancel();
});

Deno.test({
  name: `listing escapes hostile file names${
    canWrite ? "" : ` (${NEEDS_WRITE})`
  }`,
  ignore: !canWrite,
  fn: () =>
    withTempDir(async (dir) => {
      const names = [
        `<img src=x onerror=alert(1)>.txt`,
        `"quote'&amp.txt`,
        "javascript:alert(1)",
        "100% #1?.txt",
        "caf\u00e9.txt",
      ];
      for (const name of names) Deno.writeTextFileSync(`${dir}/${name}`, "x");
      const app = new App();
      app.get("/f/*", serveStatic({ root: dir, listing: true }));
      const res = await app.request("/f/");
      const html = await res.text();
      assert.ok(!html.includes("<img"), html);
      assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;\.txt/);
      assert.match(html, /&quot;quote&#39;&amp;amp\.txt/);
      assert.ok(
        html.includes(`href="./%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt"`),
      );
      assert.ok(html.includes(`href="./100%25%20%231%3F.txt"`));
      assert.ok(html.includes(`href="./caf%C3%A9.txt"`));
      // A name with ":" can never be served, so it is not listed.
      assert.ok(!html.includes("javascript"));
      // Every listed link resolves back to its file.
      const file = await app.request("/f/100%25%20%231%3F.txt");
      assert.equal(await file.text(), "x");
    }),
});
