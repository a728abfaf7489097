import assert from "node:assert/strict";
import {
  ClientError,
  ClientResponse,
  ConnectError,
  createClient,
  UpstreamError,
} from "../../src/client/mod.ts";
import { HttpError } from "../../src/http/errors.ts";
import { App } from "../../src/app/app.ts";
import { Metrics } from "../../src/observe/metrics.ts";
import { parseExposition } from "../fixtures/prometheus.ts";
import { aborted, closedPort, fakeClock, upstream } from "./_upstream.ts";

/** An upstream that echoes the request as JSON. */
function echo() {
  return upstream(async (req) => {
    const url = new URL(req.url);
    return Response.json({
      method: req.method,
      path: url.pathname,
      search: url.search,
      headers: Object.fromEntries(req.headers),
      body: await req.text(),
    });
  });
}

type Echo = {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: string;
};

Deno.test("options are validated once, naming the option and value", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { timeoutMs: -1 },
      /^Option timeoutMs must be a non-negative integer, got -1$/,
    ],
    [{ connectTimeoutMs: 1.5 }, /^Option connectTimeoutMs must be/],
    [{ maxResponseBytes: "1" }, /^Option maxResponseBytes must be/],
    [
      { retry: { attempts: 0 } },
      /^Option retry.attempts must be a positive integer, got 0$/,
    ],
    [{ retry: { baseDelayMs: -5 } }, /^Option retry.baseDelayMs/],
    [
      { retry: { retryOn: { statuses: [42] } } },
      /^Option retry.retryOn.statuses must hold status codes from 100 to 599, got 42$/,
    ],
    [
      { retry: { retryOn: { networkErrors: "yes" } } },
      /^Option retry.retryOn.networkErrors must be a boolean/,
    ],
    [{ retry: { random: 4 } }, /^Option retry.random must be a function$/],
    [{ retry: 3 }, /^Option retry must be an object or false, got 3$/],
    [
      { breaker: { failureRate: 0 } },
      /^Option breaker.failureRate must be a number in \(0, 1\], got 0$/,
    ],
    [{ breaker: { failureRate: 1.5 } }, /^Option breaker.failureRate/],
    [
      { breaker: { halfOpenProbes: 0 } },
      /^Option breaker.halfOpenProbes must be a positive integer, got 0$/,
    ],
    [{ breaker: { windowMs: 0 } }, /^Option breaker.windowMs/],
    [
      { breaker: { isFailure: true } },
      /^Option breaker.isFailure must be a function$/,
    ],
    [
      { pool: { http1: false, http2: false } },
      /^Options pool.http1 and pool.http2 must not both be false$/,
    ],
    [{ pool: { poolIdleTimeout: -1 } }, /^Option pool.poolIdleTimeout/],
    [
      { baseUrl: "api.example" },
      /^Option baseUrl must be an absolute URL, got api.example$/,
    ],
    [
      { baseUrl: "file:///etc" },
      /^Option baseUrl must use http: or https:, got file:$/,
    ],
    [
      { baseUrl: "https://u:p@api.example" },
      /^Option baseUrl must not contain credentials/,
    ],
    [{ headers: { "bad name": "x" } }, /^Option headers is invalid/],
    [{ throwOnStatus: 1 }, /^Option throwOnStatus must be a boolean, got 1$/],
    [{ metrics: {} }, /^Option metrics must be a Metrics registry$/],
    [{ signal: {} }, /^Option signal must be an AbortSignal$/],
    [{ clock: { now: () => 0 } }, /^Option clock must have now\(\) and sleep/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => createClient(options as never),
      (e: unknown) => e instanceof TypeError && message.test(e.message),
      JSON.stringify(options),
    );
  }
});

Deno.test("relative inputs are appended to baseUrl, keeping its path; absolute ones are used as they are", async () => {
  const up = echo();
  using client = createClient({ baseUrl: `${up.url}/api/v1/` });
  using bare = createClient();
  try {
    const paths = [];
    for (
      const input of ["users/1?x=1", "/users/2", "//evil.example/x", "../admin"]
    ) {
      paths.push((await (await client.get(input)).json<Echo>()).path);
    }
    // `..` is resolved by the URL parser but cannot leave the origin.
    assert.deepEqual(paths, [
      "/api/v1/users/1",
      "/api/v1/users/2",
      "/api/v1/evil.example/x",
      "/api/admin",
    ]);
    const abs = await client.get(`${up.url}/elsewhere`);
    assert.equal((await abs.json<Echo>()).path, "/elsewhere");
    const url = await bare.get(new URL("/u", up.url));
    assert.equal((await url.json<Echo>()).path, "/u");
    await assert.rejects(
      bare.get("/x"),
      /The relative URL \/x needs the baseUrl option/,
    );
    await assert.rejects(
      bare.get("file:///etc/passwd"),
      /must use http: or https:/,
    );
    await assert.rejects(
      bare.get("http://user:pw@127.0.0.1/"),
      /must not contain credentials/,
    );
  } finally {
    await up.close();
  }
});

