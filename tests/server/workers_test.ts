/**
 * Multi-core serving, with real processes: `serve(app, { workers: 2 })` in
 * a subprocess (tests/fixtures/workers_server.ts) and `deno serve
 * --parallel` (tests/fixtures/parallel_app.ts). Requests go over fresh
 * connections so the kernel spreads them over the workers' listeners.
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { one, parseExposition } from "../fixtures/prometheus.ts";
import { RawConn, refused } from "../fixtures/raw_http.ts";

const FIXTURE = new URL("../fixtures/workers_server.ts", import.meta.url)
  .pathname;
const PARALLEL = new URL("../fixtures/parallel_app.ts", import.meta.url)
  .pathname;
/** Most requests a test keeps open looking for both threads. */
const ATTEMPTS = 200;

/**
 * A watchdog for polling loops (a worker is starting, a listener closing),
 * not a measurement: true for 20 s from the call.
 */
function forAWhile(): () => boolean {
  const end = Date.now() + 20_000;
  return () => Date.now() < end;
}

function pause(): Promise<void> {
  return new Promise((r) => setTimeout(r, 5));
}
const ignore = Deno.build.os !== "linux"; // SO_REUSEPORT spreading is Linux's

/**
 * A subprocess whose stdout and stderr are collected as they come; `await
 * using` kills it when a test fails before stopping it.
 */
class Child {
  readonly process: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #done: Promise<unknown>;
  #waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    this.process = new Deno.Command(Deno.execPath(), {
      args,
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (
      stream: ReadableStream<Uint8Array>,
      put: (s: string) => void,
    ) => {
      for await (const s of stream.pipeThrough(new TextDecoderStream())) {
        put(s);
        for (const w of this.#waiters.splice(0)) w();
      }
    };
    this.#done = Promise.all([
      pump(this.process.stdout, (s) => this.stdout += s),
      pump(this.process.stderr, (s) => this.stderr += s),
    ]);
  }

  /** Resolves with the first match of `re` in stdout or stderr. */
  async find(re: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const m = this.stdout.match(re) ?? this.stderr.match(re);
      if (m !== null) return m;
      const status = await Promise.race([
        new Promise<null>((r) => this.#waiters.push(() => r(null))),
        this.process.status,
      ]);
      if (status !== null) {
        await this.#done;
        const last = this.stdout.match(re) ?? this.stderr.match(re);
        assert.ok(last, `exited before ${re}: ${this.stdout}${this.stderr}`);
        return last;
      }
    }
  }

  /** Sends `signal` and waits for the exit; kills after 30 s (a watchdog). */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.process.kill(signal);
    } catch { /* already gone */ }
    return await this.exit();
  }

  /** Waits for the exit; kills after 30 s (a watchdog, not a measurement). */
  async exit(): Promise<Deno.CommandStatus> {
    const watchdog = setTimeout(() => this.process.kill("SIGKILL"), 30_000);
    const status = await this.process.status;
    clearTimeout(watchdog);
    await this.#done;
    return status;
  }

  /** Kills the process if a failed test left it running. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.process.status;
    await this.#done;
  }
}

function startFixture(transport: "h1" | "deno", ...args: string[]): Child {
  return new Child([
    "run",
    "--allow-net=127.0.0.1",
    `--allow-read=${new URL("../..", import.meta.url).pathname}`,
    "--unstable-net",
    FIXTURE,
    transport,
    ...args,
  ]);
}

/** A client that opens a new connection for every request. */
function freshClient(): Deno.HttpClient {
  return Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
}

async function get(
  client: Deno.HttpClient,
  url: string,
): Promise<{ status: number; worker: string; body: string }> {
  const res = await fetch(url, { client });
  return {
    status: res.status,
    worker: res.headers.get("x-worker") ?? "",
    body: await res.text(),
  };
}

