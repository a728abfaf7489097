import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "npm:jose@6";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { jwt, type JwtOptions } from "../../src/middleware/jwt.ts";

const SECRET = "a-secret-of-at-least-32-bytes-long!!";
const secretBytes = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const INVALID = 'Bearer error="invalid_token"';

function appWith(options: JwtOptions, appOptions = {}): App {
  const app = new App(appOptions);
  app.use("/api", jwt(options));
  app.get(
    "/api/me",
    (ctx) => ctx.json(ctx.state[options.stateKey ?? "jwtPayload"] ?? null),
  );
  return app;
}

function sign(
  claims: JWTPayload,
  key: CryptoKey | Uint8Array,
  alg: string,
  header: Record<string, unknown> = {},
): Promise<string> {
  const jws = new SignJWT({ exp: now() + 60, ...claims }).setProtectedHeader({
    alg,
    ...header,
  });
  return jws.sign(key);
}

async function call(
  app: App,
  token: string | null,
  headers: Record<string, string> = {},
) {
  const res = await app.request("/api/me", {
    headers: token === null
      ? headers
      : { authorization: `Bearer ${token}`, ...headers },
  });
  const body = await res.json();
  return {
    status: res.status,
    challenge: res.headers.get("www-authenticate"),
    body,
  };
}

async function refused(
  app: App,
  token: string | null,
  detail: string,
  headers: Record<string, string> = {},
  challenge = INVALID,
) {
  const r = await call(app, token, headers);
  assert.equal(r.status, 401, detail);
  assert.equal(r.challenge, challenge, detail);
  assert.equal(r.body.detail, detail);
}

Deno.test("jwt: HS256/384/512 tokens verify and the payload lands in ctx.state", async () => {
  const long = new TextEncoder().encode("x".repeat(64));
  const app = appWith({ algorithms: ["HS256", "HS384", "HS512"], key: long });
  for (const alg of ["HS256", "HS384", "HS512"]) {
    const token = await sign({ sub: `user-${alg}` }, long, alg);
    const r = await call(app, token);
    assert.equal(r.status, 200, alg);
    assert.equal(r.body.sub, `user-${alg}`);
  }
  const custom = appWith({
    algorithms: ["HS256"],
    key: SECRET,
    stateKey: "user",
  });
  const r = await call(
    custom,
    await sign({ sub: "u1", role: "admin" }, secretBytes, "HS256"),
  );
  assert.equal(r.body.role, "admin");
});

Deno.test("jwt: RS256 (PEM), ES256 (certificate and JWK) and EdDSA (CryptoKey) verify", async () => {
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const rsaApp = appWith({
    algorithms: ["RS256"],
    key: await exportSPKI(rsa.publicKey),
  });
  assert.equal(
    (await call(rsaApp, await sign({ sub: "r" }, rsa.privateKey, "RS256")))
      .status,
    200,
  );

  // The test TLS leaf: an EC P-256 certificate and its key.
  const fixtures = new URL("../fixtures/", import.meta.url);
  const cert = Deno.readTextFileSync(new URL("server_cert.pem", fixtures));
  const certKey = await importPKCS8(
    Deno.readTextFileSync(new URL("server_key.pem", fixtures)),
    "ES256",
  );
  const certApp = appWith({ algorithms: ["ES256"], key: cert });
  assert.equal(
    (await call(certApp, await sign({ sub: "c" }, certKey, "ES256"))).status,
    200,
  );

  const ec = await generateKeyPair("ES256", { extractable: true });
  const jwkApp = appWith({
    algorithms: ["ES256"],
    key: await exportJWK(ec.publicKey),
  });
  assert.equal(
    (await call(jwkApp, await sign({ sub: "e" }, ec.privateKey, "ES256")))
      .status,
    200,
  );
  // A token signed by another P-256 key fails.
  await refused(
    jwkApp,
    await sign({ sub: "e" }, certKey, "ES256"),
    "Token signature is invalid",
  );

  const ed = await generateKeyPair("EdDSA");
  const edApp = appWith({ algorithms: ["EdDSA"], key: ed.publicKey });
  assert.equal(
    (await call(edApp, await sign({ sub: "d" }, ed.privateKey, "EdDSA")))
      .status,
    200,
  );
});

