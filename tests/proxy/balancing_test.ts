import assert from "node:assert/strict";
import { proxy } from "../../src/proxy/mod.ts";
import { front, get, named, until, upstream } from "./_servers.ts";

async function sequence(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await get(url);
    assert.equal(r.status, 200);
    out.push(r.text);
  }
  return out;
}

function counts(names: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of names) c[n] = (c[n] ?? 0) + 1;
  return c;
}

Deno.test("proxy: round robin alternates between equal upstreams", async () => {
  const a = named("a");
  const b = named("b");
  const api = proxy({ upstreams: [a.url, b.url] });
  const f = front((app) => app.all("/api/*", api));
  const seq = await sequence(`${f.base}/api/x`, 10);
  assert.deepEqual(seq, ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"]);
  await f.stop();
  await api.close();
  await a.stop();
  await b.stop();
});

Deno.test("proxy: smooth weighted round robin interleaves by weight", async () => {
  const a = named("a");
  const b = named("b");
  const c = named("c");
  const api = proxy({
    upstreams: [{ url: a.url, weight: 3 }, b.url, { url: c.url, weight: 2 }],
  });
  const f = front((app) => app.all("/api/*", api));
  const seq = await sequence(`${f.base}/api/`, 60);
  assert.deepEqual(counts(seq), { a: 30, b: 10, c: 20 });
  // Smooth, not a a a b c c: nginx's sequence for weights 3:1:2.
  assert.deepEqual(seq.slice(0, 12), [
    ..."acabca",
    ..."acabca",
  ]);
  await f.stop();
  await api.close();
  await Promise.all([a.stop(), b.stop(), c.stop()]);
});

/**
 * Upstreams that hold each request until released, answering with a
 * chunked body (the proxy counts an exchange until its body ends).
 */
function holding(name: string) {
  const waiting: (() => void)[] = [];
  const u = upstream(async () => {
    await new Promise<void>((resolve) => waiting.push(resolve));
    return new Response(ReadableStream.from([new TextEncoder().encode(name)]));
  });
  return {
    ...u,
    waiting,
    release(): void {
      waiting.shift()!();
    },
  };
}

Deno.test("proxy: least connections sends each request to the least busy upstream", async () => {
  const a = holding("a");
  const b = holding("b");
  const api = proxy({
    upstreams: [a.url, b.url],
    strategy: "least_connections",
  });
  const f = front((app) => app.all("/api/*", api));
  const url = `${f.base}/api/`;
  const busy = () => a.waiting.length + b.waiting.length;

  const first = get(url);
  await until("the first request upstream", () => busy() === 1);
  const firstAt = a.waiting.length === 1 ? a : b;
  const other = firstAt === a ? b : a;

  const second = get(url);
  await until("the second request upstream", () => busy() === 2);
  assert.equal(other.waiting.length, 1, "the idle upstream gets the second");

  const third = get(url);
  await until("the third request upstream", () => busy() === 3);

  // Whoever got the third has two; finish one request on the other upstream
  // and the next request must go there (it now has none).
  const heavy = a.waiting.length === 2 ? a : b;
  const light = heavy === a ? b : a;
  const lightFirst = light === firstAt ? first : second;
  light.release();
  assert.equal((await lightFirst).status, 200);
  const fourth = get(url);
  await until("the fourth request upstream", () => busy() === 3);
  assert.equal(light.waiting.length, 1);
  assert.equal(heavy.waiting.length, 2);

  while (a.waiting.length > 0) a.release();
  while (b.waiting.length > 0) b.release();
  const rest = await Promise.all([first, second, third, fourth]);
  assert.ok(rest.every((r) => r.status === 200));
  assert.equal(a.seen.length + b.seen.length, 4);
  await f.stop();
  await api.close();
  await a.stop();
  await b.stop();
});

Deno.test("proxy: least connections spreads sequential requests over idle upstreams", async () => {
  const a = named("a");
  const b = named("b");
  const api = proxy({
    upstreams: [a.url, b.url],
    strategy: "least_connections",
  });
  const f = front((app) => app.all("/api/*", api));
  assert.deepEqual(counts(await sequence(`${f.base}/api/`, 20)), {
    a: 10,
    b: 10,
  });
  await f.stop();
  await api.close();
  await a.stop();
  await b.stop();
});

Deno.test("proxy: power of two choices picks the upstream with fewer in flight", async () => {
  const a = holding("a");
  const b = holding("b");
  const api = proxy({
    upstreams: [a.url, b.url],
    strategy: "random_two_choices",
  });
  const f = front((app) => app.all("/api/*", api));
  const url = `${f.base}/api/`;
  const busy = () => a.waiting.length + b.waiting.length;
  // With two upstreams both are always the two choices: the idle one wins.
  const pending = [get(url)];
  await until("request 1 upstream", () => busy() === 1);
  for (let i = 2; i <= 6; i += 2) {
    pending.push(get(url));
    await until(`request ${i} upstream`, () => busy() === i);
    assert.equal(a.waiting.length, b.waiting.length);
    pending.push(get(url));
    await until(`request ${i + 1} upstream`, () => busy() === i + 1);
  }
  while (a.waiting.length > 0) a.release();
  while (b.waiting.length > 0) b.release();
  assert.ok((await Promise.all(pending)).every((r) => r.status === 200));
  await f.stop();
  await api.close();
  await a.stop();
  await b.stop();
});