/** Requests `/id` until two threads answered; returns the count per thread. */
async function hitBoth(
  client: Deno.HttpClient,
  base: string,
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const alive = forAWhile();
  for (let i = 0; alive() && (seen.size < 2 || i < 10); i++) {
    const { status, worker } = await get(client, `${base}/id`);
    assert.equal(status, 200);
    seen.set(worker, (seen.get(worker) ?? 0) + 1);
    if (seen.size < 2) await pause();
  }
  assert.equal(seen.size, 2, "both threads served /id");
  return seen;
}

/**
 * Opens requests to `path` (each on a new connection) until, as the summed
 * `fixture_slow_inflight` shows, both threads have some waiting.
 */
async function inFlightOnBoth(
  base: string,
  path: string,
  client: Deno.HttpClient,
): Promise<Promise<{ status: number; body: string }>[]> {
  const probe = freshClient();
  const requests: Promise<{ status: number; body: string }>[] = [];
  let inflight = new Map<string, number>();
  try {
    for (let i = 0; i < ATTEMPTS; i++) {
      requests.push(
        fetch(`${base}${path}`, { client }).then(
          async (r) => ({ status: r.status, body: await r.text() }),
          (e) => ({ status: 0, body: String(e) }),
        ),
      );
      // Until the scrape sees every request (it was accepted).
      let sum = 0;
      const alive = forAWhile();
      while (alive() && sum !== requests.length) {
        const { samples } = parseExposition(
          (await get(probe, `${base}/metrics`)).body,
        );
        inflight = new Map(
          samples.filter((s) => s.name === "fixture_slow_inflight")
            .map((s) => [s.labels.worker, s.value]),
        );
        sum = [...inflight.values()].reduce((a, b) => a + b, 0);
      }
      assert.equal(sum, requests.length, "the scrape sums every request");
      if (inflight.size === 2 && requests.length >= 4) break;
    }
  } finally {
    probe.close();
  }
  assert.equal(inflight.size, 2, "both threads have requests waiting");
  return requests;
}

/** Scrapes `/metrics` until both threads answered a scrape; checks each. */
async function scrapeBoth(
  client: Deno.HttpClient,
  base: string,
  check: (text: string) => void,
): Promise<void> {
  const scrapedBy = new Set<string>();
  const alive = forAWhile();
  while (alive() && scrapedBy.size < 2) {
    const { status, worker, body } = await get(client, `${base}/metrics`);
    assert.equal(status, 200);
    check(body);
    scrapedBy.add(worker);
  }
  assert.equal(scrapedBy.size, 2, "both threads answered a scrape");
}

for (const transport of ["h1", "deno"] as const) {
  Deno.test({
    name:
      `workers: aggregated metrics sum all workers (${transport} transport)`,
    ignore,
    async fn() {
      await using child = startFixture(transport);
      const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
      const base = `http://127.0.0.1:${port}`;
      const client = freshClient();
      try {
        const perWorker = await hitBoth(client, base);
        const total = [...perWorker.values()].reduce((a, b) => a + b, 0);
        await scrapeBoth(client, base, (text) => {
          const { samples, types } = parseExposition(text);
          assert.equal(one(samples, "palisade_metrics_workers"), 2);
          assert.equal(
            one(samples, "http_server_request_duration_seconds_count", {
              http_route: "/id",
              http_response_status_code: "200",
            }),
            total,
          );
          assert.equal(
            one(samples, "http_server_request_duration_seconds_bucket", {
              http_route: "/id",
              le: "+Inf",
            }),
            total,
          );
          assert.equal(
            types.get("http_server_request_duration_seconds"),
            "histogram",
          );
        });
      } finally {
        client.close();
      }
      const status = await child.stop();
      assert.equal(status.code, 0, child.stderr);
    },
  });
}