Deno.test("jwt: tampered, unsigned and malformed tokens are refused with invalid_token", async () => {
  const app = appWith({ algorithms: ["HS256"], key: SECRET });
  const token = await sign(
    { sub: "alice", admin: false },
    secretBytes,
    "HS256",
  );
  const [h, p, s] = token.split(".");
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(
      /\//g,
      "_",
    );
  const forged = b64({ sub: "alice", admin: true, exp: now() + 60 });
  await refused(app, `${h}.${forged}.${s}`, "Token signature is invalid");
  const flipped = s.slice(0, -2) + (s.at(-2) === "A" ? "B" : "A") + s.at(-1);
  await refused(app, `${h}.${p}.${flipped}`, "Token signature is invalid");
  await refused(
    app,
    `${b64({ alg: "none", typ: "JWT" })}.${p}.`,
    "Token is not a signed JWT",
  );
  await refused(
    app,
    `${b64({ alg: "none" })}.${p}.${s}`,
    "Token algorithm is not allowed",
  );
  await refused(app, `${h}.${p}`, "Token is not a signed JWT");
  await refused(app, `${h}.${p}.${s}.x`, "Token is not a signed JWT");
  await refused(app, "not-a-jwt", "Token is not a signed JWT");
  await refused(app, `${h}.${p}.${s}=`, "Token is not a signed JWT");
  await refused(app, `${b64("[]")}.${p}.${s}`, "Token is invalid");
  await refused(app, null, "Bearer token is required", {}, "Bearer");
  // Another scheme is no token.
  await refused(app, null, "Bearer token is required", {
    authorization: "Basic YTpi",
  }, "Bearer");
  // Payload of a token that is not JSON.
  const notJson = `${h}.aGVsbG8`; // "hello"
  const sig = createHmac("sha256", SECRET).update(notJson).digest("base64url");
  await refused(app, `${notJson}.${sig}`, "Token is invalid");
});

Deno.test("jwt: exp, nbf and iat with clockToleranceSec; exp required unless requireExp is false", async () => {
  const strict = appWith({ algorithms: ["HS256"], key: SECRET });
  const lenient = appWith({
    algorithms: ["HS256"],
    key: SECRET,
    clockToleranceSec: 30,
  });
  const expired = await sign({ exp: now() - 10 }, secretBytes, "HS256");
  await refused(strict, expired, "Token has expired");
  assert.equal((await call(lenient, expired)).status, 200);
  const longExpired = await sign({ exp: now() - 100 }, secretBytes, "HS256");
  await refused(lenient, longExpired, "Token has expired");

  const early = await sign({ nbf: now() + 10 }, secretBytes, "HS256");
  await refused(strict, early, "Token is not valid yet");
  assert.equal((await call(lenient, early)).status, 200);

  const future = await sign({ iat: now() + 100 }, secretBytes, "HS256");
  assert.equal((await call(strict, future)).status, 200); // iat is informative without a max age

  const forever = await new SignJWT({ sub: "x" }).setProtectedHeader({
    alg: "HS256",
  }).sign(secretBytes);
  await refused(strict, forever, "Token claim exp is missing");
  const optional = appWith({
    algorithms: ["HS256"],
    key: SECRET,
    requireExp: false,
  });
  assert.equal((await call(optional, forever)).status, 200);
});

Deno.test("jwt: issuer and audience are checked when set", async () => {
  const app = appWith({
    algorithms: ["HS256"],
    key: SECRET,
    issuer: ["https://auth.example/", "https://old-auth.example/"],
    audience: "api",
  });
  const good = await sign(
    { iss: "https://old-auth.example/", aud: ["web", "api"] },
    secretBytes,
    "HS256",
  );
  assert.equal((await call(app, good)).status, 200);
  await refused(
    app,
    await sign(
      { iss: "https://evil.example/", aud: "api" },
      secretBytes,
      "HS256",
    ),
    "Token claim iss is invalid",
  );
  await refused(
    app,
    await sign(
      { iss: "https://auth.example/", aud: "web" },
      secretBytes,
      "HS256",
    ),
    "Token claim aud is invalid",
  );
  await refused(
    app,
    await sign({ aud: "api" }, secretBytes, "HS256"),
    "Token claim iss is missing",
  );
});