Deno.test("default headers sit under per-call headers; json is serialised with its content-type", async () => {
  const up = echo();
  using client = createClient({
    baseUrl: up.url,
    headers: { authorization: "Bearer default", "x-app": "palisade" },
  });
  try {
    const res = await client.post("/items", {
      json: { name: "a", n: 1 },
      headers: { authorization: "Bearer call" },
    });
    assert.ok(res instanceof ClientResponse && res instanceof Response);
    const seen = await res.json<Echo>();
    assert.equal(seen.method, "POST");
    assert.equal(seen.body, '{"name":"a","n":1}');
    assert.equal(seen.headers["content-type"], "application/json");
    assert.equal(seen.headers.authorization, "Bearer call");
    assert.equal(seen.headers["x-app"], "palisade");
    const typed = await client.put("/items/1", {
      json: [1],
      headers: { "content-type": "application/merge-patch+json" },
    });
    assert.equal(
      (await typed.json<Echo>()).headers["content-type"],
      "application/merge-patch+json",
    );
    for (
      const [m, call] of [["PATCH", client.patch], ["DELETE", client.delete], [
        "GET",
        client.get,
      ]] as const
    ) {
      assert.equal(
        (await (await call.call(client, "/")).json<Echo>()).method,
        m,
      );
    }
    await assert.rejects(
      client.post("/", { json: 1, body: "x" }),
      /either body or json/,
    );
    await assert.rejects(
      client.post("/", { json: () => 1 }),
      /cannot be serialised/,
    );
    const hits = up.hits;
    for (const method of ["GE T", "CONNECT", "trace", ""]) {
      await assert.rejects(
        client.fetch("/", { method }),
        (e: unknown) =>
          e instanceof TypeError && /cannot be sent with fetch/.test(e.message),
        method,
      );
    }
    assert.equal(up.hits, hits);
    await assert.rejects(
      client.get("/", { body: "x" }),
      /A GET request cannot have a body/,
    );
  } finally {
    await up.close();
  }
});

Deno.test("fetch accepts a Request: its method, headers and body, under the init", async () => {
  const up = echo();
  using client = createClient({ headers: { "x-default": "1" } });
  try {
    const req = new Request(`${up.url}/r?q=1`, {
      method: "POST",
      headers: { "x-req": "2", "x-both": "req" },
      body: "payload",
    });
    const res = await client.fetch(req, { headers: { "x-both": "init" } });
    const seen = await res.json<Echo>();
    assert.equal(seen.method, "POST");
    assert.equal(seen.search, "?q=1");
    assert.equal(seen.body, "payload");
    assert.equal(seen.headers["x-default"], "1");
    assert.equal(seen.headers["x-req"], "2");
    assert.equal(seen.headers["x-both"], "init");
  } finally {
    await up.close();
  }
});

Deno.test("responses keep status and headers (mutable); HEAD and 204 come without a body", async () => {
  const up = upstream((req) =>
    new URL(req.url).pathname === "/empty"
      ? new Response(null, { status: 204, headers: { "x-a": "1" } })
      : new Response("hello", {
        status: 201,
        headers: { "x-a": "2" },
      })
  );
  using client = createClient({ baseUrl: up.url });
  try {
    const res = await client.get("/");
    assert.equal(res.status, 201);
    assert.equal(res.statusText, "Created");
    assert.equal(res.url, `${up.url}/`);
    assert.equal(res.redirected, false);
    res.headers.set("x-a", "changed");
    assert.equal(res.headers.get("x-a"), "changed");
    assert.equal(await res.text(), "hello");
    const head = await client.fetch("/", { method: "HEAD" });
    assert.equal(head.body, null);
    const empty = await client.get("/empty");
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
  } finally {
    await up.close();
  }
});

Deno.test("throwOnStatus: a final non-2xx throws UpstreamError with upstreamStatus, answering 502", async () => {
  const up = upstream((_req, hit) =>
    new Response("nope", { status: hit === 1 ? 404 : 500 })
  );
  using client = createClient({
    baseUrl: up.url,
    throwOnStatus: true,
    clock: fakeClock(),
    retry: { attempts: 2 },
  });
  try {
    const notFound = await client.get("/a?secret=1").catch((e) => e);
    assert.ok(notFound instanceof UpstreamError);
    assert.ok(notFound instanceof ClientError && notFound instanceof HttpError);
    assert.equal(notFound.status, 502);
    assert.equal(notFound.upstreamStatus, 404);
    assert.equal(notFound.failure, "status");
    assert.equal(notFound.method, "GET");
    assert.equal(notFound.target, `${up.url}/a`);
    assert.equal(notFound.message, `GET ${up.url}/a answered 404`);
    // Retried first (500 is retryable), then thrown.
    const failing = await client.get("/b").catch((e) => e);
    assert.equal(failing.upstreamStatus, 500);
    assert.equal(up.hits, 3);
  } finally {
    await up.close();
  }
});

