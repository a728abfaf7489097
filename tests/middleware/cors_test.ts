import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { HttpError } from "../../src/http/errors.ts";
import { serve } from "../../src/server/serve.ts";
import { cors, type CorsOptions } from "../../src/middleware/cors.ts";
import { RawConn } from "../fixtures/raw_http.ts";

const A = "https://a.example";

function appWith(options: CorsOptions): { app: App; hits: string[] } {
  const hits: string[] = [];
  const app = new App();
  app.use(cors(options));
  app.all("/items/:id", (ctx) => {
    hits.push(ctx.method);
    return ctx.json({ id: ctx.params.id });
  });
  return { app, hits };
}

function preflight(
  origin: string,
  method: string,
  headers?: string,
  extra: Record<string, string> = {},
): RequestInit {
  const h: Record<string, string> = {
    origin,
    "access-control-request-method": method,
    ...extra,
  };
  if (headers !== undefined) h["access-control-request-headers"] = headers;
  return { method: "OPTIONS", headers: h };
}

function corsHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of res.headers) {
    if (k.startsWith("access-control-") || k === "vary") out[k] = v;
  }
  return out;
}

Deno.test("cors: origin * answers every request with * and no Vary", async () => {
  const { app } = appWith({ exposeHeaders: ["X-Request-Id"] });
  const res = await app.request("/items/1", { headers: { origin: A } });
  assert.equal(res.status, 200);
  assert.deepEqual(corsHeaders(res), {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "x-request-id",
  });
  const noOrigin = await app.request("/items/1");
  assert.equal(noOrigin.headers.get("access-control-allow-origin"), "*");
  assert.equal(noOrigin.headers.get("vary"), null);
});

Deno.test("cors: a preflight is answered 204 without running the route, reflecting requested headers", async () => {
  const { app, hits } = appWith({});
  const res = await app.request(
    "/items/1",
    preflight(A, "PUT", "Content-Type, X-Requested-With"),
  );
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  assert.deepEqual(corsHeaders(res), {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD, PUT, POST, DELETE, PATCH",
    "access-control-allow-headers": "content-type, x-requested-with",
    "access-control-max-age": "600",
    vary: "Access-Control-Request-Headers",
  });
  assert.deepEqual(hits, []);
});

Deno.test("cors: listed origins are echoed with Vary: Origin; others and no-origin requests get only Vary", async () => {
  const { app } = appWith({
    origin: [A, "http://localhost:3000"],
    credentials: true,
  });
  const ok = await app.request("/items/1", { headers: { origin: A } });
  assert.deepEqual(corsHeaders(ok), {
    "access-control-allow-origin": A,
    "access-control-allow-credentials": "true",
    vary: "Origin",
  });
  const local = await app.request("/items/1", {
    headers: { origin: "http://localhost:3000" },
  });
  assert.equal(
    local.headers.get("access-control-allow-origin"),
    "http://localhost:3000",
  );
  for (
    const origin of [
      "https://evil.example",
      "https://a.example.evil",
      "null",
      A + "/",
    ]
  ) {
    const res = await app.request("/items/1", { headers: { origin } });
    assert.equal(res.status, 200, origin);
    assert.deepEqual(corsHeaders(res), { vary: "Origin" }, origin);
  }
  // The answer depends on the origin, so caches must key on it even here.
  const none = await app.request("/items/1");
  assert.deepEqual(corsHeaders(none), { vary: "Origin" });
});

Deno.test("cors: an existing Vary is extended, not replaced or duplicated", async () => {
  const app = new App();
  app.use(cors({ origin: A }));
  app.get(
    "/enc",
    (ctx) => ctx.text("x", { headers: { vary: "Accept-Encoding" } }),
  );
  app.get("/dup", (ctx) => ctx.text("x", { headers: { vary: "origin" } }));
  app.get("/star", (ctx) => ctx.text("x", { headers: { vary: "*" } }));
  const h = { headers: { origin: A } };
  assert.equal(
    (await app.request("/enc", h)).headers.get("vary"),
    "Accept-Encoding, Origin",
  );
  assert.equal((await app.request("/dup", h)).headers.get("vary"), "origin");
  assert.equal((await app.request("/star", h)).headers.get("vary"), "*");
});