Deno.test({
  name:
    "workers: shutdown drains every worker, and the report sums all of them",
  ignore,
  async fn() {
    await using child = startFixture("h1");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    const base = `http://127.0.0.1:${port}`;
    const slowClient = freshClient();
    await hitBoth(slowClient, base);
    const slow = await inFlightOnBoth(base, "/slow", slowClient);
    const status = await child.stop("SIGTERM");
    const answers = await Promise.all(slow);
    slowClient.close();
    assert.equal(status.code, 0, child.stderr);
    for (const a of answers) assert.equal(a.status, 200, a.body);
    assert.equal(new Set(answers.map((a) => a.body)).size, 2);
    const report = JSON.parse((await child.find(/\{"report":.*\}/))[0]).report;
    assert.equal(report.completed, slow.length, child.stdout);
    assert.equal(report.aborted, 0);
    assert.equal(
      child.stdout.match(/"report"/g)?.length,
      1,
      "only the main thread reports",
    );
  },
});

const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const CA = [
  Deno.readTextFileSync(`${fixtures}ca_cert.pem`),
  Deno.readTextFileSync(`${fixtures}alt_ca_cert.pem`),
];

/** GET `path` over a fresh TLS connection: the certificate's CN and the body. */
async function getTls(
  port: number,
  path: string,
): Promise<{ cn: string; body: string }> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    servername: "localhost",
    ca: CA,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    const cn = String(socket.getPeerCertificate().subject?.CN);
    socket.write(
      `GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`,
    );
    let text = "";
    socket.on("data", (d: Uint8Array) => text += new TextDecoder().decode(d));
    await new Promise<void>((resolve, reject) => {
      socket.once("end", resolve);
      socket.once("error", reject);
    });
    assert.match(text, /^HTTP\/1\.1 200 /);
    return { cn, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    socket.destroy();
  }
}

/** The threads seen on fresh TLS connections, until both were seen. */
async function threadsByCert(port: number): Promise<Map<string, string>> {
  const seen = new Map<string, string>(); // thread id → certificate CN
  const alive = forAWhile();
  for (let i = 0; alive() && (seen.size < 2 || i < 10); i++) {
    const { cn, body } = await getTls(port, "/id");
    seen.set(JSON.parse(body).id, cn);
    if (seen.size < 2) await pause();
  }
  assert.equal(seen.size, 2, "both threads served");
  return seen;
}

Deno.test({
  name: "workers: a second signal forces every worker",
  ignore,
  async fn() {
    await using child = startFixture("h1");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    const client = freshClient();
    await hitBoth(client, `http://127.0.0.1:${port}`);
    const hung = await inFlightOnBoth(
      `http://127.0.0.1:${port}`,
      "/hang",
      client,
    );
    child.process.kill("SIGTERM");
    // Every listener closed: both threads are draining.
    const alive = forAWhile();
    while (alive() && !(await refused(port))) await pause();
    assert.ok(await refused(port), "every listener closed");
    const status = await child.stop("SIGTERM");
    const answers = await Promise.all(hung);
    client.close();
    assert.equal(status.code, 0, child.stderr);
    for (const a of answers) assert.equal(a.status, 503, a.body);
    const report = JSON.parse((await child.find(/\{"report":.*\}/))[0]).report;
    assert.equal(report.aborted, hung.length, child.stdout);
    assert.equal(report.completed, 0);
  },
});

Deno.test({
  name: "workers: server.reloadTls() in one thread reloads every worker",
  ignore,
  async fn() {
    await using child = startFixture("h1", "tls");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    const before = await threadsByCert(port);
    assert.deepEqual(new Set(before.values()), new Set(["localhost"]));
    assert.equal((await getTls(port, "/reload")).body, "reloaded");
    const after = await threadsByCert(port);
    assert.deepEqual(new Set(after.values()), new Set(["Palisade Alt Leaf"]));
    assert.deepEqual(new Set(after.keys()), new Set(before.keys()));
    const status = await child.stop();
    assert.equal(status.code, 0, child.stderr);
  },
});

