import assert from "node:assert/strict";
import fc from "npm:fast-check@4";
import { type RouteMatch, Router } from "../../src/router/router.ts";

function router(routes: [string, string][]): Router<string> {
  const r = new Router<string>();
  for (const [method, pattern] of routes) {
    r.add(method, pattern, `${method} ${pattern}`);
  }
  return r;
}

/** The match as plain data: value, params as a plain object, pattern. */
function plain<T>(m: RouteMatch<T> | null) {
  return m === null ? null : {
    value: m.value,
    params: { ...m.params },
    pattern: m.pattern,
  };
}

Deno.test("Router matches static routes exactly", () => {
  const r = router([
    ["GET", "/"],
    ["GET", "/users"],
    ["GET", "/users/"],
    ["GET", "/user"],
    ["GET", "/us"],
    ["GET", "/users/all/active"],
  ]);
  assert.equal(r.match("GET", "/")?.value, "GET /");
  assert.equal(r.match("GET", "/users")?.value, "GET /users");
  assert.equal(r.match("GET", "/users/")?.value, "GET /users/");
  assert.equal(r.match("GET", "/user")?.value, "GET /user");
  assert.equal(r.match("GET", "/us")?.value, "GET /us");
  assert.equal(
    r.match("GET", "/users/all/active")?.pattern,
    "/users/all/active",
  );
  for (
    const miss of ["/u", "/userss", "/users/all", "/users/all/active/", "/x"]
  ) {
    assert.equal(r.match("GET", miss), null, miss);
  }
  assert.equal(r.match("POST", "/users"), null);
});

Deno.test("Router matches :param segments and returns their values", () => {
  const r = router([
    ["GET", "/users/:id"],
    ["GET", "/users/:id/posts/:postId"],
    ["GET", "/:lang/docs"],
    ["GET", "/files/:name/"],
  ]);
  assert.deepEqual(plain(r.match("GET", "/users/42")), {
    value: "GET /users/:id",
    params: { id: "42" },
    pattern: "/users/:id",
  });
  assert.deepEqual(r.match("GET", "/users/7/posts/abc")?.params, {
    __proto__: null,
    id: "7",
    postId: "abc",
  });
  assert.deepEqual({ ...r.match("GET", "/en/docs")?.params }, { lang: "en" });
  assert.deepEqual({ ...r.match("GET", "/files/a.txt/")?.params }, {
    name: "a.txt",
  });
  // A param matches one whole, non-empty segment.
  assert.equal(r.match("GET", "/users/"), null);
  assert.equal(r.match("GET", "/users"), null);
  assert.equal(r.match("GET", "/users/1/2"), null);
  // Even on a path that was not normalised, a param never matches nothing.
  assert.equal(r.match("GET", "/users//posts/1"), null);
  assert.equal(r.match("GET", "//docs"), null);
  assert.equal(
    r.match("GET", "/files/a.txt"),
    null,
    "trailing slash is significant",
  );
  // Values are taken from the (already decoded) path as is.
  assert.equal(r.match("GET", "/users/café ☕")?.params.id, "café ☕");
  assert.equal(r.match("GET", "/users/a%2Fb")?.params.id, "a%2Fb");
});

Deno.test("Router wildcard matches the rest of the path, including nothing", () => {
  const r = router([
    ["GET", "/files/*"],
    ["GET", "/a/:x/*"],
    ["GET", "/*"],
  ]);
  const cases: [string, string, Record<string, string>][] = [
    ["/files", "/files/*", { "*": "" }],
    ["/files/", "/files/*", { "*": "" }],
    ["/files/a", "/files/*", { "*": "a" }],
    ["/files/a/b/c.txt", "/files/*", { "*": "a/b/c.txt" }],
    ["/files/a/", "/files/*", { "*": "a/" }],
    ["/a/1", "/a/:x/*", { x: "1", "*": "" }],
    ["/a/1/", "/a/:x/*", { x: "1", "*": "" }],
    ["/a/1/2/3", "/a/:x/*", { x: "1", "*": "2/3" }],
    ["/filesx", "/*", { "*": "filesx" }],
    ["/", "/*", { "*": "" }],
    ["/a", "/*", { "*": "a" }],
    ["/other/deep/path", "/*", { "*": "other/deep/path" }],
  ];
  for (const [path, pattern, params] of cases) {
    const m = r.match("GET", path);
    assert.equal(m?.pattern, pattern, path);
    assert.deepEqual({ ...m?.params }, params, path);
  }
  const only = router([["GET", "/static/*"]]);
  assert.equal(only.match("GET", "/staticx"), null);
  assert.equal(only.match("GET", "/stati"), null);
  assert.equal(only.match("GET", "/"), null);
});

