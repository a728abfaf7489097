import assert from "node:assert/strict";
import { Hono } from "npm:hono@4";
import { secureHeaders as honoSecureHeaders } from "npm:hono@4/secure-headers";
import { App } from "../../src/app/app.ts";
import { HttpError } from "../../src/http/errors.ts";
import { serve } from "../../src/server/serve.ts";
import {
  cspNonce,
  secureHeaders,
  type SecureHeadersOptions,
} from "../../src/middleware/secure_headers.ts";

const DEFAULTS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "SAMEORIGIN",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy":
    "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-permitted-cross-domain-policies": "none",
  "origin-agent-cluster": "?1",
  "x-xss-protection": "0",
  "content-security-policy": "frame-ancestors 'self'",
};
const HSTS = "max-age=31536000; includeSubDomains";

function headersOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of res.headers) {
    if (k !== "content-type" && k !== "x-request-id") out[k] = v;
  }
  return out;
}

function appWith(options?: SecureHeadersOptions): App {
  const app = new App();
  app.use(secureHeaders(options));
  app.get(
    "/",
    (ctx) => ctx.text("ok", { headers: { "x-powered-by": "PHP/5" } }),
  );
  app.get("/nonce", (ctx) => ctx.text(cspNonce(ctx) ?? "none"));
  return app;
}

Deno.test("secureHeaders: defaults on HTTP, and HSTS only over HTTPS", async () => {
  const app = appWith();
  const res = await app.request("/");
  assert.equal(await res.text(), "ok");
  assert.deepEqual(headersOf(res), DEFAULTS);
  const https = await app.request("https://localhost/");
  assert.deepEqual(headersOf(https), {
    ...DEFAULTS,
    "strict-transport-security": HSTS,
  });
  const onHttp = await appWith({ hstsOnHttp: true }).request("/");
  assert.equal(onHttp.headers.get("strict-transport-security"), HSTS);
});

Deno.test("secureHeaders: every default equals Hono's secureHeaders() or is stricter", async () => {
  const hono = new Hono();
  hono.use(honoSecureHeaders());
  hono.get("/", (c) => c.text("ok"));
  const theirs = headersOf(await hono.request("https://localhost/"));
  const ours = headersOf(await appWith().request("https://localhost/"));
  for (const [name, value] of Object.entries(theirs)) {
    if (name === "strict-transport-security") {
      const age = (v: string) => Number(/max-age=(\d+)/.exec(v)![1]);
      assert.ok(age(ours[name]) >= age(value), name);
      assert.match(ours[name], /includeSubDomains/);
    } else {
      assert.equal(ours[name], value, name);
    }
  }
  // Ours adds a Permissions-Policy and the CSP twin of X-Frame-Options.
  assert.deepEqual(
    Object.keys(ours).filter((k) => !(k in theirs)).sort(),
    ["content-security-policy", "permissions-policy"],
  );
});

Deno.test("secureHeaders: headers can be turned off or given custom values", async () => {
  const app = appWith({
    strictTransportSecurity: "max-age=63072000; includeSubDomains; preload",
    xContentTypeOptions: false,
    xFrameOptions: "DENY",
    referrerPolicy: ["no-referrer", "strict-origin-when-cross-origin"],
    crossOriginOpenerPolicy: "same-origin-allow-popups",
    crossOriginResourcePolicy: "cross-origin",
    crossOriginEmbedderPolicy: true,
    permissionsPolicy: {
      fullscreen: ["self", "https://player.example"],
      autoplay: ["*"],
    },
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    originAgentCluster: false,
    xXssProtection: false,
    removePoweredBy: false,
  });
  const res = await app.request("https://localhost/");
  assert.deepEqual(headersOf(res), {
    "strict-transport-security": "max-age=63072000; includeSubDomains; preload",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer, strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin-allow-popups",
    "cross-origin-resource-policy": "cross-origin",
    "cross-origin-embedder-policy": "require-corp",
    "permissions-policy":
      'fullscreen=(self "https://player.example"), autoplay=*',
    "content-security-policy": "frame-ancestors 'none'",
    "x-powered-by": "PHP/5",
  });
  const none = appWith({
    strictTransportSecurity: false,
    xFrameOptions: false,
    permissionsPolicy: {},
    referrerPolicy: false,
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: false,
    xPermittedCrossDomainPolicies: false,
    xContentTypeOptions: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    originAgentCluster: false,
    xXssProtection: false,
  });
  assert.deepEqual(headersOf(await none.request("https://localhost/")), {});
});

