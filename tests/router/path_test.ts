import assert from "node:assert/strict";
import fc from "npm:fast-check@4";
import { HttpError } from "../../src/http/errors.ts";
import {
  hasPathPrefix,
  normalizePath,
  pathOf,
  queryOf,
} from "../../src/router/path.ts";

/** Asserts that normalizePath rejects `raw` with a 400 whose detail matches `detail`. */
function assertRejected(raw: string, detail: RegExp): void {
  assert.throws(
    () => normalizePath(raw),
    (e: unknown) => {
      assert.ok(e instanceof HttpError, `expected HttpError for ${raw}`);
      assert.equal(e.status, 400, `status for ${JSON.stringify(raw)}`);
      assert.match(e.message, detail, `detail for ${JSON.stringify(raw)}`);
      return true;
    },
    `expected ${JSON.stringify(raw)} to be rejected`,
  );
}

Deno.test("normalizePath returns clean paths unchanged", () => {
  for (
    const p of [
      "/",
      "/admin",
      "/users/",
      "/users/42/posts",
      "/.well-known/security.txt",
      "/a/..b/c.",
      "/.../x",
      "/a.b/.c/..d",
      "/café",
      "/with space/and+plus",
    ]
  ) {
    assert.equal(normalizePath(p), p);
  }
});

Deno.test("normalizePath collapses empty segments and keeps one trailing slash", () => {
  assert.equal(normalizePath("//admin"), "/admin");
  assert.equal(normalizePath("/a//b"), "/a/b");
  assert.equal(normalizePath("///a///b"), "/a/b");
  assert.equal(normalizePath("/users/"), "/users/");
  assert.equal(normalizePath("/users//"), "/users/");
  assert.equal(normalizePath("//"), "/");
  assert.equal(normalizePath("///"), "/");
  assert.equal(normalizePath("//admin/"), "/admin/");
});

Deno.test("normalizePath percent-decodes each segment as UTF-8", () => {
  assert.equal(normalizePath("/%61dmin"), "/admin");
  assert.equal(normalizePath("/%41DMIN/%75sers"), "/ADMIN/users");
  assert.equal(normalizePath("/caf%C3%A9"), "/café");
  assert.equal(normalizePath("/caf%c3%a9/"), "/café/");
  assert.equal(normalizePath("/%F0%9F%98%80"), "/😀");
  assert.equal(normalizePath("/a%20b"), "/a b");
  assert.equal(normalizePath("/%3F%23"), "/?#");
  // Decoding happens once: %2525 is a literal "%25", not an escape.
  assert.equal(normalizePath("/%2525"), "/%25");
  assert.equal(normalizePath("/%252F"), "/%2F");
  // Escaped dots that do not make a whole "." or ".." segment are fine.
  assert.equal(normalizePath("/%2e%2e%2e"), "/...");
  assert.equal(normalizePath("/%2ewell-known"), "/.well-known");
  // Collapsing and decoding together.
  assert.equal(normalizePath("//%61dmin//x"), "/admin/x");
});

Deno.test("normalizePath rejects each middleware bypass shape with 400", () => {
  // "/%61dmin" and "//admin" are not rejected but normalise to "/admin".
  assert.equal(normalizePath("/%61dmin"), "/admin");
  assert.equal(normalizePath("//admin"), "/admin");
  assertRejected("/admin%2F..", /encoded slash/);
  assertRejected("/admin%2f..", /encoded slash/);
  assertRejected("/admin%2Fusers", /encoded slash/);
  assertRejected("/./admin", /dot segment "\."/);
  assertRejected("/x/../admin", /dot segment "\.\."/);
  assertRejected("/x/%2e%2E/admin", /dot segment "\.\."/);
  assertRejected("/%2e/admin", /dot segment "\."/);
  assertRejected("/.%2e/admin", /dot segment "\.\."/);
  assertRejected("/%2E./admin", /dot segment "\.\."/);
  assertRejected("/%2e%2E", /dot segment "\.\."/);
});

Deno.test("normalizePath rejects dot segments anywhere", () => {
  for (const p of ["/.", "/..", "/a/.", "/a/..", "/a/./", "/a/../", "//..//"]) {
    assertRejected(p, /dot segment/);
  }
});

Deno.test("normalizePath rejects backslashes raw and encoded", () => {
  assertRejected("/a\\b", /backslash/);
  assertRejected("/\\admin", /backslash/);
  assertRejected("/admin\\", /backslash/);
  assertRejected("/a%5Cb", /encoded backslash/);
  assertRejected("/a%5cb", /encoded backslash/);
  assertRejected("/%5C..%5Cadmin", /encoded backslash/);
});

Deno.test("normalizePath rejects NUL raw and encoded", () => {
  assertRejected("/a\0b", /NUL/);
  assertRejected("/\0", /NUL/);
  assertRejected("/a%00b", /NUL/);
  assertRejected("/admin%00.html", /NUL/);
});

Deno.test("normalizePath rejects invalid escapes and invalid UTF-8", () => {
  for (
    const p of [
      "/%zz",
      "/%",
      "/a%",
      "/a%4",
      "/%g1",
      "/%e0%80", // truncated 3-byte sequence
      "/%C0%AF", // overlong encoding of "/"
      "/%C3", // truncated 2-byte sequence
      "/%80", // lone continuation byte
      "/%ED%A0%80", // UTF-16 surrogate encoded as UTF-8
      "/%F8%88%80%80%80", // 5-byte form
    ]
  ) {
    assertRejected(p, /invalid percent-encoding or invalid UTF-8/);
  }
});

