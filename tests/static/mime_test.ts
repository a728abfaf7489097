import assert from "node:assert/strict";
import db from "npm:mime-db@1.54.0";
import { extensionTable, render } from "../../tools/generate_mime_db.ts";
import {
  builtinTypes,
  contentTypes,
  extensionOf,
  withCharset,
} from "../../src/static/mime.ts";
import { resolveOptions } from "../../src/static/options.ts";
import { ROOT } from "./_helpers.ts";

Deno.test("the committed table is what the generator makes from mime-db", () => {
  const committed = Deno.readTextFileSync(
    new URL("../../src/static/mime_db.ts", import.meta.url),
  );
  assert.equal(committed, render(db));
});

Deno.test("the built-in table covers every mime-db extension", () => {
  const expected = extensionTable(db);
  const table = builtinTypes();
  assert.equal(table.size, expected.size);
  for (const [ext, type] of expected) {
    assert.equal(table.get(ext), withCharset(type), ext);
  }
});

Deno.test("conflicting extensions resolve to what browsers expect", () => {
  const type = contentTypes(undefined);
  const cases: Record<string, string> = {
    "a.js": "text/javascript; charset=utf-8",
    "a.mjs": "text/javascript; charset=utf-8",
    "a.css": "text/css; charset=utf-8",
    "a.html": "text/html; charset=utf-8",
    "a.json": "application/json; charset=utf-8",
    "a.webmanifest": "application/manifest+json; charset=utf-8",
    "a.svg": "image/svg+xml; charset=utf-8",
    "a.mp4": "video/mp4",
    "a.mp3": "audio/mpeg",
    "a.wav": "audio/wav",
    "a.wasm": "application/wasm",
    "a.png": "image/png",
    "a.woff2": "font/woff2",
    "a.zip": "application/zip",
    "a.exe": "application/x-msdownload",
    "a.pdf": "application/pdf",
    "A.PNG": "image/png",
    "noext": "application/octet-stream",
    "dir.js/file": "application/octet-stream",
    ".env": "application/octet-stream",
  };
  for (const [name, want] of Object.entries(cases)) {
    assert.equal(type(name), want, name);
  }
});

Deno.test("charset rule and extension parsing", () => {
  assert.equal(withCharset("text/plain"), "text/plain; charset=utf-8");
  assert.equal(
    withCharset("text/plain; charset=latin1"),
    "text/plain; charset=latin1",
  );
  assert.equal(
    withCharset("application/ld+json"),
    "application/ld+json; charset=utf-8",
  );
  assert.equal(
    withCharset("application/xml"),
    "application/xml; charset=utf-8",
  );
  assert.equal(withCharset("image/png"), "image/png");
  assert.equal(
    withCharset("application/octet-stream"),
    "application/octet-stream",
  );
  assert.equal(extensionOf("a/b/c.TAR.GZ"), "gz");
  assert.equal(extensionOf(".bashrc"), "");
  assert.equal(extensionOf("a/.bashrc"), "");
  assert.equal(extensionOf("a.b/c"), "");
});

Deno.test("mimeTypes overrides are validated at factory time", () => {
  assert.throws(
    () => resolveOptions({ root: ROOT, mimeTypes: { js: "not a type" } }),
    {
      name: "TypeError",
      message:
        'Option mimeTypes["js"] must be a valid media type, got "not a type"',
    },
  );
  assert.throws(
    () =>
      resolveOptions({
        root: ROOT,
        mimeTypes: { "tar.gz": "application/gzip" },
      }),
    {
      name: "TypeError",
      message: 'Option mimeTypes must map extensions like "js", got "tar.gz"',
    },
  );
});