Deno.test("an escaping client error renders problem+json that names neither the upstream nor the query", async () => {
  const up = upstream(() => new Response("x", { status: 503 }));
  using client = createClient({
    baseUrl: up.url,
    throwOnStatus: true,
    retry: false,
  });
  const app = new App();
  app.get("/", async () => {
    await client.get("/internal/path?api_key=k");
    return new Response("unreachable");
  });
  try {
    const res = await app.request("/");
    assert.equal(res.status, 502);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const body = await res.text();
    assert.deepEqual(JSON.parse(body), {
      type: "about:blank",
      title: "Bad Gateway",
      status: 502,
      detail: "Upstream answered 503",
    });
  } finally {
    await up.close();
  }
});

Deno.test("close() aborts calls in flight and refuses later ones; the signal option aborts every call", async () => {
  const up = upstream(async (req) => {
    await aborted(req.signal);
    return new Response("never");
  });
  try {
    const client = createClient({ baseUrl: up.url });
    const call = client.get("/");
    while (up.hits === 0) await new Promise((r) => setTimeout(r, 1));
    client.close();
    client.close();
    await assert.rejects(
      call,
      (e: unknown) => e instanceof DOMException && e.name === "AbortError",
    );
    await assert.rejects(client.get("/"), /The client was closed/);

    const ac = new AbortController();
    using withSignal = createClient({ baseUrl: up.url, signal: ac.signal });
    const pending = withSignal.get("/");
    while (up.hits === 1) await new Promise((r) => setTimeout(r, 1));
    const reason = new Error("shutting down");
    ac.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    await assert.rejects(withSignal.get("/"), (e) => e === reason);
  } finally {
    await up.close();
  }
});

Deno.test("init.signal aborts one call without counting against the breaker", async () => {
  const up = upstream(async (req) => {
    await aborted(req.signal);
    return new Response("never");
  });
  using client = createClient({
    baseUrl: up.url,
    breaker: { minRequests: 1 },
    retry: false,
  });
  try {
    for (let i = 1; i <= 2; i++) {
      const ac = new AbortController();
      const call = client.get("/", { signal: ac.signal });
      while (up.hits < i) await new Promise((r) => setTimeout(r, 1));
      ac.abort(new Error("stop"));
      await assert.rejects(call, /stop/);
    }
    assert.equal(up.hits, 2); // the breaker never opened
  } finally {
    await up.close();
  }
});

Deno.test("pool options reach the client's own Deno.HttpClient: http1: false speaks HTTP/2 prior knowledge", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const firstBytes: string[] = [];
  const served = (async () => {
    for (let i = 0; i < 2; i++) {
      const conn = await listener.accept();
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      firstBytes.push(new TextDecoder().decode(buf.subarray(0, n ?? 0)));
      conn.close();
    }
  })();
  const url = `http://127.0.0.1:${listener.addr.port}/`;
  using h2 = createClient({
    retry: false,
    pool: { http1: false, poolMaxIdlePerHost: 1, poolIdleTimeout: 1_000 },
  });
  using h1 = createClient({ retry: false, pool: { http2: false } });
  try {
    await assert.rejects(h2.get(url), ConnectError);
    await assert.rejects(h1.get(url), ConnectError);
  } finally {
    await served;
    listener.close();
  }
  assert.ok(firstBytes[0].startsWith("PRI * HTTP/2.0"), firstBytes[0]);
  assert.ok(firstBytes[1].startsWith("GET / HTTP/1.1"), firstBytes[1]);
});

Deno.test("metrics: attempt durations by method, address and status; retries; valid exposition", async () => {
  const up = upstream((_req, hit) =>
    new Response(null, { status: hit === 1 ? 503 : 200 })
  );
  const port = closedPort();
  const metrics = new Metrics();
  using client = createClient({
    baseUrl: up.url,
    metrics,
    clock: fakeClock(),
    retry: { attempts: 2 },
  });
  try {
    await client.get("/");
    await client.fetch("/", { method: "BREW" });
    await client.get(`http://127.0.0.1:${port}/`).catch(() => {});
    const text = metrics.text();
    const host = new URL(up.url).host;
    const series = (method: string, status: string) =>
      `http_client_request_duration_seconds_count{http_request_method="${method}",server_address="${host}",http_response_status_code="${status}"} 1`;
    assert.ok(text.includes(series("GET", "503")), text);
    assert.ok(text.includes(series("GET", "200")), text);
    assert.ok(text.includes(series("_OTHER", "200")), text);
    assert.ok(
      text.includes(
        `http_client_request_duration_seconds_count{http_request_method="GET",server_address="127.0.0.1:${port}",http_response_status_code=""} 2`,
      ),
      text,
    );
    assert.ok(
      text.includes(
        `palisade_client_retries_total{server_address="${host}"} 1`,
      ),
      text,
    );
    assert.ok(
      text.includes(
        `palisade_client_retries_total{server_address="127.0.0.1:${port}"} 1`,
      ),
      text,
    );
    const { types } = parseExposition(text);
    assert.equal(
      types.get("http_client_request_duration_seconds"),
      "histogram",
    );
    assert.equal(types.get("palisade_client_breaker_state"), "gauge");
  } finally {
    await up.close();
  }
});