Deno.test("Router prefers static over :param over * at every segment", () => {
  const r = router([
    ["GET", "/a/b"],
    ["GET", "/a/:x"],
    ["GET", "/a/*"],
    ["GET", "/:y/b"],
  ]);
  assert.equal(r.match("GET", "/a/b")?.pattern, "/a/b");
  assert.equal(r.match("GET", "/a/c")?.pattern, "/a/:x");
  assert.equal(r.match("GET", "/a/c/d")?.pattern, "/a/*");
  assert.equal(r.match("GET", "/a")?.pattern, "/a/*");
  assert.equal(r.match("GET", "/z/b")?.pattern, "/:y/b");
  assert.equal(r.match("GET", "/z/c"), null);
  // An earlier static segment beats a later one: "/a/*" over "/:y/b".
  const s = router([["GET", "/a/*"], ["GET", "/:y/b"]]);
  assert.equal(s.match("GET", "/a/b")?.pattern, "/a/*");
});

Deno.test("Router backtracks when a static branch dead-ends", () => {
  const r = router([
    ["GET", "/a/b/c"],
    ["GET", "/a/:x/d"],
    ["GET", "/a/b/:y/e"],
    ["GET", "/a/:x/f/g"],
    ["GET", "/a/:x/:z/h"],
    ["GET", "/a/bc/*"],
    ["GET", "/a/:x"],
  ]);
  assert.equal(r.match("GET", "/a/b/c")?.pattern, "/a/b/c");
  assert.deepEqual({ ...r.match("GET", "/a/b/d")?.params }, { x: "b" });
  assert.deepEqual({ ...r.match("GET", "/a/b/q/e")?.params }, { y: "q" });
  assert.deepEqual({ ...r.match("GET", "/a/b/f/g")?.params }, { x: "b" });
  assert.deepEqual({ ...r.match("GET", "/a/b/c/h")?.params }, {
    x: "b",
    z: "c",
  });
  // Static prefix "bc" shares chars with "b": the split must not confuse them.
  assert.equal(r.match("GET", "/a/bc/zz")?.pattern, "/a/bc/*");
  assert.equal(r.match("GET", "/a/bcd")?.pattern, "/a/:x");
  assert.equal(r.match("GET", "/a/b")?.pattern, "/a/:x");
  assert.equal(r.match("GET", "/a/b/zz"), null);
});

Deno.test("Router handles non-ASCII static segments", () => {
  const r = router([
    ["GET", "/café/:x"],
    ["GET", "/cafe/:x"],
    ["GET", "/日本/語"],
    ["GET", "/日本/:w/x"],
    ["GET", "/😀/*"],
  ]);
  assert.equal(r.match("GET", "/café/1")?.pattern, "/café/:x");
  assert.equal(r.match("GET", "/cafe/1")?.pattern, "/cafe/:x");
  assert.equal(r.match("GET", "/日本/語")?.pattern, "/日本/語");
  assert.deepEqual({ ...r.match("GET", "/日本/語/x")?.params }, { w: "語" });
  assert.deepEqual({ ...r.match("GET", "/😀/a/b")?.params }, { "*": "a/b" });
  assert.equal(r.match("GET", "/日/語"), null);
});

Deno.test("Router ALL routes serve every method; an exact method wins at the same pattern", () => {
  const r = new Router<string>();
  r.add("ALL", "/health", "all-health");
  r.add("ALL", "/items/:id", "all-item");
  r.add("GET", "/items/:id", "get-item");
  r.add("ALL", "/files/*", "all-files");
  r.add("PUT", "/files/*", "put-files");
  // ALL registered after the GET tree exists still reaches GET.
  r.add("ALL", "/late", "all-late");
  for (const method of ["GET", "POST", "PROPFIND", "HEAD"]) {
    assert.equal(r.match(method, "/health")?.value, "all-health", method);
    assert.equal(r.match(method, "/late")?.value, "all-late", method);
  }
  assert.equal(r.match("GET", "/items/1")?.value, "get-item");
  assert.equal(r.match("POST", "/items/1")?.value, "all-item");
  assert.equal(r.match("DELETE", "/items/1")?.params.id, "1");
  assert.equal(r.match("PUT", "/files/a")?.value, "put-files");
  assert.equal(r.match("GET", "/files/a")?.value, "all-files");
  // A more specific ALL pattern beats a less specific exact-method pattern.
  const s = new Router<string>();
  s.add("GET", "/a/:x", "get-param");
  s.add("ALL", "/a/b", "all-static");
  assert.equal(s.match("GET", "/a/b")?.value, "all-static");
  assert.equal(s.match("GET", "/a/c")?.value, "get-param");
  assert.equal(s.match("POST", "/a/c"), null);
});