Deno.test({
  name: "workers: server.shutdown() in a worker thread stops the whole group",
  ignore,
  async fn() {
    await using child = startFixture("h1");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    // One connection is served by one thread: find one on the worker.
    let stopped = false;
    const alive = forAWhile();
    while (alive() && !stopped) {
      const conn = await RawConn.open(port);
      await conn.get("/id");
      if (!JSON.parse((await conn.readResponse()).body).main) {
        await conn.get("/stop");
        assert.equal((await conn.readResponse()).status, 202);
        stopped = true;
      }
      conn.close();
      if (!stopped) await pause();
    }
    assert.ok(stopped, "a connection reached the worker thread");
    const status = await child.exit();
    assert.equal(status.code, 0, child.stderr);
    assert.match(child.stdout, /\{"report":\{"completed":\d+,"aborted":0/);
  },
});

Deno.test({
  name: "workers: a crashed worker is logged and started again",
  ignore,
  async fn() {
    await using child = startFixture("h1");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    const base = `http://127.0.0.1:${port}`;
    const client = freshClient();
    try {
      await hitBoth(client, base);
      let crashed = "";
      const alive = forAWhile();
      while (alive() && crashed === "") {
        const res = await get(client, `${base}/crash`);
        if (res.status === 202) crashed = res.worker;
      }
      assert.notEqual(crashed, "", "a request reached the worker thread");
      await child.find(/worker 1 crashed: .*fixture crash.*restarting it/);
      // The restarted worker has a new id; its metrics join the sum.
      let restarted = "";
      const stillAlive = forAWhile();
      while (stillAlive() && restarted === "") {
        const { body } = await get(client, `${base}/id`);
        const id = JSON.parse(body);
        if (!id.main && id.id !== crashed) restarted = id.id;
        else await pause();
      }
      assert.notEqual(restarted, "", "the worker serves again");
      const { samples } = parseExposition(
        (await get(client, `${base}/metrics`)).body,
      );
      assert.equal(one(samples, "palisade_metrics_workers"), 2);
    } finally {
      client.close();
    }
    const status = await child.stop();
    assert.equal(status.code, 0, child.stderr);
  },
});

Deno.test({
  name: "workers: deno serve --parallel aggregates /metrics over every thread",
  ignore,
  async fn() {
    await using child = new Child([
      "serve",
      "--parallel",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      PARALLEL,
    ], { DENO_JOBS: "2" });
    const port = Number(
      (await child.find(/Listening on http:\/\/[^:]+:(\d+)/))[1],
    );
    const base = `http://127.0.0.1:${port}`;
    const client = freshClient();
    try {
      const perWorker = await hitBoth(client, base);
      const total = [...perWorker.values()].reduce((a, b) => a + b, 0);
      await scrapeBoth(client, base, (text) => {
        const { samples } = parseExposition(text);
        assert.equal(one(samples, "palisade_metrics_workers"), 2);
        assert.equal(
          one(samples, "http_server_request_duration_seconds_count", {
            http_route: "/id",
          }),
          total,
        );
      });
    } finally {
      client.close();
    }
    const status = await child.stop();
    assert.equal(status.code, 0, child.stderr);
  },
});

Deno.test("workers: the option is validated before anything starts", () => {
  const app = new App();
  for (const workers of [-1, 1.5, 257, Number.NaN]) {
    assert.throws(
      () => serve(app, { workers, port: 0, shutdown: { signals: [] } }),
      {
        name: "TypeError",
        message: `Option workers must be an integer from 0 to 256, got ${
          String(workers)
        }`,
      },
    );
  }
});

Deno.test("workers: 1 serves in this thread alone", async () => {
  const app = new App();
  app.get("/", (ctx) => ctx.text("ok"));
  app.get("/metrics", app.metrics.handler());
  const server = serve(app, {
    workers: 1,
    port: 0,
    hostname: "127.0.0.1",
    shutdown: { signals: [] },
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  assert.equal(await (await fetch(`${base}/`)).text(), "ok");
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.ok(!text.includes("palisade_metrics_workers"), text);
  const report = await server.shutdown();
  assert.equal(report.aborted, 0);
});
