import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { App } from "../../src/app/app.ts";
import { Cookies } from "../../src/context/cookies.ts";

function lines(cookies: Cookies): string[] {
  return [...cookies.setCookieLines()];
}

function setLine(
  name: string,
  value: string,
  options?: Parameters<Cookies["set"]>[2],
  keys?: readonly string[],
): string {
  const cookies = new Cookies(null, keys);
  cookies.set(name, value, options);
  return lines(cookies)[0];
}

Deno.test("get parses the Cookie header, trims whitespace and removes quotes", () => {
  const c = new Cookies(' a=1 ;b = two; c="quoted" ;  d=; e', undefined);
  assert.equal(c.get("a"), "1");
  assert.equal(c.get("b"), "two");
  assert.equal(c.get("c"), "quoted");
  assert.equal(c.get("d"), "");
  assert.equal(c.get("e"), undefined, "a pair without = is skipped");
  assert.equal(c.get("missing"), undefined);
  assert.deepEqual({ ...c.all() }, { a: "1", b: "two", c: "quoted", d: "" });
});

Deno.test("a repeated name: the first value wins in get and all", () => {
  const c = new Cookies("sid=specific; other=x; sid=general", undefined);
  assert.equal(c.get("sid"), "specific");
  assert.equal(c.all().sid, "specific");
});

Deno.test("values are returned as sent unless decode is set", () => {
  const header = "a=hello%20world; b=%E0%A4%A; c=50%25";
  const raw = new Cookies(header, undefined);
  assert.equal(raw.get("a"), "hello%20world");
  const decoded = new Cookies(header, undefined, { decode: true });
  assert.equal(decoded.get("a"), "hello world");
  assert.equal(decoded.get("b"), "%E0%A4%A", "invalid encoding stays as sent");
  assert.equal(decoded.all().c, "50%");
});

Deno.test("no Cookie header: nothing, and an empty null-prototype record", () => {
  const c = new Cookies(null, undefined);
  assert.equal(c.get("a"), undefined);
  assert.equal(Object.getPrototypeOf(c.all()), null);
  assert.deepEqual(Object.keys(c.all()), []);
});

Deno.test("__proto__ and constructor are plain cookie names", () => {
  const c = new Cookies(
    "__proto__=polluted; constructor=x; toString=y",
    undefined,
  );
  const all = c.all();
  assert.equal(Object.getPrototypeOf(all), null);
  assert.equal(all.__proto__, "polluted");
  assert.equal(Object.hasOwn(all, "__proto__"), true);
  assert.equal(c.get("__proto__"), "polluted");
  assert.equal(c.get("constructor"), "x");
  assert.equal(c.get("hasOwnProperty"), undefined);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.prototype.toString.call({}), "[object Object]");
});

Deno.test("maxCookies and maxCookieBytes: extra and oversized cookies are ignored", () => {
  const header = Array.from({ length: 10 }, (_, i) => `c${i}=${i}`).join("; ");
  const c = new Cookies(header, undefined, { maxCookies: 3 });
  assert.deepEqual(Object.keys(c.all()), ["c0", "c1", "c2"]);
  assert.equal(c.get("c5"), undefined);

  const big = `big=${"x".repeat(5000)}; small=1; edge=${"y".repeat(4091)}`;
  const d = new Cookies(big, undefined);
  assert.equal(d.get("big"), undefined);
  assert.equal(d.get("small"), "1");
  assert.equal(d.get("edge")?.length, 4091, "name=value of 4096 bytes is kept");
  const e = new Cookies("a=12345; b=1", undefined, { maxCookieBytes: 4 });
  assert.deepEqual({ ...e.all() }, { b: "1" });
});

Deno.test("invalid options are refused with a TypeError naming them", () => {
  assert.throws(
    () => new Cookies(null, undefined, { maxCookies: 0 }),
    {
      name: "TypeError",
      message: "Option maxCookies must be a positive integer, got 0",
    },
  );
  assert.throws(
    () => new Cookies(null, undefined, { maxCookieBytes: 1.5 }),
    /Option maxCookieBytes must be a positive integer, got 1.5/,
  );
});