Deno.test("cors: a preflight outside allowHeaders, allowMethods or the origin list gets no CORS headers", async () => {
  const { app, hits } = appWith({
    origin: [A],
    credentials: true,
    allowMethods: ["GET", "PUT"],
    allowHeaders: ["Content-Type", "X-Requested-With"],
    maxAge: 7200,
  });
  const ok = await app.request(
    "/items/1",
    preflight(A, "PUT", "x-requested-with,content-type"),
  );
  assert.equal(ok.status, 204);
  assert.deepEqual(corsHeaders(ok), {
    "access-control-allow-origin": A,
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": "GET, PUT",
    "access-control-allow-headers": "content-type, x-requested-with",
    "access-control-max-age": "7200",
    vary: "Origin",
  });
  // Without Access-Control-Request-Headers the allow-list is still sent.
  const bare = await app.request("/items/1", preflight(A, "GET"));
  assert.equal(
    bare.headers.get("access-control-allow-headers"),
    "content-type, x-requested-with",
  );
  const refused: [string, RequestInit][] = [
    ["header not listed", preflight(A, "PUT", "content-type, x-secret")],
    ["method not listed", preflight(A, "DELETE")],
    ["method case differs", preflight(A, "put")],
    ["origin not listed", preflight("https://evil.example", "PUT")],
    ["malformed header list", preflight(A, "PUT", "content-type, x(y)")],
  ];
  for (const [why, init] of refused) {
    const res = await app.request("/items/1", init);
    assert.equal(res.status, 204, why);
    assert.deepEqual(corsHeaders(res), { vary: "Origin" }, why);
  }
  assert.deepEqual(hits, []);
});

Deno.test("cors: reflecting too many requested headers is refused", async () => {
  const { app } = appWith({ origin: A });
  const many = Array.from({ length: 65 }, (_, i) => `x-h${i}`).join(",");
  const res = await app.request("/items/1", preflight(A, "GET", many));
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  const fine = Array.from({ length: 64 }, (_, i) => `x-h${i}`).join(",");
  const ok = await app.request("/items/1", preflight(A, "GET", fine));
  assert.equal(ok.headers.get("access-control-allow-origin"), A);
  assert.equal(
    ok.headers.get("vary"),
    "Origin, Access-Control-Request-Headers",
  );
});

Deno.test("cors: Private Network Access is answered only when allowed", async () => {
  const pna = { "access-control-request-private-network": "true" };
  const off = appWith({ origin: A }).app;
  const res = await off.request(
    "/items/1",
    preflight(A, "GET", undefined, pna),
  );
  assert.equal(res.headers.get("access-control-allow-origin"), A);
  assert.equal(res.headers.get("access-control-allow-private-network"), null);
  const on = appWith({ origin: A, allowPrivateNetwork: true }).app;
  const yes = await on.request("/items/1", preflight(A, "GET", undefined, pna));
  assert.equal(yes.headers.get("access-control-allow-private-network"), "true");
  const notAsked = await on.request("/items/1", preflight(A, "GET"));
  assert.equal(
    notAsked.headers.get("access-control-allow-private-network"),
    null,
  );
});

