import assert from "node:assert/strict";
import { ConnectError, createClient } from "../../src/client/mod.ts";
import {
  backoffMs,
  isReplayable,
  retryAfterMs,
} from "../../src/client/retry.ts";
import type { RetrySettings } from "../../src/client/options.ts";
import { closedPort, fakeClock, upstream } from "./_upstream.ts";

function settings(random: () => number): RetrySettings {
  return {
    attempts: 3,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    statuses: new Set([503]),
    networkErrors: true,
    retryNonIdempotent: false,
    retryAfterCapMs: 10_000,
    random,
  };
}

Deno.test("backoff is full jitter: random() * min(maxDelay, base * 2^n)", () => {
  const top = settings(() => 0.999999);
  assert.deepEqual([0, 1, 2, 3, 4, 10, 60].map((n) => backoffMs(n, top)), [
    99,
    199,
    399,
    799,
    999,
    999,
    999,
  ]);
  assert.equal(backoffMs(3, settings(() => 0)), 0);
  assert.equal(backoffMs(2, settings(() => 0.5)), 200);
  // A broken random source never yields a negative or oversized wait.
  assert.equal(backoffMs(2, settings(() => 7)), 0);
  assert.equal(backoffMs(2, settings(() => NaN)), 0);
});

Deno.test("Retry-After parses delay-seconds and HTTP-dates, rejects the rest", () => {
  const now = Date.parse("Tue, 01 Dec 2026 10:00:00 GMT");
  assert.equal(retryAfterMs("3", now), 3_000);
  assert.equal(retryAfterMs(" 0 ", now), 0);
  assert.equal(retryAfterMs("Tue, 01 Dec 2026 10:00:05 GMT", now), 5_000);
  assert.equal(retryAfterMs("Tue, 01 Dec 2026 09:00:00 GMT", now), 0);
  assert.equal(retryAfterMs(null, now), undefined);
  assert.equal(retryAfterMs("-1", now), undefined);
  assert.equal(retryAfterMs("1.5", now), undefined);
  assert.equal(retryAfterMs("soon", now), undefined);
});

Deno.test("replayable bodies: none, string, bytes, Blob, URLSearchParams, FormData; not streams", () => {
  for (
    const body of [
      undefined,
      null,
      "x",
      new Uint8Array(1),
      new ArrayBuffer(1),
      new Blob(["x"]),
      new URLSearchParams("a=1"),
      new FormData(),
    ]
  ) assert.ok(isReplayable(body), String(body));
  assert.equal(isReplayable(new ReadableStream()), false);
});

Deno.test("a retryable status is tried `attempts` times with jittered waits, then returned", async () => {
  const up = upstream(() => new Response("busy", { status: 503 }));
  const clock = fakeClock();
  const randoms = [0.5, 0.25];
  using client = createClient({
    baseUrl: up.url,
    clock,
    retry: {
      attempts: 3,
      baseDelayMs: 100,
      maxDelayMs: 150,
      random: () => randoms.shift()!,
    },
  });
  try {
    const res = await client.get("/x");
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "busy");
    assert.equal(up.hits, 3);
    // 0.5 * min(150, 100) and 0.25 * min(150, 200).
    assert.deepEqual(clock.sleeps, [50, 37]);
  } finally {
    await up.close();
  }
});

Deno.test("a retry that succeeds returns the good response; statuses outside retryOn are not retried", async () => {
  const up = upstream((req, hit) => {
    if (new URL(req.url).pathname === "/missing") {
      return new Response("no", { status: 404 });
    }
    return hit === 1
      ? new Response("oops", { status: 502 })
      : new Response("ok");
  });
  const clock = fakeClock();
  using client = createClient({ baseUrl: up.url, clock });
  try {
    const res = await client.get("/x");
    assert.equal(await res.text(), "ok");
    assert.equal(up.hits, 2);
    const missing = await client.get("/missing");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    assert.equal(up.hits, 3);
  } finally {
    await up.close();
  }
});

Deno.test("Retry-After is waited exactly when within retryAfterCapMs", async () => {
  const up = upstream((_req, hit) =>
    hit === 1
      ? new Response(null, { status: 429, headers: { "retry-after": "2" } })
      : new Response("ok")
  );
  const clock = fakeClock();
  using client = createClient({
    baseUrl: up.url,
    clock,
    retry: { retryAfterCapMs: 5_000, random: () => 0.9 },
  });
  try {
    const res = await client.get("/x");
    assert.equal(await res.text(), "ok");
    assert.deepEqual(clock.sleeps, [2_000]);
  } finally {
    await up.close();
  }
});

Deno.test("Retry-After as an HTTP-date is measured against the clock", async () => {
  const clock = fakeClock(Date.parse("Tue, 01 Dec 2026 10:00:00 GMT"));
  const up = upstream((_req, hit) =>
    hit === 1
      ? new Response(null, {
        status: 503,
        headers: { "retry-after": "Tue, 01 Dec 2026 10:00:03 GMT" },
      })
      : new Response("ok")
  );
  using client = createClient({ baseUrl: up.url, clock });
  try {
    await (await client.get("/x")).body?.cancel();
    assert.deepEqual(clock.sleeps, [3_000]);
  } finally {
    await up.close();
  }
});