Deno.test("Router does not fall back from HEAD to GET", () => {
  const r = router([["GET", "/users/:id"], ["GET", "/"]]);
  assert.equal(r.match("HEAD", "/users/1"), null);
  assert.equal(r.match("HEAD", "/"), null);
  assert.equal(r.match("get", "/"), null, "methods are case-sensitive");
});

Deno.test("Router params are null-prototype objects with own properties", () => {
  const r = router([["GET", "/users/:id"], ["GET", "/s"], ["GET", "/f/*"]]);
  for (const value of ["__proto__", "constructor", "prototype", "toString"]) {
    const params = r.match("GET", `/users/${value}`)!.params;
    assert.equal(Object.getPrototypeOf(params), null);
    assert.ok(Object.hasOwn(params, "id"), value);
    assert.equal(params.id, value);
    assert.deepEqual(Object.keys(params), ["id"]);
  }
  const stat = r.match("GET", "/s")!.params;
  assert.equal(Object.getPrototypeOf(stat), null);
  assert.deepEqual(Object.keys(stat), []);
  assert.ok(Object.isFrozen(stat));
  assert.equal(Object.getPrototypeOf(r.match("GET", "/f/x")!.params), null);
  assert.equal(({} as Record<string, unknown>).id, undefined, "no pollution");
});

Deno.test("Router returns a fresh params object per dynamic match", () => {
  const r = router([["GET", "/users/:id"]]);
  const a = r.match("GET", "/users/1")!;
  const b = r.match("GET", "/users/2")!;
  assert.equal(a.params.id, "1");
  assert.equal(b.params.id, "2");
  assert.notEqual(a.params, b.params);
});

Deno.test("Router allowed() lists the methods whose patterns match the path", () => {
  const r = router([
    ["GET", "/users/:id"],
    ["DELETE", "/users/:id"],
    ["PATCH", "/users/:uid"],
    ["POST", "/users"],
    ["PUT", "/files/*"],
    ["GET", "/files/readme"],
  ]);
  assert.deepEqual(r.allowed("/users/1"), ["DELETE", "GET", "PATCH"]);
  assert.deepEqual(r.allowed("/users"), ["POST"]);
  assert.deepEqual(r.allowed("/files/readme"), ["GET", "PUT"]);
  assert.deepEqual(r.allowed("/files/other"), ["PUT"]);
  assert.deepEqual(r.allowed("/nothing"), []);
  assert.deepEqual(r.allowed("/users/1/x"), []);
  const all = router([["ALL", "/x"]]);
  assert.deepEqual(all.allowed("/x"), [], "ALL is not listed");
});

Deno.test("Router rejects invalid patterns with a TypeError naming the pattern", () => {
  const bad = [
    "",
    "users",
    "*",
    "/files/*/x",
    "/files*",
    "/a*b",
    "/*/",
    "/:",
    "/users/:",
    "/:1x",
    "/:a-b",
    "/:a.json",
    "/:a/:a",
    "/x/:id/y/:id",
    "/a//b",
    "/./a",
    "/a/..",
    "/a\\b",
  ];
  for (const pattern of bad) {
    assert.throws(
      () => new Router<number>().add("GET", pattern, 1),
      (e: unknown) => {
        assert.ok(e instanceof TypeError, pattern);
        assert.ok(e.message.includes(pattern), `${e.message} names ${pattern}`);
        return true;
      },
      pattern,
    );
  }
  // Valid edge cases.
  const ok = new Router<number>();
  for (
    const p of ["/", "/*", "/:_", "/:a1/:B_2", "/v1/things:batchGet", "/a/"]
  ) {
    ok.add("GET", p, 1);
  }
  assert.equal(
    ok.match("GET", "/v1/things:batchGet")?.pattern,
    "/v1/things:batchGet",
  );
});