Deno.test("jwt: algorithm confusion: an HS256 token made with the RSA public key fails", async () => {
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const pem = await exportSPKI(rsa.publicKey);
  const app = appWith({ algorithms: ["RS256"], key: pem });
  // The classic attack: HMAC over the token with the public key text as secret.
  const confused = await sign(
    { sub: "admin" },
    new TextEncoder().encode(pem),
    "HS256",
  );
  await refused(app, confused, "Token algorithm is not allowed");
  // And the factory refuses configurations that would allow it.
  assert.throws(
    () => jwt({ algorithms: ["RS256", "HS256"], key: pem }),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message ===
        "Option algorithms lists HS256, which a RSA key cannot verify",
  );
  assert.throws(
    () => jwt({ algorithms: ["RS256"], key: SECRET }),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message ===
        "Option algorithms lists RS256, which a secret (HMAC) key cannot verify",
  );
});

Deno.test("jwt: a 64 KiB token is refused 401 before parsing, in process and over a socket", async () => {
  const big = "eyJ" + "A".repeat(64 * 1024);
  const app = appWith(
    { algorithms: ["HS256"], key: SECRET, cookie: "session" },
    { limits: { headerBytes: 256 * 1024 } },
  );
  await refused(
    app,
    big,
    "Token exceeds the maxTokenBytes limit of 8192 bytes",
  );
  await refused(
    app,
    `${big}.${big}.${big}`,
    "Token exceeds the maxTokenBytes limit of 8192 bytes",
  );
  await refused(
    app,
    null,
    "Token exceeds the maxTokenBytes limit of 8192 bytes",
    {
      cookie: `session=${big}`,
    },
  );
  // Deno.serve itself answers 400 to a 64 KiB header line: 16 KiB there.
  const sizes = { h1: big, deno: "eyJ" + "A".repeat(16 * 1024) };
  for (const transport of ["h1", "deno"] as const) {
    const server = serve(app, {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    try {
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/api/me`, {
        headers: { authorization: `Bearer ${sizes[transport]}` },
      });
      assert.equal(res.status, 401, transport);
      assert.equal(res.headers.get("www-authenticate"), INVALID);
      assert.equal(
        (await res.json()).detail,
        "Token exceeds the maxTokenBytes limit of 8192 bytes",
      );
      const ok = await fetch(`http://127.0.0.1:${server.addr.port}/api/me`, {
        headers: {
          authorization: `Bearer ${await sign(
            { sub: "s" },
            secretBytes,
            "HS256",
          )}`,
        },
      });
      assert.equal((await ok.json()).sub, "s");
    } finally {
      await server.shutdown();
    }
  }
});

Deno.test("jwt: the token can come from a cookie when there is no Bearer header", async () => {
  const app = appWith({
    algorithms: ["HS256"],
    key: SECRET,
    cookie: "__Host-jwt",
  });
  const token = await sign({ sub: "cookie-user" }, secretBytes, "HS256");
  const other = await sign({ sub: "header-user" }, secretBytes, "HS256");
  const cookie = `theme=dark; __Host-jwt=${token}; x=1`;
  assert.equal((await call(app, null, { cookie })).body.sub, "cookie-user");
  assert.equal(
    (await call(app, null, { cookie: `__Host-jwt="${token}"` })).body.sub,
    "cookie-user",
  );
  // The header wins over the cookie.
  assert.equal((await call(app, other, { cookie })).body.sub, "header-user");
  // Many empty or unrelated pairs before it are skipped in one pass.
  const noise = ";".repeat(8000) + "a=1; ".repeat(500);
  assert.equal(
    (await call(app, null, { cookie: `${noise}__Host-jwt=${token}` })).body.sub,
    "cookie-user",
  );
  // A cookie whose name only ends with the name does not count.
  const r = await call(app, null, { cookie: `x__Host-jwt=${token}` });
  assert.equal(r.status, 401);
  assert.equal(r.body.detail, "Bearer token is required");
});

