/**
 * What each middleware adds per request, through `app.request()`: the same
 * small JSON route without middleware (the baseline of every group) and
 * with `cors` (simple request and preflight), `secureHeaders`, `etag` and
 * cookie reads (plain and signed).
 * The `etag hash` group is the measurement behind etag's choice of SHA-1.
 *
 * Run: `deno bench -A bench/middleware_bench.ts`
 *
 * @module
 */

import { createHash } from "node:crypto";
import { App } from "../src/app/app.ts";
import { cors } from "../src/middleware/cors.ts";
import { etag } from "../src/middleware/etag.ts";
import { secureHeaders } from "../src/middleware/secure_headers.ts";
import type { Middleware } from "../src/context/context.ts";

const ORIGIN = "https://app.example";
// A fixed, long run per case: the machine is shared and short runs are noisy.
const RUNS = { warmup: 20_000, n: 200_000 };
const BODY = { id: 42, name: "widget", tags: ["a", "b"], price: 9.5 };

function appWith(...mws: Middleware[]): App {
  const app = new App();
  for (const mw of mws) app.use(mw);
  app.get("/item", (ctx) => ctx.json(BODY));
  app.put("/item", (ctx) => ctx.json(BODY));
  return app;
}

const baseline = appWith();
const withCors = appWith(cors({ origin: [ORIGIN], credentials: true }));
const withSecure = appWith(secureHeaders());
const withNonce = appWith(
  secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'self'"] },
    nonce: true,
  }),
);
const withEtag = appWith(etag());

const simple = { headers: { origin: ORIGIN } };
const preflight = {
  method: "OPTIONS",
  headers: {
    origin: ORIGIN,
    "access-control-request-method": "PUT",
    "access-control-request-headers": "content-type,x-requested-with",
  },
};

async function run(app: App, path: string, init?: RequestInit): Promise<void> {
  const res = await app.request(path, init);
  if (res.status >= 400) throw new Error(`status ${res.status}`);
  await res.arrayBuffer();
}

Deno.bench(
  "baseline GET",
  { group: "cors simple", baseline: true, ...RUNS },
  async () => {
    await run(baseline, "/item", simple);
  },
);
Deno.bench(
  "cors, allowed origin",
  { group: "cors simple", ...RUNS },
  async () => {
    await run(withCors, "/item", simple);
  },
);

Deno.bench(
  "baseline GET",
  { group: "cors preflight", baseline: true, ...RUNS },
  async () => {
    await run(baseline, "/item", simple);
  },
);
Deno.bench("baseline OPTIONS (App's 204 with Allow)", {
  group: "cors preflight",
  ...RUNS,
}, async () => {
  await run(baseline, "/item", preflight);
});
Deno.bench("cors preflight", { group: "cors preflight", ...RUNS }, async () => {
  await run(withCors, "/item", preflight);
});

Deno.bench(
  "baseline GET",
  { group: "secureHeaders", baseline: true, ...RUNS },
  async () => {
    await run(baseline, "/item");
  },
);
Deno.bench("secureHeaders()", { group: "secureHeaders", ...RUNS }, async () => {
  await run(withSecure, "/item");
});
Deno.bench(
  "secureHeaders() with CSP nonce",
  { group: "secureHeaders", ...RUNS },
  async () => {
    await run(withNonce, "/item");
  },
);

const tag = (await withEtag.request("/item")).headers.get("etag")!;
Deno.bench(
  "baseline GET",
  { group: "etag", baseline: true, ...RUNS },
  async () => {
    await run(baseline, "/item");
  },
);
Deno.bench("etag(), tag computed", { group: "etag", ...RUNS }, async () => {
  await run(withEtag, "/item");
});
Deno.bench(
  "etag(), If-None-Match → 304",
  { group: "etag", ...RUNS },
  async () => {
    await run(withEtag, "/item", { headers: { "if-none-match": tag } });
  },
);

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i], 0x01000193);
  }
  return h >>> 0;
}
for (const size of [100, 4096, 65536]) {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
  const group = `etag hash ${size} B`;
  Deno.bench(`sha1 (node:crypto) ${size} B`, { group, baseline: true }, () => {
    createHash("sha1").update(bytes).digest("base64url");
  });
  Deno.bench(`fnv1a-32 (JS) ${size} B`, { group }, () => {
    fnv1a(bytes).toString(36);
  });
}

// Cookie reads: a browser-like Cookie header of five cookies, one read.
const KEYS = ["bench-secret-key-0123456789abcdef"];
function cookieApp(signed: boolean): App {
  const app = new App({ keys: KEYS });
  app.get("/item", (ctx) => {
    if (ctx.cookies.get("sid", { signed }) === undefined) {
      throw new Error("cookie missing");
    }
    return ctx.json(BODY);
  });
  return app;
}
const signedSid = await (async () => {
  const app = new App({ keys: KEYS });
  app.get("/", (ctx) => {
    ctx.cookies.set("sid", "s-1234567890", { signed: true });
    return ctx.text("ok");
  });
  const setCookie = (await app.request("/")).headers.get("set-cookie")!;
  return setCookie.slice(0, setCookie.indexOf(";"));
})();
const cookieHeader = (sid: string) => ({
  headers: {
    cookie: `_ga=GA1.2.3456; theme=dark; lang=en; ${sid}; csrf=abc123`,
  },
});
const withCookies = cookieApp(false);
const withSigned = cookieApp(true);
const plainInit = cookieHeader("sid=s-1234567890");
const signedInit = cookieHeader(signedSid);

Deno.bench(
  "baseline GET (Cookie header sent, not read)",
  { group: "cookies", baseline: true, ...RUNS },
  async () => {
    await run(baseline, "/item", plainInit);
  },
);
Deno.bench(
  "ctx.cookies.get() of one of five",
  { group: "cookies", ...RUNS },
  async () => {
    await run(withCookies, "/item", plainInit);
  },
);
Deno.bench(
  "ctx.cookies.get() signed (HMAC-SHA-256 check)",
  { group: "cookies", ...RUNS },
  async () => {
    await run(withSigned, "/item", signedInit);
  },
);