Deno.test("cors: RegExp and function origins", async () => {
  const re = appWith({ origin: /^https:\/\/[a-z]+\.example$/ }).app;
  const sub = await re.request("/items/1", {
    headers: { origin: "https://b.example" },
  });
  assert.equal(
    sub.headers.get("access-control-allow-origin"),
    "https://b.example",
  );
  const bad = await re.request("/items/1", {
    headers: { origin: "https://b.example.evil" },
  });
  assert.equal(bad.headers.get("access-control-allow-origin"), null);
  const long = "https://" + "a".repeat(1100) + ".example";
  const tooLong = await re.request("/items/1", { headers: { origin: long } });
  assert.equal(tooLong.headers.get("access-control-allow-origin"), null);

  const seen: string[] = [];
  const fn = appWith({
    origin: (origin, ctx) => {
      seen.push(ctx.path);
      if (origin === "https://fixed.example") {
        return "https://canonical.example";
      }
      return origin.endsWith(".trusted.example") || "";
    },
  }).app;
  const yes = await fn.request("/items/1", {
    headers: { origin: "https://x.trusted.example" },
  });
  assert.equal(
    yes.headers.get("access-control-allow-origin"),
    "https://x.trusted.example",
  );
  const mapped = await fn.request("/items/2", {
    headers: { origin: "https://fixed.example" },
  });
  assert.equal(
    mapped.headers.get("access-control-allow-origin"),
    "https://canonical.example",
  );
  const no = await fn.request("/items/3", { headers: { origin: A } });
  assert.equal(no.headers.get("access-control-allow-origin"), null);
  assert.equal(no.headers.get("vary"), "Origin");
  assert.deepEqual(seen, ["/items/1", "/items/2", "/items/3"]);
});

Deno.test("cors: a function answering * on a credentialed config allows nothing", async () => {
  const { app } = appWith({ origin: () => "*", credentials: true });
  const res = await app.request("/items/1", { headers: { origin: A } });
  assert.deepEqual(corsHeaders(res), { vary: "Origin" });
  const pre = await app.request("/items/1", preflight(A, "GET"));
  assert.equal(pre.headers.get("access-control-allow-origin"), null);
});

Deno.test("cors: errors thrown further down keep their status and get CORS headers", async () => {
  const app = new App();
  app.use(cors({ origin: A, credentials: true }));
  app.get("/secret", () => {
    throw new HttpError(401, "Login required");
  });
  app.get("/boom", () => {
    throw new Error("bug");
  });
  const res = await app.request("/secret", { headers: { origin: A } });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal(res.headers.get("access-control-allow-origin"), A);
  assert.equal((await res.json()).detail, "Login required");
  // Unknown errors still become the App's generic 500.
  const err = console.error;
  console.error = () => {};
  try {
    const boom = await app.request("/boom", { headers: { origin: A } });
    assert.equal(boom.status, 500);
    await boom.body?.cancel();
  } finally {
    console.error = err;
  }
});

Deno.test("cors: OPTIONS without Access-Control-Request-Method is an ordinary request", async () => {
  const { app, hits } = appWith({ origin: A });
  const res = await app.request("/items/1", {
    method: "OPTIONS",
    headers: { origin: A },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), A);
  assert.deepEqual(hits, ["OPTIONS"]);
  // A preflight-shaped request without Origin is not a preflight either.
  const noOrigin = await app.request("/items/1", {
    method: "OPTIONS",
    headers: { "access-control-request-method": "PUT" },
  });
  assert.equal(noOrigin.status, 200);
  assert.deepEqual(hits, ["OPTIONS", "OPTIONS"]);
});

Deno.test("cors: invalid options throw a TypeError naming the option at factory time", () => {
  const cases: [CorsOptions, string][] = [
    [
      { credentials: true },
      'Option origin "*" cannot be combined with credentials: true; list the allowed origins or pass a function',
    ],
    [
      { origin: "https://a.example/" },
      'Option origin must list origins as browsers send them (scheme://host[:port], lower case, no path), got "https://a.example/"',
    ],
    [
      { origin: ["https://A.example"] },
      'Option origin must list origins as browsers send them (scheme://host[:port], lower case, no path), got "https://A.example"',
    ],
    [
      { origin: ["null"] },
      'Option origin must list origins as browsers send them (scheme://host[:port], lower case, no path), got "null"',
    ],
    [
      { origin: /a/g },
      "Option origin must be a RegExp without the g or y flag, got /a/g",
    ],
    [{ maxAge: -1 }, "Option maxAge must be a non-negative integer, got -1"],
    [{ maxAge: 1.5 }, "Option maxAge must be a non-negative integer, got 1.5"],
    [
      { allowHeaders: ["x y"] },
      'Option allowHeaders must list HTTP tokens, got "x y"',
    ],
    [
      { allowMethods: ["GET\r\n"] },
      'Option allowMethods must list HTTP tokens, got "GET\\r\\n"',
    ],
    [
      // @ts-expect-error: not a boolean
      { credentials: "yes" },
      "Option credentials must be a boolean, got yes",
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => cors(options),
      (e: unknown) => e instanceof TypeError && e.message === message,
      message,
    );
  }
  assert.doesNotThrow(() => cors({ origin: "http://[::1]:8080" }));
  assert.doesNotThrow(() => cors({ origin: "chrome-extension://abcdef" }));
});

