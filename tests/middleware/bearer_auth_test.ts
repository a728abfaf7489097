import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import {
  bearerAuth,
  type BearerAuthOptions,
} from "../../src/middleware/bearer_auth.ts";

const REALM = 'Bearer realm="Restricted"';
const TOKEN = "mF_9.B5f-4.1JqM";

function appWith(options: BearerAuthOptions): { app: App; hits: number[] } {
  const hits: number[] = [];
  const app = new App();
  app.use(bearerAuth(options));
  app.get("/me", (ctx) => {
    hits.push(1);
    return ctx.json({ ok: true });
  });
  return { app, hits };
}

async function call(app: App, authorization?: string): Promise<Response> {
  return await app.request("/me", {
    headers: authorization === undefined ? {} : { authorization },
  });
}

async function expect(
  res: Response,
  status: number,
  challenge: string,
  detail: string,
): Promise<void> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("www-authenticate"), challenge);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal((await res.json()).detail, detail);
}

Deno.test("bearerAuth: the right token passes; RFC 6750 answers for the rest", async () => {
  const { app, hits } = appWith({ token: TOKEN });
  assert.equal((await call(app, `Bearer ${TOKEN}`)).status, 200);
  assert.equal((await call(app, `bearer ${TOKEN}`)).status, 200);
  assert.equal(hits.length, 2);
  // No credentials, or another scheme: a bare challenge, no error code.
  await expect(await call(app), 401, REALM, "Bearer token is required");
  await expect(
    await call(app, "Basic YTpi"),
    401,
    REALM,
    "Bearer token is required",
  );
  await expect(
    await call(app, "Bearerx abc"),
    401,
    REALM,
    "Bearer token is required",
  );
  // Wrong token.
  const invalid = `${REALM}, error="invalid_token"`;
  await expect(
    await call(app, "Bearer mF_9.B5f-4.1JqX"),
    401,
    invalid,
    "Bearer token is invalid",
  );
  await expect(
    await call(app, "Bearer short"),
    401,
    invalid,
    "Bearer token is invalid",
  );
  await expect(
    await call(app, `Bearer ${TOKEN}${TOKEN}`),
    401,
    invalid,
    "Bearer token is invalid",
  );
  // Malformed: 400 invalid_request.
  const malformed = `${REALM}, error="invalid_request"`;
  await expect(
    await call(app, "Bearer"),
    400,
    malformed,
    "Bearer token is empty",
  );
  await expect(
    await call(app, "Bearer   "),
    400,
    malformed,
    "Bearer token is empty",
  );
  for (
    const bad of [
      "Bearer a b",
      "Bearer a,b",
      "Bearer =abc",
      "Bearer ab=c",
      'Bearer "abc"',
      "Bearer a\tb",
    ]
  ) {
    await expect(
      await call(app, bad),
      400,
      malformed,
      "Bearer token is malformed",
    );
  }
  assert.equal(hits.length, 2);
});

Deno.test("bearerAuth: token68 allows its whole charset and trailing =", async () => {
  const token = "AZaz09-._~+/==";
  const { app } = appWith({ token });
  assert.equal((await call(app, `Bearer ${token}`)).status, 200);
});

Deno.test("bearerAuth: several tokens (rotation) and verify()", async () => {
  const { app } = appWith({ tokens: ["old-token", "new-token"] });
  assert.equal((await call(app, "Bearer old-token")).status, 200);
  assert.equal((await call(app, "Bearer new-token")).status, 200);
  assert.equal((await call(app, "Bearer other-token")).status, 401);
  const seen: string[] = [];
  const fn = appWith({
    verify: (token, ctx) => {
      seen.push(`${ctx.path} ${token}`);
      return Promise.resolve(token.startsWith("ok."));
    },
  }).app;
  assert.equal((await call(fn, "Bearer ok.1")).status, 200);
  assert.equal((await call(fn, "Bearer no.1")).status, 401);
  assert.deepEqual(seen, ["/me ok.1", "/me no.1"]);
});

Deno.test("bearerAuth: an Authorization value over maxHeaderBytes is 400 without being examined", async () => {
  let verified = 0;
  const { app } = appWith({
    verify: () => {
      verified++;
      return true;
    },
    maxHeaderBytes: 100,
  });
  await expect(
    await call(app, "Bearer " + "a".repeat(100)),
    400,
    `${REALM}, error="invalid_request"`,
    "Authorization header exceeds the maxHeaderBytes limit of 100 bytes",
  );
  assert.equal(verified, 0);
  assert.equal((await call(app, "Bearer " + "a".repeat(93))).status, 200);
});

Deno.test("bearerAuth: invalid options throw a TypeError naming the option", () => {
  const cases: [BearerAuthOptions, string][] = [
    [{}, "Options of bearerAuth need exactly one of token, tokens, or verify"],
    [
      { token: "a", tokens: ["b"] },
      "Options of bearerAuth need exactly one of token, tokens, or verify",
    ],
    [
      { token: "has space" },
      "Option token must hold token68 strings (letters, digits, -._~+/ and trailing =), got a string of 9 characters",
    ],
    [
      { tokens: [] },
      "Option tokens must be a non-empty array, got an empty array",
    ],
    [
      { token: "abc", realm: "a\nb" },
      'Option realm must be a string of printable ASCII characters, got "a\\nb"',
    ],
    [
      { token: "abc", maxHeaderBytes: -1 },
      "Option maxHeaderBytes must be a positive integer, got -1",
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => bearerAuth(options),
      (e: unknown) => e instanceof TypeError && e.message === message,
      message,
    );
  }
});

Deno.test("bearerAuth: over a real socket", async () => {
  const { app } = appWith({ token: TOKEN, realm: "api" });
  for (const transport of ["h1", "deno"] as const) {
    const server = serve(app, {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    const url = `http://127.0.0.1:${server.addr.port}/me`;
    try {
      const none = await fetch(url);
      await expect(none, 401, 'Bearer realm="api"', "Bearer token is required");
      const bad = await fetch(url, {
        headers: { authorization: "Bearer nope" },
      });
      await expect(
        bad,
        401,
        'Bearer realm="api", error="invalid_token"',
        "Bearer token is invalid",
      );
      const ok = await fetch(url, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.deepEqual(await ok.json(), { ok: true });
    } finally {
      await server.shutdown();
    }
  }
});