interface JwksServer {
  url: string;
  fetches: () => number;
  close: () => Promise<void>;
}

function jwksServer(keys: JWK[] | "hang"): JwksServer {
  let count = 0;
  const hanging: (() => void)[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => {
      count++;
      if (keys === "hang") {
        return new Promise<Response>((resolve) =>
          hanging.push(() => resolve(new Response("late")))
        );
      }
      return Response.json({ keys });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    fetches: () => count,
    async close() {
      for (const release of hanging) release();
      await server.shutdown();
    },
  };
}

Deno.test("jwt: keys from a JWKS URL, cached for jwksCacheMs, refetched after it", async () => {
  const a = await generateKeyPair("ES256", { extractable: true });
  const b = await generateKeyPair("ES256", { extractable: true });
  const jwkA = { ...(await exportJWK(a.publicKey)), kid: "a", alg: "ES256" };
  const jwks = jwksServer([jwkA]);
  try {
    const app = appWith({
      algorithms: ["ES256"],
      jwksUrl: jwks.url,
      jwksCacheMs: 200,
      jwksCooldownMs: 60_000,
    });
    for (let i = 0; i < 3; i++) {
      const token = await sign({ sub: `s${i}` }, a.privateKey, "ES256", {
        kid: "a",
      });
      assert.equal((await call(app, token)).body.sub, `s${i}`);
    }
    assert.equal(jwks.fetches(), 1);
    // An unknown kid within the cooldown does not reach the key server.
    await refused(
      app,
      await sign({}, b.privateKey, "ES256", { kid: "b" }),
      "No key of the key set matches the token",
    );
    assert.equal(jwks.fetches(), 1);
    // Once the cache is older than jwksCacheMs, the next token refetches it.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(
      (await call(app, await sign({}, a.privateKey, "ES256", { kid: "a" })))
        .status,
      200,
    );
    assert.equal(jwks.fetches(), 2);
  } finally {
    await jwks.close();
  }
});

Deno.test("jwt: an unknown kid refetches the key set when the cooldown allows (key rotation)", async () => {
  const a = await generateKeyPair("EdDSA", { extractable: true });
  const keys: JWK[] = [{ ...(await exportJWK(a.publicKey)), kid: "a" }];
  const jwks = jwksServer(keys);
  try {
    const app = appWith({
      algorithms: ["EdDSA"],
      jwksUrl: jwks.url,
      jwksCooldownMs: 0,
    });
    assert.equal(
      (await call(app, await sign({}, a.privateKey, "EdDSA", { kid: "a" })))
        .status,
      200,
    );
    const b = await generateKeyPair("EdDSA", { extractable: true });
    keys.push({ ...(await exportJWK(b.publicKey)), kid: "b" });
    assert.equal(
      (await call(app, await sign({}, b.privateKey, "EdDSA", { kid: "b" })))
        .status,
      200,
    );
    assert.equal(jwks.fetches(), 2);
  } finally {
    await jwks.close();
  }
});

Deno.test("jwt: a JWKS server that never answers gives 401 after jwksTimeoutMs, not a hang", async () => {
  const a = await generateKeyPair("ES256");
  const jwks = jwksServer("hang");
  try {
    const app = appWith({
      algorithms: ["ES256"],
      jwksUrl: jwks.url,
      jwksTimeoutMs: 200,
    });
    const token = await sign({}, a.privateKey, "ES256", { kid: "a" });
    await refused(
      app,
      token,
      "Key set was not fetched within jwksTimeoutMs of 200 ms",
    );
    assert.equal(jwks.fetches(), 1);
  } finally {
    await jwks.close();
  }
});