// Captured from Chromium 156 (headless, Debian package) running
// fetch("http://HOST/items/7", { method: "PUT", credentials: "include",
//   headers: { "content-type": "application/json", "x-requested-with": "fetch" },
//   body: '{"name":"x"}' })
// on a page from another origin: the preflight, then the actual request on the
// same keep-alive connection, byte for byte but for Host, Origin and Referer.
const UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";

function chromiumPreflight(port: number): string {
  return [
    "OPTIONS /items/7 HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Connection: keep-alive",
    "Accept: */*",
    "Access-Control-Request-Method: PUT",
    "Access-Control-Request-Headers: content-type,x-requested-with",
    "Origin: https://app.example",
    `User-Agent: ${UA}`,
    "Sec-Fetch-Mode: cors",
    "Sec-Fetch-Site: cross-site",
    "Sec-Fetch-Dest: empty",
    "Referer: https://app.example/",
    "Accept-Encoding: gzip, deflate, br, zstd",
    "Accept-Language: en-US,en;q=0.9",
    "",
    "",
  ].join("\r\n");
}

function chromiumPut(port: number, body: string): string {
  return [
    "PUT /items/7 HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Connection: keep-alive",
    `Content-Length: ${body.length}`,
    'sec-ch-ua-platform: "Linux"',
    "x-requested-with: fetch",
    `User-Agent: ${UA}`,
    'sec-ch-ua: "Not:A-Brand";v="8", "Chromium";v="156"',
    "content-type: application/json",
    "sec-ch-ua-mobile: ?0",
    "Accept: */*",
    "Origin: https://app.example",
    "Sec-Fetch-Site: cross-site",
    "Sec-Fetch-Mode: cors",
    "Sec-Fetch-Dest: empty",
    "Sec-Fetch-Storage-Access: none",
    "Referer: https://app.example/",
    "Accept-Encoding: gzip, deflate, br, zstd",
    "Accept-Language: en-US,en;q=0.9",
    "",
    body,
  ].join("\r\n");
}