Deno.test("a Retry-After over the cap ends the retries and returns the response", async () => {
  const up = upstream(() =>
    new Response("later", { status: 503, headers: { "retry-after": "120" } })
  );
  const clock = fakeClock();
  using client = createClient({
    baseUrl: up.url,
    clock,
    retry: { retryAfterCapMs: 30_000 },
  });
  try {
    const res = await client.get("/x");
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "120");
    assert.equal(await res.text(), "later");
    assert.equal(up.hits, 1);
    assert.deepEqual(clock.sleeps, []);
  } finally {
    await up.close();
  }
});

Deno.test("POST and PATCH are not retried; an Idempotency-Key or retryNonIdempotent allows it", async () => {
  const up = upstream(() => new Response(null, { status: 503 }));
  const clock = fakeClock();
  using plain = createClient({ baseUrl: up.url, clock });
  using any = createClient({
    baseUrl: up.url,
    clock,
    retry: { retryNonIdempotent: true, attempts: 2 },
  });
  try {
    await (await plain.post("/x", { json: { a: 1 } })).body?.cancel();
    assert.equal(up.hits, 1);
    await (await plain.patch("/x", { body: "p" })).body?.cancel();
    assert.equal(up.hits, 2);
    await (await plain.post("/x", {
      body: "once",
      headers: { "idempotency-key": "k1" },
    })).body?.cancel();
    assert.equal(up.hits, 5);
    await (await any.post("/x", { body: "twice" })).body?.cancel();
    assert.equal(up.hits, 7);
    await (await plain.put("/x", { body: "put" })).body?.cancel();
    assert.equal(up.hits, 10);
  } finally {
    await up.close();
  }
});

Deno.test("a replayable body is sent again in full on every attempt", async () => {
  const bodies: string[] = [];
  const up = upstream(async (req, hit) => {
    bodies.push(await req.text());
    return new Response(null, { status: hit < 3 ? 500 : 200 });
  });
  using client = createClient({ baseUrl: up.url, clock: fakeClock() });
  try {
    const form = new URLSearchParams({ a: "1", b: "2" });
    const res = await client.put("/x", { body: form });
    assert.equal(res.status, 200);
    assert.deepEqual(bodies, ["a=1&b=2", "a=1&b=2", "a=1&b=2"]);
  } finally {
    await up.close();
  }
});

Deno.test("a ReadableStream body is never retried, even for an idempotent method", async () => {
  const bodies: string[] = [];
  const up = upstream(async (req) => {
    bodies.push(await req.text());
    return new Response(null, { status: 503 });
  });
  const clock = fakeClock();
  using client = createClient({ baseUrl: up.url, clock });
  try {
    const stream = new Blob(["streamed"]).stream();
    const res = await client.put("/x", { body: stream });
    assert.equal(res.status, 503);
    assert.deepEqual(bodies, ["streamed"]);
    assert.deepEqual(clock.sleeps, []);
  } finally {
    await up.close();
  }
});

Deno.test("network errors are retried, then surface as ConnectError without the query string", async () => {
  const port = closedPort();
  const clock = fakeClock();
  using client = createClient({ clock, retry: { random: () => 0.5 } });
  const error = await client.get(`http://127.0.0.1:${port}/p?token=s3cret`)
    .catch((e) => e);
  assert.ok(error instanceof ConnectError, String(error));
  assert.equal(error.status, 502);
  assert.equal(error.failure, "connect");
  assert.equal(error.target, `http://127.0.0.1:${port}/p`);
  assert.deepEqual(clock.sleeps, [50, 100]);
  // Neither the message, the cause chain nor the rendered problem leaks the query.
  const seen = [
    error.message,
    String(error.cause),
    String((error.cause as Error)?.cause),
  ]
    .join(" ");
  assert.ok(!seen.includes("s3cret"), seen);
  assert.match(seen, /refused/i);
  const body = await error.toResponse().text();
  assert.ok(!body.includes(String(port)), body);
});

Deno.test("networkErrors: false and attempts: 1 turn retries off", async () => {
  const port = closedPort();
  const clock = fakeClock();
  using noNetwork = createClient({
    clock,
    retry: { retryOn: { networkErrors: false } },
  });
  await assert.rejects(
    noNetwork.get(`http://127.0.0.1:${port}/`),
    ConnectError,
  );
  assert.deepEqual(clock.sleeps, []);
  const up = upstream(() => new Response(null, { status: 503 }));
  using once = createClient({ baseUrl: up.url, clock, retry: false });
  try {
    await (await once.get("/")).body?.cancel();
    assert.equal(up.hits, 1);
    assert.deepEqual(clock.sleeps, []);
  } finally {
    await up.close();
  }
});

Deno.test("no retry is started when its wait would end after timeoutMs", async () => {
  const up = upstream(() =>
    new Response(null, { status: 503, headers: { "retry-after": "5" } })
  );
  const clock = fakeClock();
  using client = createClient({ baseUrl: up.url, clock, timeoutMs: 2_000 });
  try {
    const res = await client.get("/");
    assert.equal(res.status, 503);
    assert.equal(up.hits, 1);
    assert.deepEqual(clock.sleeps, []);
  } finally {
    await up.close();
  }
});