Deno.test("jwt: a key server that is down gives 401, not a crash", async () => {
  const a = await generateKeyPair("ES256");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const app = appWith({
    algorithms: ["ES256"],
    jwksUrl: `http://127.0.0.1:${port}/jwks`,
  });
  await refused(
    app,
    await sign({}, a.privateKey, "ES256"),
    "Key set could not be fetched",
  );
});

Deno.test("jwt: invalid options throw a TypeError naming the option", async () => {
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const cases: [unknown, string][] = [
    [
      { key: SECRET },
      "Option algorithms must be a non-empty array of JWS algorithms, got undefined",
    ],
    [
      { algorithms: [], key: SECRET },
      "Option algorithms must be a non-empty array of JWS algorithms, got an empty array",
    ],
    [
      { algorithms: ["none"], key: SECRET },
      'Option algorithms must not contain "none": unsigned tokens would pass',
    ],
    [
      { algorithms: ["HS256", "NONE"], key: SECRET },
      'Option algorithms must not contain "none": unsigned tokens would pass',
    ],
    [
      { algorithms: ["PS256"], key: SECRET },
      'Option algorithms must list HS256, HS384, HS512, RS256, ES256 or EdDSA, got "PS256"',
    ],
    [
      { algorithms: ["HS256"] },
      "Options of jwt need exactly one of key or jwksUrl",
    ],
    [
      { algorithms: ["ES256"], key: SECRET, jwksUrl: "https://a.example/jwks" },
      "Options of jwt need exactly one of key or jwksUrl",
    ],
    [
      { algorithms: ["HS256"], key: "short" },
      "Option key must be at least 32 bytes for HS256, got 5",
    ],
    [
      { algorithms: ["HS512"], key: SECRET },
      "Option key must be at least 64 bytes for HS512, got 36",
    ],
    [
      { algorithms: ["HS256"], jwksUrl: "https://a.example/jwks" },
      "Option algorithms cannot contain HS256 with jwksUrl: key sets hold public keys",
    ],
    [
      { algorithms: ["ES256"], jwksUrl: "file:///etc/passwd" },
      'Option jwksUrl must be an http(s) URL, got "file:///etc/passwd"',
    ],
    [
      {
        algorithms: ["ES256"],
        jwksUrl: "https://a.example/",
        jwksTimeoutMs: 0,
      },
      "Option jwksTimeoutMs must be a positive integer, got 0",
    ],
    [
      { algorithms: ["RS256"], key: await exportJWK(rsa.privateKey) },
      "Option key must be a public JWK, got a private one",
    ],
    [
      {
        algorithms: ["RS256"],
        key: "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----",
      },
      "Option key must be a public key or certificate, got a private key PEM",
    ],
    [
      { algorithms: ["RS256"], key: rsa.privateKey },
      "Option key must be a public or secret key, got a private CryptoKey",
    ],
    [
      { algorithms: ["HS256"], key: SECRET, stateKey: "__proto__" },
      'Option stateKey must be a non-empty string other than __proto__, constructor and prototype, got "__proto__"',
    ],
    [
      { algorithms: ["HS256"], key: SECRET, clockToleranceSec: -5 },
      "Option clockToleranceSec must be a non-negative integer, got -5",
    ],
    [
      { algorithms: ["HS256"], key: SECRET, maxTokenBytes: 0 },
      "Option maxTokenBytes must be a positive integer, got 0",
    ],
    [
      { algorithms: ["HS256"], key: SECRET, cookie: "a b" },
      'Option cookie must be a cookie name, got "a b"',
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => jwt(options as JwtOptions),
      (e: unknown) => e instanceof TypeError && e.message === message,
      message,
    );
  }
  // A secret given as a JWK works too.
  const octKey = { kty: "oct", k: btoa(SECRET).replace(/=+$/, "") };
  const app = appWith({ algorithms: ["HS256"], key: octKey });
  assert.equal(
    (await call(app, await sign({}, secretBytes, "HS256"))).status,
    200,
  );
});