Deno.test("secureHeaders: overwrite: false keeps what the handler set", async () => {
  for (const overwrite of [true, false]) {
    const app = new App();
    app.use(secureHeaders({ overwrite }));
    app.get("/embed", (ctx) =>
      ctx.text("x", {
        headers: {
          "x-frame-options": "ALLOW-FROM https://x.example",
          "content-security-policy": "frame-ancestors https://x.example",
        },
      }));
    const res = await app.request("/embed");
    assert.equal(
      res.headers.get("x-frame-options"),
      overwrite ? "SAMEORIGIN" : "ALLOW-FROM https://x.example",
    );
    assert.equal(
      res.headers.get("content-security-policy"),
      overwrite
        ? "frame-ancestors 'self'"
        : "frame-ancestors https://x.example",
    );
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  }
});

Deno.test("secureHeaders: a CSP object is serialised once, with frame-ancestors added", async () => {
  const app = appWith({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      "img-src": ["'self'", "data:", "https://img.example"],
      upgradeInsecureRequests: true,
      objectSrc: ["'none'"],
    },
  });
  const res = await app.request("/");
  assert.equal(
    res.headers.get("content-security-policy"),
    "default-src 'self'; img-src 'self' data: https://img.example; upgrade-insecure-requests; object-src 'none'; frame-ancestors 'self'",
  );
  const own = appWith({
    contentSecurityPolicy: { frameAncestors: ["https://parent.example"] },
  });
  assert.equal(
    (await own.request("/")).headers.get("content-security-policy"),
    "frame-ancestors https://parent.example",
  );
});

Deno.test("secureHeaders: nonce: a fresh 16-byte nonce per request, in the policy and cspNonce()", async () => {
  const app = appWith({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'strict-dynamic'"],
    },
    nonce: true,
  });
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const res = await app.request("/nonce");
    const nonce = await res.text();
    assert.equal(atob(nonce).length, 16);
    assert.ok(!seen.has(nonce));
    seen.add(nonce);
    assert.equal(
      res.headers.get("content-security-policy"),
      `default-src 'self'; script-src 'strict-dynamic' 'nonce-${nonce}'; frame-ancestors 'self'`,
    );
  }
  // A missing directive starts from default-src's sources.
  const both = appWith({
    contentSecurityPolicy: { defaultSrc: ["'self'", "https://cdn.example"] },
    nonce: true,
    nonceDirectives: ["script-src", "style-src"],
    xFrameOptions: false,
  });
  const res = await both.request("/nonce");
  const n = await res.text();
  assert.equal(
    res.headers.get("content-security-policy"),
    `default-src 'self' https://cdn.example; script-src 'self' https://cdn.example 'nonce-${n}'; style-src 'self' https://cdn.example 'nonce-${n}'`,
  );
  // Without the middleware there is no nonce.
  const plain = new App().get("/", (ctx) => ctx.text(String(cspNonce(ctx))));
  assert.equal(await (await plain.request("/")).text(), "undefined");
  // Without nonce: true, secureHeaders makes none either.
  assert.equal(await (await appWith().request("/nonce")).text(), "none");
});

Deno.test("secureHeaders: HttpError responses thrown further down get the headers too", async () => {
  const app = new App();
  app.use(secureHeaders());
  app.get("/", () => {
    throw new HttpError(403, "No");
  });
  const res = await app.request("/");
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal((await res.json()).detail, "No");
});

