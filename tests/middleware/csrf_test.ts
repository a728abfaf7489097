import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { csrf, type CsrfOptions } from "../../src/middleware/csrf.ts";

function appWith(options?: CsrfOptions): { app: App; hits: string[] } {
  const hits: string[] = [];
  const app = new App();
  app.use(csrf(options));
  app.all("/*", (ctx) => {
    hits.push(`${ctx.method} ${ctx.path}`);
    return ctx.text("done");
  });
  return { app, hits };
}

async function status(
  app: App,
  method: string,
  headers: Record<string, string>,
  url = "https://example.com/",
): Promise<number> {
  const res = await app.request(url, { method, headers });
  await res.body?.cancel();
  return res.status;
}

Deno.test("csrf: Sec-Fetch-Site decides for unsafe methods; safe methods always pass", async () => {
  const { app } = appWith();
  const cases: [string, Record<string, string>, number][] = [
    ["POST", { "sec-fetch-site": "same-origin" }, 200],
    ["POST", { "sec-fetch-site": "none" }, 200],
    ["POST", { "sec-fetch-site": "cross-site" }, 403],
    ["POST", { "sec-fetch-site": "same-site" }, 403],
    ["POST", { "sec-fetch-site": "bogus" }, 403],
    // Sec-Fetch-Site wins over a matching Origin.
    [
      "POST",
      { "sec-fetch-site": "cross-site", origin: "https://example.com" },
      403,
    ],
    ["PUT", { "sec-fetch-site": "cross-site" }, 403],
    ["PATCH", { "sec-fetch-site": "cross-site" }, 403],
    ["DELETE", { "sec-fetch-site": "cross-site" }, 403],
    ["GET", { "sec-fetch-site": "cross-site" }, 200],
    ["HEAD", { "sec-fetch-site": "cross-site" }, 200],
    ["OPTIONS", { "sec-fetch-site": "cross-site" }, 200],
  ];
  for (const [method, headers, want] of cases) {
    assert.equal(
      await status(app, method, headers),
      want,
      `${method} ${JSON.stringify(headers)}`,
    );
  }
});

Deno.test("csrf: without Sec-Fetch-Site the Origin host must match Host; neither header passes", async () => {
  const { app, hits } = appWith();
  const cases: [Record<string, string>, number][] = [
    [{}, 200],
    [{ origin: "https://example.com" }, 200],
    [{ origin: "https://EXAMPLE.com" }, 200],
    [{ origin: "http://example.com" }, 200], // Host carries no scheme: fails open, as in Go
    [{ origin: "https://attacker.example" }, 403],
    [{ origin: "https://example.com:8443" }, 403],
    [{ origin: "null" }, 403],
  ];
  for (const [headers, want] of cases) {
    assert.equal(
      await status(app, "POST", headers),
      want,
      JSON.stringify(headers),
    );
  }
  assert.equal(hits.length, 4);
  assert.equal(
    await status(
      app,
      "POST",
      { origin: "http://localhost:8000" },
      "http://localhost:8000/x",
    ),
    200,
  );
});

Deno.test("csrf: the 403 is problem+json naming the reason", async () => {
  const { app, hits } = appWith();
  const res = await app.request("/transfer", {
    method: "POST",
    headers: { "sec-fetch-site": "cross-site" },
  });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.deepEqual(await res.json(), {
    type: "about:blank",
    title: "Forbidden",
    status: 403,
    detail: "Cross-origin request refused: Sec-Fetch-Site is cross-site",
  });
  const old = await app.request("/transfer", {
    method: "POST",
    headers: { origin: "https://attacker.example" },
  });
  assert.equal(
    (await old.json()).detail,
    "Cross-origin request refused: Sec-Fetch-Site is missing and Origin does not match Host",
  );
  assert.deepEqual(hits, []);
});