Deno.test("normalizePath rejects paths that do not start with a slash", () => {
  for (
    const p of ["", "admin", "*", "%2Fadmin", "http://h/a", ".", "\\admin"]
  ) {
    assertRejected(p, /must start with "\/"/);
  }
});

Deno.test("hasPathPrefix matches whole segments only", () => {
  assert.equal(hasPathPrefix("/admin", "/admin"), true);
  assert.equal(hasPathPrefix("/admin/", "/admin"), true);
  assert.equal(hasPathPrefix("/admin/users/1", "/admin"), true);
  assert.equal(hasPathPrefix("/administrator", "/admin"), false);
  assert.equal(hasPathPrefix("/adm", "/admin"), false);
  assert.equal(hasPathPrefix("/x/admin", "/admin"), false);
  assert.equal(hasPathPrefix("/", "/"), true);
  assert.equal(hasPathPrefix("/anything/at/all", "/"), true);
  assert.equal(hasPathPrefix("/api/v1/x", "/api/v1"), true);
  assert.equal(hasPathPrefix("/api/v10", "/api/v1"), false);
});

Deno.test("every bypass shape of /admin is either rejected or under the /admin prefix", () => {
  for (
    const raw of [
      "/%61dmin",
      "//admin",
      "/admin%2F..",
      "/./admin",
      "/x/../admin",
      "/%2e/admin",
      "///admin//",
      "/%61%64%6d%69%6e/x",
    ]
  ) {
    let path: string;
    try {
      path = normalizePath(raw);
    } catch (e) {
      assert.ok(e instanceof HttpError && e.status === 400);
      continue;
    }
    assert.ok(hasPathPrefix(path, "/admin"), `${raw} -> ${path}`);
  }
});

Deno.test("pathOf and queryOf split targets without a URL parse", () => {
  const cases: [string, string, string][] = [
    ["/p", "/p", ""],
    ["/p?q=1", "/p", "q=1"],
    ["/p?", "/p", ""],
    ["/p#frag", "/p", ""],
    ["/p?q=1#frag", "/p", "q=1"],
    ["/p#f?not-query", "/p", ""],
    ["/a%20b?x=http://y/z?w", "/a%20b", "x=http://y/z?w"],
    ["http://h:1/p?q#f", "/p", "q"],
    ["http://localhost:8000/users/1?full=1", "/users/1", "full=1"],
    ["https://example.com", "/", ""],
    ["http://h?x=1", "/", "x=1"],
    ["http://h#f", "/", ""],
    ["http://h?x/y", "/", "x/y"],
    ["http://h#f?x/y", "/", ""],
    ["http://h/p?a#b?c", "/p", "a"],
    ["http://h/", "/", ""],
    ["http://[::1]:8000//a//b?c", "//a//b", "c"],
    ["*", "*", ""],
    ["", "", ""],
    ["?x", "", "x"],
  ];
  for (const [target, path, query] of cases) {
    assert.equal(pathOf(target), path, `pathOf(${target})`);
    assert.equal(queryOf(target), query, `queryOf(${target})`);
  }
  // Request.url is the full-URL shape the Deno.serve transport hands over.
  const req = new Request("http://127.0.0.1:8000/caf%C3%A9/x?y=1");
  assert.equal(normalizePath(pathOf(req.url)), "/café/x");
  assert.equal(queryOf(req.url), "y=1");
});

/** Re-encodes a normalised path so that normalising it again is the identity. */
function reencode(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** Characters and escapes that exercise every normaliser rule. */
const PATHISH = fc.constantFrom(
  "/",
  "/",
  "/",
  ".",
  ".",
  "a",
  "b",
  "Z",
  "é",
  "😀",
  " ",
  "%",
  "2",
  "e",
  "E",
  "f",
  "F",
  "5",
  "c",
  "C",
  "0",
  "\\",
  "\0",
  "%2e",
  "%2E",
  "%2F",
  "%2f",
  "%5C",
  "%00",
  "%25",
  "%61",
  "%C3%A9",
  "%e0%80",
  "%zz",
  "?",
  "#",
);

function checkNormalised(raw: string): void {
  let out: string;
  try {
    out = normalizePath(raw);
  } catch (e) {
    assert.ok(
      e instanceof HttpError,
      `non-HttpError for ${JSON.stringify(raw)}`,
    );
    assert.equal(e.status, 400);
    return;
  }
  assert.ok(out.startsWith("/"), `${JSON.stringify(out)} starts with /`);
  assert.ok(!out.includes("//"), `${JSON.stringify(out)} has no //`);
  assert.ok(!out.includes("\\") && !out.includes("\0"));
  const segs = out.split("/").slice(1);
  for (let i = 0; i < segs.length; i++) {
    assert.ok(segs[i] !== "." && segs[i] !== "..", `dot segment in ${out}`);
    // Only the last segment may be empty (the one trailing slash).
    if (segs[i] === "") assert.equal(i, segs.length - 1, out);
  }
  assert.equal(normalizePath(reencode(out)), out, `stable for ${out}`);
}

Deno.test("property: normalizePath output is canonical or the input is a 400", () => {
  fc.assert(
    fc.property(
      fc.array(PATHISH, { maxLength: 24 }).map((a) => "/" + a.join("")),
      checkNormalised,
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), checkNormalised),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 40 }).map((s) => "/" + s),
      checkNormalised,
    ),
    { numRuns: 1000 },
  );
});