Deno.test("Router rejects a duplicate method and pattern", () => {
  const r = new Router<number>();
  r.add("GET", "/users/:id", 1);
  assert.throws(() => r.add("GET", "/users/:id", 2), TypeError);
  assert.throws(() => r.add("GET", "/users/:other", 2), /conflicts/);
  r.add("POST", "/users/:id", 3);
  r.add("ALL", "/users/:id", 4);
  assert.throws(() => r.add("ALL", "/users/:id", 5), TypeError);
  r.add("GET", "/static", 6);
  assert.throws(() => r.add("GET", "/static", 7), TypeError);
  r.add("GET", "/static/", 8);
  // The first registration stays in force.
  assert.equal(r.match("GET", "/users/1")?.value, 1);
  assert.equal(r.match("GET", "/static")?.value, 6);
});

// ---------------------------------------------------------------------------
// Property: the radix tree agrees with a brute-force reference matcher.

type Kind = 0 | 1 | 2; // static, param, wildcard

/** Matches `pattern` against `path` segment by segment; null when it does not match. */
function refMatch(
  pattern: string,
  path: string,
): { key: Kind[]; params: Record<string, string> } | null {
  const ps = pattern.split("/").slice(1);
  const xs = path.split("/").slice(1);
  const key: Kind[] = [];
  const params: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i];
    if (p === "*") {
      key.push(2);
      params["*"] = xs.slice(i).join("/");
      return { key, params };
    }
    if (i >= xs.length) return null;
    if (p.startsWith(":")) {
      if (xs[i] === "") return null;
      key.push(1);
      params[p.slice(1)] = xs[i];
    } else {
      if (xs[i] !== p) return null;
      key.push(0);
    }
  }
  return xs.length === ps.length ? { key, params } : null;
}

/** Lexicographic order; a proper prefix sorts first. */
function compareKeys(a: Kind[], b: Kind[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

function refRoute(
  routes: [string, string][],
  method: string,
  path: string,
) {
  let best:
    | { value: string; params: Record<string, string>; key: Kind[] }
    | null = null;
  for (const [m, pattern] of routes) {
    if (m !== method && m !== "ALL") continue;
    const r = refMatch(pattern, path);
    if (r === null) continue;
    const c = best === null ? -1 : compareKeys(r.key, best.key);
    if (c < 0 || (c === 0 && m === method)) {
      best = { value: `${m} ${pattern}`, params: r.params, key: r.key };
    }
  }
  return best;
}

const SEG = fc.constantFrom("a", "b", "ab", "abc", "é", "x");
const PATTERN_SEG = fc.oneof(
  { weight: 3, arbitrary: SEG },
  { weight: 2, arbitrary: fc.constant(":p") },
);
const PATTERN = fc.tuple(
  fc.array(PATTERN_SEG, { maxLength: 4 }),
  fc.constantFrom("", "/", "/*"),
).map(([segs, tail]) => {
  let n = 0;
  const body = segs.map((s) => (s === ":p" ? `:p${n++}` : s));
  const p = "/" + body.join("/");
  if (tail === "/*") return (p === "/" ? "" : p) + "/*";
  if (tail === "/" && p !== "/") return p + "/";
  return p;
});
const PATH = fc.tuple(
  fc.array(SEG, { maxLength: 5 }),
  fc.boolean(),
).map(([segs, slash]) =>
  "/" + segs.join("/") + (slash && segs.length ? "/" : "")
);
const METHOD = fc.constantFrom("GET", "POST", "ALL");

Deno.test("property: Router agrees with a brute-force reference matcher", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(METHOD, PATTERN), { maxLength: 12 }),
      fc.array(PATH, { minLength: 1, maxLength: 8 }),
      (table, paths) => {
        const routes: [string, string][] = [];
        const r = new Router<string>();
        const shapes = new Set<string>();
        for (const [m, p] of table) {
          const shape = m + " " + p.replace(/:p\d+/g, ":");
          if (shapes.has(shape)) continue;
          shapes.add(shape);
          routes.push([m, p]);
          r.add(m, p, `${m} ${p}`);
        }
        for (const path of paths) {
          for (const method of ["GET", "POST", "PUT"]) {
            const want = refRoute(routes, method, path);
            const got = r.match(method, path);
            assert.equal(
              got?.value ?? null,
              want?.value ?? null,
              `${method} ${path}`,
            );
            if (want !== null) {
              assert.deepEqual({ ...got!.params }, want.params);
            }
          }
          if (refRoute(routes, "NONE", path) === null) {
            const allowed = [
              ...new Set(
                routes.filter(([m, p]) =>
                  m !== "ALL" && refMatch(p, path) !== null
                ).map(([m]) => m),
              ),
            ].sort();
            assert.deepEqual(r.allowed(path), allowed, path);
          }
        }
      },
    ),
    { numRuns: 500 },
  );
});