Deno.test("a cookie flood: 1000 cookies in 16 KiB parse bounded, first values right, no memory growth", () => {
  const parts: string[] = [];
  for (let i = 0; i < 1000; i++) parts.push(`k${i % 500}=v${i}`);
  let header = parts.join(";");
  header += ";" + "z".repeat(16 * 1024 - header.length - 1);
  assert.equal(header.length, 16 * 1024);
  const first = new Cookies(header, undefined);
  const all = first.all();
  assert.equal(Object.keys(all).length, 100, "maxCookies bounds the record");
  assert.equal(all.k0, "v0");
  assert.equal(all.k99, "v99");
  assert.equal(first.get("k100"), undefined);
  const wide = new Cookies(header, undefined, { maxCookies: 10_000 });
  assert.equal(Object.keys(wide.all()).length, 500, "500 distinct names");
  assert.equal(wide.get("k499"), "v499", "first of two k499 values");

  // Pathological shapes for an indexOf-based scanner: no "=" at all, and
  // one "=" at the very end after thousands of ";" (must stay linear).
  const noEquals = ";".repeat(16 * 1024);
  const lateEquals = "a;".repeat(8 * 1024 - 2) + "x=1";
  assert.deepEqual(Object.keys(new Cookies(noEquals, undefined).all()), []);
  assert.equal(new Cookies(lateEquals, undefined).get("x"), "1");

  const parse = () => {
    for (let i = 0; i < 10_000; i++) {
      new Cookies(header, undefined, { maxCookies: 1000 }).all();
    }
  };
  parse(); // warm up
  // deno-lint-ignore no-explicit-any
  const gc = (globalThis as any).gc as (() => void) | undefined;
  gc?.();
  const before = Deno.memoryUsage().heapUsed;
  parse();
  gc?.();
  const growth = Deno.memoryUsage().heapUsed - before;
  // Retaining each parse would take ~500 MB; garbage not yet collected
  // stays well under this bound.
  assert.ok(growth < 64 * 1024 * 1024, `heap grew by ${growth} bytes`);
});

Deno.test("set writes attributes with the defaults Path=/, HttpOnly, SameSite=Lax", () => {
  assert.equal(setLine("a", "1"), "a=1; Path=/; HttpOnly; SameSite=Lax");
  const expires = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
  assert.equal(
    setLine("b", "x", {
      maxAge: 60,
      expires,
      path: "/app",
      domain: "example.com",
      secure: true,
      httpOnly: false,
      sameSite: "strict",
      partitioned: true,
    }),
    "b=x; Path=/app; Domain=example.com; Max-Age=60; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Secure; SameSite=Strict; Partitioned",
  );
  assert.equal(
    setLine("c", "", { sameSite: "none", secure: true }),
    "c=; Path=/; Secure; HttpOnly; SameSite=None",
  );
  assert.equal(
    setLine("q", '"quoted"'),
    'q="quoted"; Path=/; HttpOnly; SameSite=Lax',
  );
});

Deno.test("maxAge: 0 and negative expire now; fractions refused", () => {
  assert.match(setLine("a", "1", { maxAge: 0 }), /; Max-Age=0;/);
  assert.match(setLine("a", "1", { maxAge: -10 }), /; Max-Age=0;/);
  assert.throws(
    () => setLine("a", "1", { maxAge: 1.5 }),
    { name: "TypeError", message: /Cookie "a" maxAge must be an integer/ },
  );
  assert.throws(() => setLine("a", "1", { maxAge: NaN }), TypeError);
  assert.throws(
    () => setLine("a", "1", { expires: new Date("nope") }),
    /Cookie "a" expires must be a valid Date/,
  );
});

Deno.test("names must be tokens", () => {
  for (
    const name of [
      "",
      "a b",
      "a;b",
      "a,b",
      "a=b",
      "a\tb",
      "a\x00b",
      "a\x7f",
      "(a)",
      'a"',
      "a/b",
      "a@b",
      "a{b}",
      "é",
    ]
  ) {
    assert.throws(
      () => setLine(name, "v"),
      { name: "TypeError", message: `Cookie name "${name}" is not a token` },
      JSON.stringify(name),
    );
  }
  assert.doesNotThrow(() => setLine("!#$%&'*+-.^_`|~Az09", "v"));
});

Deno.test("values must be cookie-octets, or wrapped in double quotes", () => {
  for (
    const value of [
      "a b",
      "a;b",
      "a,b",
      'a"b',
      "a\\b",
      "a\tb",
      "a\nb",
      "a\x7f",
      "é",
      '"a b"',
      '"a',
    ]
  ) {
    assert.throws(
      () => setLine("n", value),
      { name: "TypeError", message: /^Cookie "n" value has a character/ },
      JSON.stringify(value),
    );
  }
  assert.doesNotThrow(() => setLine("n", '"abc"'));
  assert.doesNotThrow(() => setLine("n", "!#$%&'()*+-./:<=>?@[]^_`{|}~"));
  assert.doesNotThrow(() => setLine("n", encodeURIComponent("a b;ç")));
});

Deno.test("name and value over 4096 bytes are refused", () => {
  assert.doesNotThrow(() => setLine("n", "x".repeat(4095)));
  assert.throws(
    () => setLine("n", "x".repeat(4096)),
    /Cookie "n" name and value are over 4096 bytes/,
  );
});