for (const transport of ["h1", "deno"] as const) {
  Deno.test(`cors: Chromium's credentialed preflight and PUT on the wire (${transport})`, async () => {
    const app = new App();
    app.use(cors({
      origin: ["https://app.example"],
      credentials: true,
      allowHeaders: ["content-type", "x-requested-with"],
      exposeHeaders: ["x-request-id"],
    }));
    const seen: string[] = [];
    app.put("/items/:id", async (ctx) => {
      seen.push(`${ctx.header("x-requested-with")} ${await ctx.body.text()}`);
      return ctx.json({ id: ctx.params.id });
    });
    const server = serve(app, {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    const port = server.addr.port;
    const conn = await RawConn.open(port);
    try {
      await conn.write(chromiumPreflight(port));
      const pre = await conn.readResponse();
      assert.equal(pre.status, 204);
      assert.equal(
        pre.headers.get("access-control-allow-origin"),
        "https://app.example",
      );
      assert.equal(pre.headers.get("access-control-allow-credentials"), "true");
      assert.match(pre.headers.get("access-control-allow-methods")!, /\bPUT\b/);
      assert.equal(
        pre.headers.get("access-control-allow-headers"),
        "content-type, x-requested-with",
      );
      assert.equal(pre.headers.get("access-control-max-age"), "600");
      assert.equal(pre.headers.get("vary"), "Origin");
      assert.equal(pre.body, "");
      assert.deepEqual(seen, []);

      await conn.write(chromiumPut(port, '{"name":"x"}'));
      const res = await conn.readResponse();
      assert.equal(res.status, 200);
      assert.equal(
        res.headers.get("access-control-allow-origin"),
        "https://app.example",
      );
      assert.equal(res.headers.get("access-control-allow-credentials"), "true");
      assert.equal(
        res.headers.get("access-control-expose-headers"),
        "x-request-id",
      );
      assert.equal(res.headers.get("vary"), "Origin");
      assert.deepEqual(JSON.parse(res.body), { id: "7" });
      assert.deepEqual(seen, ['fetch {"name":"x"}']);
    } finally {
      conn.close();
      await server.shutdown();
    }
  });
}

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: hasChromium
    ? "cors: real Chromium: a credentialed cross-origin fetch with a custom header works only when allowed"
    : "cors: real Chromium test ignored: install the Debian package chromium",
  ignore: !hasChromium,
  // puppeteer keeps its own timers and sockets between calls.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { default: puppeteer } = await import("npm:puppeteer-core@25");
    const pageApp = new App().get(
      "/",
      (ctx) => ctx.html("<!doctype html><title>a</title>"),
    );
    const pageServer = serve(pageApp, {
      port: 0,
      hostname: "127.0.0.1",
      shutdown: { signals: [] },
    });
    const pageOrigin = `http://127.0.0.1:${pageServer.addr.port}`;
    const hits: string[] = [];
    const api = new App();
    const allow = { allowHeaders: ["content-type", "x-custom"] };
    api.use(
      "/allowed",
      cors({ origin: [pageOrigin], credentials: true, ...allow }),
    );
    api.use(
      "/other-origin",
      cors({
        origin: ["https://elsewhere.example"],
        credentials: true,
        ...allow,
      }),
    );
    api.use("/no-credentials", cors({ origin: [pageOrigin], ...allow }));
    api.use(
      "/header-not-listed",
      cors({
        origin: [pageOrigin],
        credentials: true,
        allowHeaders: ["content-type"],
      }),
    );
    api.put("/:case", async (ctx) => {
      hits.push(
        `${ctx.params.case} ${ctx.header("x-custom")} ${await ctx.body.text()}`,
      );
      return ctx.json({ ok: ctx.params.case });
    });
    const apiServer = serve(api, {
      port: 0,
      hostname: "127.0.0.1",
      shutdown: { signals: [] },
    });
    const apiBase = `http://localhost:${apiServer.addr.port}`;
    const dir = await Deno.makeTempDir({ prefix: "palisade-chromium-" });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${dir}`,
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(pageOrigin + "/");
      const call = (url: string) =>
        page.evaluate(async (u: string) => {
          try {
            const r = await fetch(u, {
              method: "PUT",
              credentials: "include",
              headers: { "content-type": "application/json", "x-custom": "42" },
              body: '{"n":1}',
            });
            return `ok ${r.status} ${await r.text()}`;
          } catch (e) {
            return `failed ${(e as Error).name}`;
          }
        }, url);
      assert.equal(await call(`${apiBase}/allowed`), 'ok 200 {"ok":"allowed"}');
      assert.deepEqual(hits, ['allowed 42 {"n":1}']);
      for (const c of ["other-origin", "no-credentials", "header-not-listed"]) {
        assert.equal(await call(`${apiBase}/${c}`), "failed TypeError", c);
      }
      // The refused preflights kept the PUTs from being sent at all.
      assert.deepEqual(hits, ['allowed 42 {"n":1}']);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
      await apiServer.shutdown();
      await pageServer.shutdown();
    }
  },
});