Deno.test("csrf: trusted origins pass with or without Sec-Fetch-Site", async () => {
  const { app } = appWith({ trustedOrigins: ["https://trusted.example"] });
  const cases: [Record<string, string>, number][] = [
    [{ origin: "https://trusted.example" }, 200],
    [
      { origin: "https://trusted.example", "sec-fetch-site": "cross-site" },
      200,
    ],
    [
      { origin: "https://trusted.example:443", "sec-fetch-site": "cross-site" },
      403,
    ],
    [{ origin: "https://attacker.example" }, 403],
    [
      { origin: "https://attacker.example", "sec-fetch-site": "cross-site" },
      403,
    ],
  ];
  for (const [headers, want] of cases) {
    assert.equal(
      await status(app, "POST", headers),
      want,
      JSON.stringify(headers),
    );
  }
});

Deno.test("csrf: bypass prefixes match whole segments of the normalised path", async () => {
  const { app } = appWith({ bypass: ["/hooks/", "/public"] });
  const attacker = {
    origin: "https://attacker.example",
    "sec-fetch-site": "cross-site",
  };
  const cases: [string, number][] = [
    ["/hooks", 200],
    ["/hooks/github", 200],
    ["/%68ooks/github", 200],
    ["/public/x", 200],
    ["/hooksmith", 403],
    ["/api/hooks", 403],
    ["/api", 403],
  ];
  for (const [path, want] of cases) {
    assert.equal(
      await status(app, "POST", attacker, "https://example.com" + path),
      want,
      path,
    );
  }
  const fn =
    appWith({ bypass: (ctx) => ctx.header("x-signature") === "ok" }).app;
  assert.equal(
    await status(fn, "POST", { ...attacker, "x-signature": "ok" }),
    200,
  );
  assert.equal(
    await status(fn, "POST", { ...attacker, "x-signature": "no" }),
    403,
  );
});

Deno.test("csrf: invalid options throw a TypeError naming the option", () => {
  const bad = [
    "example.com",
    "https://",
    "https://example.com/",
    "https://example.com/path",
    "https://example.com?q=1",
    "https://example.com#f",
    "https://ex ample.com",
    "",
    "null",
  ];
  for (const o of bad) {
    assert.throws(
      () => csrf({ trustedOrigins: [o] }),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message ===
          `Option trustedOrigins must list origins (scheme://host[:port], lower case, no path), got ${
            JSON.stringify(o)
          }`,
      o,
    );
  }
  for (
    const o of [
      "https://example.com",
      "https://example.com:8080",
      "http://example.com",
    ]
  ) {
    assert.doesNotThrow(() => csrf({ trustedOrigins: [o] }), o);
  }
  assert.throws(
    () => csrf({ bypass: ["hooks"] }),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message ===
        'Option bypass must list path prefixes starting with "/", got "hooks"',
  );
});

Deno.test("csrf: over a real socket, a cross-site form post is refused and a same-origin one accepted", async () => {
  const { app, hits } = appWith();
  for (const transport of ["h1", "deno"] as const) {
    const server = serve(app, {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    const base = `http://127.0.0.1:${server.addr.port}`;
    const form = {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "amount=100",
    };
    try {
      const evil = await fetch(base + "/transfer", {
        ...form,
        headers: {
          ...form.headers,
          origin: "https://evil.example",
          "sec-fetch-site": "cross-site",
        },
      });
      assert.equal(evil.status, 403);
      await evil.body?.cancel();
      const oldBrowser = await fetch(base + "/transfer", {
        ...form,
        headers: { ...form.headers, origin: "https://evil.example" },
      });
      assert.equal(oldBrowser.status, 403);
      await oldBrowser.body?.cancel();
      const same = await fetch(base + "/transfer", {
        ...form,
        headers: {
          ...form.headers,
          origin: base,
          "sec-fetch-site": "same-origin",
        },
      });
      assert.equal(await same.text(), "done");
      const matching = await fetch(base + "/transfer", {
        ...form,
        headers: { ...form.headers, origin: base },
      });
      assert.equal(await matching.text(), "done");
    } finally {
      await server.shutdown();
    }
  }
  assert.deepEqual(hits, [
    "POST /transfer",
    "POST /transfer",
    "POST /transfer",
    "POST /transfer",
  ]);
});