Deno.test("path and domain: no controls, ';' or non-ASCII; path starts with /", () => {
  for (const path of ["/a;b", "/a\nb", "/é", "relative", ""]) {
    assert.throws(() => setLine("n", "v", { path }), TypeError, path);
  }
  for (const domain of ["a.com;x", "a.com\r", "", "ex ample.com\x00"]) {
    assert.throws(() => setLine("n", "v", { domain }), TypeError, domain);
  }
  assert.throws(
    () => setLine("n", "v", { path: "/" + "a".repeat(1024) }),
    /Cookie "n" path is over 1024 bytes/,
  );
  assert.throws(
    () => setLine("n", "v", { path: "/x;Domain=evil.example" }),
    /Cookie "n" path contains/,
  );
});

Deno.test("__Secure- and __Host- prefixes", () => {
  assert.throws(
    () => setLine("__Secure-id", "1"),
    { name: "TypeError", message: /__Secure- prefix: it needs secure/ },
  );
  assert.throws(() => setLine("__secure-id", "1"), /__Secure- prefix/);
  assert.match(setLine("__Secure-id", "1", { secure: true }), /; Secure;/);
  assert.throws(() => setLine("__Host-id", "1"), /__Host- prefix/);
  assert.throws(() => setLine("__HOST-id", "1"), /__Host- prefix/);
  assert.throws(
    () => setLine("__Host-id", "1", { secure: true, path: "/app" }),
    /__Host- prefix: it needs secure, path "\/" and no domain/,
  );
  assert.throws(
    () => setLine("__Host-id", "1", { secure: true, domain: "a.example" }),
    /__Host- prefix/,
  );
  assert.equal(
    setLine("__Host-id", "1", { secure: true }),
    "__Host-id=1; Path=/; Secure; HttpOnly; SameSite=Lax",
  );
});

Deno.test("sameSite none and partitioned need secure; sameSite is checked", () => {
  assert.throws(
    () => setLine("a", "1", { sameSite: "none" }),
    /Cookie "a" with sameSite "none" needs secure/,
  );
  assert.throws(
    () => setLine("a", "1", { partitioned: true }),
    /Cookie "a" with partitioned needs secure/,
  );
  assert.throws(
    () => setLine("a", "1", { sameSite: "Lax" as "lax" }),
    /sameSite must be "strict", "lax" or "none", got Lax/,
  );
});

Deno.test("the last set of a name, path and domain wins; others are kept", () => {
  const c = new Cookies(null, undefined);
  c.set("a", "1");
  c.set("b", "1");
  c.set("a", "2");
  c.set("a", "3", { path: "/x" });
  c.set("a", "4", { domain: "Example.com" });
  c.set("a", "5", { domain: ".example.com" });
  c.delete("b");
  assert.deepEqual(lines(c), [
    "a=2; Path=/; HttpOnly; SameSite=Lax",
    "b=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
    "a=3; Path=/x; HttpOnly; SameSite=Lax",
    "a=5; Path=/; Domain=.example.com; HttpOnly; SameSite=Lax",
  ]);
});

Deno.test("delete expires with the path and domain; prefixed and partitioned get Secure", () => {
  const c = new Cookies("sid=1", undefined);
  c.delete("sid", { path: "/app", domain: "example.com" });
  c.delete("__Host-sid");
  c.delete("__Secure-x");
  c.delete("chip", { partitioned: true });
  assert.deepEqual(lines(c), [
    "sid=; Path=/app; Domain=example.com; Max-Age=0; HttpOnly; SameSite=Lax",
    "__Host-sid=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
    "__Secure-x=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
    "chip=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax; Partitioned",
  ]);
  assert.throws(() => c.delete("bad name"), TypeError);
  assert.throws(() => c.delete("__Host-x", { path: "/a" }), /__Host- prefix/);
});

Deno.test("no set: setCookieLines is empty", () => {
  assert.deepEqual(lines(new Cookies("a=1", undefined)), []);
});

const KEY = "k-new-0123456789";
const OLD = "k-old-0123456789";

function signedHeader(name: string, value: string, key: string): string {
  const c = new Cookies(null, [key]);
  c.set(name, value, { signed: true });
  const line = lines(c)[0];
  return line.slice(0, line.indexOf(";"));
}

Deno.test("signed: value.signature is base64url HMAC-SHA-256 of name=value", () => {
  const pair = signedHeader("sid", "user-42", KEY);
  const mac = createHmac("sha256", KEY).update("sid=user-42").digest(
    "base64url",
  );
  assert.equal(pair, `sid=user-42.${mac}`);
  assert.equal(mac.length, 43);
  const c = new Cookies(pair, [KEY]);
  assert.equal(c.get("sid", { signed: true }), "user-42");
  assert.equal(c.get("sid"), `user-42.${mac}`, "unsigned read: as sent");
});

