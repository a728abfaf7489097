import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import {
  basicAuth,
  type BasicAuthOptions,
  basicAuthUser,
} from "../../src/middleware/basic_auth.ts";

const CHALLENGE = 'Basic realm="Restricted", charset="UTF-8"';

function b64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  return btoa(String.fromCharCode(...bytes));
}

function appWith(options: BasicAuthOptions): App {
  const app = new App();
  app.use("/admin", basicAuth(options));
  app.get("/admin", (ctx) => ctx.text(`hello ${basicAuthUser(ctx)}`));
  app.get("/open", (ctx) => ctx.text(`open ${basicAuthUser(ctx)}`));
  return app;
}

async function get(app: App, authorization?: string): Promise<Response> {
  return await app.request("/admin", {
    headers: authorization === undefined ? {} : { authorization },
  });
}

async function refused(
  res: Response,
  detail: string,
  challenge = CHALLENGE,
): Promise<void> {
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("www-authenticate"), challenge);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal((await res.json()).detail, detail);
}

Deno.test("basicAuth: right credentials pass and name the user; the rest get 401 with the challenge", async () => {
  const app = appWith({ username: "admin", password: "s3cret pässword" });
  const ok = await get(app, "Basic " + b64("admin:s3cret pässword"));
  assert.equal(await ok.text(), "hello admin");
  // The scheme is case-insensitive; several spaces may follow it.
  assert.equal(
    (await get(app, "basic   " + b64("admin:s3cret pässword"))).status,
    200,
  );
  await refused(await get(app), "Basic credentials are required");
  await refused(await get(app, "Bearer abc"), "Basic credentials are required");
  await refused(await get(app, "Basic"), "Basic credentials are required");
  await refused(
    await get(app, "Basic " + b64("admin:wrong")),
    "Invalid credentials",
  );
  await refused(
    await get(app, "Basic " + b64("root:s3cret pässword")),
    "Invalid credentials",
  );
  // Routes outside the prefix are not protected and have no user.
  assert.equal(await (await app.request("/open")).text(), "open undefined");
});

Deno.test("basicAuth: a wrong password of the same or another length is refused alike (digests compared)", async () => {
  const app = appWith({ username: "u", password: "abcdefgh" });
  for (
    const pass of ["abcdefgX", "abcdefg", "abcdefghi", "", "a".repeat(1000)]
  ) {
    await refused(
      await get(app, "Basic " + b64(`u:${pass}`)),
      "Invalid credentials",
    );
  }
  // A password that shares the real one as a prefix is no match either.
  await refused(
    await get(app, "Basic " + b64("u:abcdefgh\u00e9")),
    "Invalid credentials",
  );
});

Deno.test("basicAuth: users list matches user-id and password together", async () => {
  const app = appWith({
    users: [
      { username: "alice", password: "same" },
      { username: "bob", password: "same" },
      { username: "carol", password: "other" },
    ],
  });
  assert.equal(
    await (await get(app, "Basic " + b64("bob:same"))).text(),
    "hello bob",
  );
  assert.equal(
    await (await get(app, "Basic " + b64("carol:other"))).text(),
    "hello carol",
  );
  await refused(
    await get(app, "Basic " + b64("alice:other")),
    "Invalid credentials",
  );
  // The colon splits at its first occurrence: passwords may contain colons.
  const colon = appWith({ username: "x", password: "a:b:c" });
  assert.equal((await get(colon, "Basic " + b64("x:a:b:c"))).status, 200);
});

Deno.test("basicAuth: verify() decides and sees the context", async () => {
  const app = appWith({
    verify: async (user, pass, ctx) => {
      await Promise.resolve();
      return user === "svc" && pass === ctx.header("x-expected");
    },
  });
  const res = await app.request("/admin", {
    headers: { authorization: "Basic " + b64("svc:p"), "x-expected": "p" },
  });
  assert.equal(await res.text(), "hello svc");
  await refused(await get(app, "Basic " + b64("svc:p")), "Invalid credentials");
});

Deno.test("basicAuth: malformed credentials are 401, never a crash", async () => {
  const app = appWith({ username: "admin", password: "pw" });
  const bad = [
    "Basic !!!!",
    "Basic YWRtaW46cHc", // unpadded
    "Basic YWRtaW46cHc=x",
    "Basic YW=RtaW46cHc=",
    "Basic " + b64("no colon here"),
    "Basic " + b64("admin:pw\u0000"),
    "Basic " + btoa("\xff\xfe:\xff"), // not UTF-8
    "Basic ====",
  ];
  for (const value of bad) {
    await refused(await get(app, value), "Basic credentials are malformed");
  }
});

Deno.test("basicAuth: an Authorization value over maxHeaderBytes is refused without decoding", async () => {
  const app = appWith({
    username: "admin",
    password: "pw",
    maxHeaderBytes: 64,
  });
  const long = "Basic " + b64("admin:pw" + " ".repeat(100));
  await refused(
    await get(app, long),
    "Authorization header exceeds the maxHeaderBytes limit of 64 bytes",
  );
  const def = appWith({ username: "admin", password: "pw" });
  await refused(
    await get(def, "Basic " + "A".repeat(4096)),
    "Authorization header exceeds the maxHeaderBytes limit of 4096 bytes",
  );
});

Deno.test("basicAuth: realm is quoted and escaped", async () => {
  const app = appWith({
    username: "a",
    password: "b",
    realm: 'My "admin" \\ area',
  });
  await refused(
    await get(app),
    "Basic credentials are required",
    'Basic realm="My \\"admin\\" \\\\ area", charset="UTF-8"',
  );
});

Deno.test("basicAuth: invalid options throw a TypeError naming the option", () => {
  const cases: [BasicAuthOptions, string][] = [
    [
      {},
      "Options of basicAuth need exactly one of username and password, users, or verify",
    ],
    [
      { username: "a", password: "b", verify: () => true },
      "Options of basicAuth need exactly one of username and password, users, or verify",
    ],
    [
      { username: "a", password: "" },
      'Option password of user "a" must be a non-empty string without control characters',
    ],
    [
      { username: "a" },
      'Option password of user "a" must be a non-empty string without control characters',
    ],
    [
      { username: "a:b", password: "c" },
      'Option username must be a non-empty string without ":" or control characters, got "a:b"',
    ],
    [
      { users: [] },
      "Option users must be a non-empty array, got an empty array",
    ],
    [
      { username: "a", password: "b", realm: "é" },
      'Option realm must be a string of printable ASCII characters, got "é"',
    ],
    [
      { username: "a", password: "b", maxHeaderBytes: 0 },
      "Option maxHeaderBytes must be a positive integer, got 0",
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => basicAuth(options),
      (e: unknown) => e instanceof TypeError && e.message === message,
      message,
    );
  }
});

Deno.test("basicAuth: over a real socket, 401 with the challenge, then the credentials pass", async () => {
  const app = appWith({ username: "admin", password: "pw" });
  for (const transport of ["h1", "deno"] as const) {
    const server = serve(app, {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    try {
      const base = `http://127.0.0.1:${server.addr.port}/admin`;
      const anon = await fetch(base);
      await refused(anon, "Basic credentials are required");
      const ok = await fetch(base, {
        headers: { authorization: "Basic " + b64("admin:pw") },
      });
      assert.equal(await ok.text(), "hello admin");
    } finally {
      await server.shutdown();
    }
  }
});