Deno.test("secureHeaders: invalid options throw a TypeError naming the option", () => {
  const cases: [SecureHeadersOptions, string][] = [
    [
      { strictTransportSecurity: "includeSubDomains" },
      'Option strictTransportSecurity must be a boolean or a valid header value, got "includeSubDomains"',
    ],
    [
      // @ts-expect-error: not a value
      { xFrameOptions: "ALLOWALL" },
      'Option xFrameOptions must be a boolean or a valid header value, got "ALLOWALL"',
    ],
    [
      { referrerPolicy: "never" },
      'Option referrerPolicy must be a referrer policy or a list of them, got "never"',
    ],
    [
      { crossOriginResourcePolicy: "same-origin\r\nx: y" },
      'Option crossOriginResourcePolicy must be a boolean or a valid header value, got "same-origin\\r\\nx: y"',
    ],
    [
      { permissionsPolicy: { camera: ["https://a.example/"] } },
      'Option permissionsPolicy.camera must list "self", "src", "*" or origins, got "https://a.example/"',
    ],
    [
      { contentSecurityPolicy: { scriptSrc: ["self"] } },
      `Option contentSecurityPolicy.script-src has the keyword self unquoted; write "'self'"`,
    ],
    [
      { contentSecurityPolicy: { scriptSrc: ["'self'; img-src *"] } },
      `Option contentSecurityPolicy.script-src has an invalid source "'self'; img-src *"`,
    ],
    [
      // @ts-expect-error: not a directive value
      { contentSecurityPolicy: { scriptSrc: "'self'" } },
      "Option contentSecurityPolicy.script-src must be an array of sources or true, got 'self'",
    ],
    [
      // @ts-expect-error: not a boolean
      { nonce: "yes" },
      "Option nonce must be a boolean, got yes",
    ],
    [
      // @ts-expect-error: not a directive that takes nonces
      { nonce: true, nonceDirectives: ["img-src"] },
      'Option nonceDirectives must list "script-src" and/or "style-src", got ["img-src"]',
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => secureHeaders(options),
      (e: unknown) => e instanceof TypeError && e.message === message,
      message,
    );
  }
});

const fixtures = new URL("../fixtures/", import.meta.url);
const tls = {
  certFile: new URL("server_cert.pem", fixtures).pathname,
  keyFile: new URL("server_key.pem", fixtures).pathname,
};
const ca = Deno.readTextFileSync(new URL("ca_cert.pem", fixtures));

for (const transport of ["deno", "h1"] as const) {
  Deno.test({
    name: `secureHeaders: over real sockets, HSTS on HTTPS only (${transport})`,
    async fn() {
      const app = appWith({ nonce: true });
      const plain = serve(app, {
        port: 0,
        hostname: "127.0.0.1",
        transport,
        shutdown: { signals: [] },
      });
      const secure = serve(app, {
        port: 0,
        hostname: "127.0.0.1",
        transport,
        tls,
        shutdown: { signals: [] },
      });
      const client = Deno.createHttpClient({ caCerts: [ca] });
      try {
        const res = await fetch(`http://127.0.0.1:${plain.addr.port}/nonce`);
        const nonce = await res.text();
        assert.equal(res.headers.get("strict-transport-security"), null);
        assert.equal(res.headers.get("x-frame-options"), "SAMEORIGIN");
        assert.equal(
          res.headers.get("content-security-policy"),
          `frame-ancestors 'self'; script-src 'nonce-${nonce}'`,
        );
        const sres = await fetch(`https://localhost:${secure.addr.port}/`, {
          client,
        });
        assert.equal(await sres.text(), "ok");
        assert.equal(sres.headers.get("strict-transport-security"), HSTS);
        assert.equal(sres.headers.get("x-powered-by"), null);
      } finally {
        client.close();
        await plain.shutdown();
        await secure.shutdown();
      }
    },
  });
}