Deno.test("signed: the first key signs, every key verifies (rotation)", () => {
  const oldPair = signedHeader("sid", "v1", OLD);
  const rotated = new Cookies(oldPair, [KEY, OLD]);
  assert.equal(rotated.get("sid", { signed: true }), "v1");
  rotated.set("sid", "v2", { signed: true });
  const newPair = lines(rotated)[0].split(";")[0];
  assert.equal(newPair, signedHeader("sid", "v2", KEY));
  assert.equal(
    new Cookies(oldPair, [KEY]).get("sid", { signed: true }),
    undefined,
    "a retired key no longer verifies",
  );
});

Deno.test("signed: tampered, unsigned, other-name and unknown-key values read as absent", () => {
  const pair = signedHeader("sid", "user-42", KEY);
  const value = pair.slice(4);
  const dot = value.lastIndexOf(".");
  const sig = value.slice(dot + 1);
  const flipped = sig.slice(0, -1) + (sig.endsWith("A") ? "B" : "A");
  const cases = [
    `sid=user-43.${sig}`,
    `sid=user-42.${flipped}`,
    `sid=user-42.${sig}x`,
    `sid=user-42.${sig.slice(0, -1)}`,
    "sid=user-42",
    `sid=.${sig}`,
    signedHeader("sid", "user-42", "someone-else-key"),
    `sid2=${value}`,
  ];
  for (const header of cases) {
    const name = header.slice(0, header.indexOf("="));
    assert.equal(
      new Cookies(header, [KEY]).get(name, { signed: true }),
      undefined,
      header,
    );
  }
});

Deno.test("signed: decode applies after verification", () => {
  const pair = signedHeader("n", "a%20b", KEY);
  const c = new Cookies(pair, [KEY], { decode: true });
  assert.equal(c.get("n", { signed: true }), "a b");
});

Deno.test("signed without keys is a TypeError", () => {
  for (const keys of [undefined, []]) {
    const c = new Cookies("a=1", keys);
    assert.throws(() => c.set("a", "1", { signed: true }), {
      name: "TypeError",
      message: "Signed cookies need App option keys",
    });
    assert.throws(
      () => c.get("a", { signed: true }),
      /Signed cookies need App option keys/,
    );
  }
});

Deno.test("the App option keys must be a non-empty list of non-empty strings", () => {
  new App({ keys: ["a", "b"] });
  for (const bad of [[], [""], "key", [1]]) {
    assert.throws(
      () => new App({ keys: bad as string[] }),
      /Option keys must be a non-empty list of non-empty strings/,
    );
  }
});

for (const transport of ["deno", "h1"] as const) {
  Deno.test(`ctx.cookies [${transport}]: reads, sets several cookies, signs and rotates keys`, async () => {
    const { serve } = await import("../../src/server/serve.ts");
    const old = new App({ keys: ["old-key"] });
    let signedByOld = "";
    old.get("/", (ctx) => {
      ctx.cookies.set("sid", "s-1", { signed: true });
      return ctx.empty();
    });
    const set = (await old.request("/")).headers.get("set-cookie")!;
    signedByOld = set.slice(4, set.indexOf(";"));
    const app = new App({ keys: ["new-key", "old-key"] });
    app.get("/", (ctx) => {
      ctx.cookies.set("a", "1");
      ctx.cookies.set("b", "2", { maxAge: 60 });
      ctx.cookies.delete("c");
      return ctx.json({
        theme: ctx.cookies.get("theme") ?? null,
        sid: ctx.cookies.get("sid", { signed: true }) ?? null,
      });
    });
    app.get("/redirect", (ctx) => {
      ctx.cookies.set("after", "redirect");
      return Response.redirect("http://example.com/", 302);
    });
    const server = serve(app, {
      transport,
      hostname: "127.0.0.1",
      port: 0,
      shutdown: { signals: [] },
    });
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      const res = await fetch(base + "/", {
        headers: { cookie: `theme=dark; sid=${signedByOld}` },
      });
      assert.deepEqual(await res.json(), { theme: "dark", sid: "s-1" });
      const lines = res.headers.getSetCookie();
      assert.equal(lines.length, 3);
      assert.match(lines[0], /^a=1; Path=\/; HttpOnly; SameSite=Lax$/);
      assert.match(lines[1], /^b=2; Path=\/; Max-Age=60;/);
      assert.match(lines[2], /^c=; Path=\/; Max-Age=0;/);
      const tampered = await fetch(base + "/", {
        headers: { cookie: `sid=${signedByOld.replace("s-1", "s-2")}` },
      });
      assert.equal((await tampered.json()).sid, null);
      // Immutable responses get their cookies too (copied once).
      const redirect = await fetch(base + "/redirect", { redirect: "manual" });
      assert.equal(redirect.status, 302);
      assert.match(redirect.headers.get("set-cookie")!, /^after=redirect;/);
      await redirect.body?.cancel();
    } finally {
      await server.shutdown();
    }
  });
}
