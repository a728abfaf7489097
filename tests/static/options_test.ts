import assert from "node:assert/strict";
import { serveStatic } from "../../src/static/mod.ts";
import { resolveOptions } from "../../src/static/options.ts";
import { ROOT } from "./_helpers.ts";

Deno.test("defaults", () => {
  const c = resolveOptions({ root: ROOT });
  assert.equal(c.root, Deno.realPathSync(ROOT));
  assert.equal(c.index, "index.html");
  assert.equal(c.dotfiles, "deny");
  assert.deepEqual(c.variants, []);
  assert.equal(c.etag, "strong");
  assert.equal(c.lastModified, true);
  assert.equal(c.cacheControl, "public, max-age=0");
  assert.equal(c.immutable, false);
  assert.equal(c.fallthrough, false);
  assert.equal(c.followSymlinks, false);
  assert.equal(c.listing, false);
  assert.deepEqual(
    resolveOptions({ root: ROOT, precompressed: true }).variants.map((v) =>
      v.suffix
    ),
    [".br", ".gz"],
  );
  assert.deepEqual(
    resolveOptions({ root: ROOT, precompressed: ["zstd"] }).variants,
    [{ encoding: "zstd", suffix: ".zst" }],
  );
});

Deno.test("invalid options throw TypeError naming the option and value", () => {
  const bad: [Record<string, unknown>, string][] = [
    [{ root: "" }, 'Option root must be a non-empty path, got ""'],
    [
      { root: `${ROOT}/missing` },
      `Option root must be an existing directory, got "${ROOT}/missing"`,
    ],
    [
      { root: `${ROOT}/hello.txt` },
      `Option root must be a directory, got "${ROOT}/hello.txt"`,
    ],
    [{ index: "a/b" }, 'Option index must be a file name or false, got "a/b"'],
    [{ index: ".." }, 'Option index must be a file name or false, got ".."'],
    [{ index: true }, "Option index must be a file name or false, got true"],
    [
      { dotfiles: "hide" },
      'Option dotfiles must be "deny", "allow" or "ignore", got "hide"',
    ],
    [
      { etag: "weak" },
      'Option etag must be "strong", "hash" or false, got "weak"',
    ],
    [{ lastModified: 1 }, "Option lastModified must be a boolean, got 1"],
    [
      { maxAgeSec: -1 },
      "Option maxAgeSec must be a non-negative integer, got -1",
    ],
    [
      { maxAgeSec: 1.5 },
      "Option maxAgeSec must be a non-negative integer, got 1.5",
    ],
    [
      { immutable: /x/g },
      "Option immutable must not have the g or y flag, got /x/g",
    ],
    [{ immutable: "x" }, "Option immutable must be a RegExp or false, got x"],
    [
      { precompressed: ["deflate"] },
      'Option precompressed must list only "br", "zstd" and "gzip", got "deflate"',
    ],
    [
      { precompressed: ["br", "br"] },
      'Option precompressed lists "br" more than once',
    ],
    [
      { precompressed: "br" },
      'Option precompressed must be a boolean or an array of "br", "zstd", "gzip", got "br"',
    ],
    [{ fallthrough: "yes" }, 'Option fallthrough must be a boolean, got "yes"'],
    [{ followSymlinks: 0 }, "Option followSymlinks must be a boolean, got 0"],
    [{ listing: null }, "Option listing must be a boolean, got null"],
    [{ mimeTypes: [] }, "Option mimeTypes must be an object, got []"],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => serveStatic({ root: ROOT, ...options } as never),
      { name: "TypeError", message },
      JSON.stringify(options),
    );
  }
});
