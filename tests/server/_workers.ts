/**
 * Helpers of the worker tests: the subprocess, fresh-connection requests,
 * and loops that wait (under a 20 s watchdog) until both threads did
 * something.
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import { parseExposition } from "../fixtures/prometheus.ts";

export const FIXTURE = new URL("../fixtures/workers_server.ts", import.meta.url)
  .pathname;
export const PARALLEL = new URL("../fixtures/parallel_app.ts", import.meta.url)
  .pathname;
/** Most requests a test keeps open looking for both threads. */
export const ATTEMPTS = 200;

/**
 * A watchdog for polling loops (a worker is starting, a listener closing),
 * not a measurement: true for 20 s from the call.
 */
export function forAWhile(): () => boolean {
  const end = Date.now() + 20_000;
  return () => Date.now() < end;
}

export function pause(): Promise<void> {
  return new Promise((r) => setTimeout(r, 5));
}
export const ignore = Deno.build.os !== "linux"; // SO_REUSEPORT spreading is Linux's

/**
 * A subprocess whose stdout and stderr are collected as they come; `await
 * using` kills it when a test fails before stopping it.
 */
export class Child {
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

export function startFixture(
  transport: "h1" | "deno",
  ...args: string[]
): Child {
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
export function freshClient(): Deno.HttpClient {
  return Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
}

export async function get(
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
export async function hitBoth(
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
export async function inFlightOnBoth(
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
export async function scrapeBoth(
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

export const fixtures = new URL("../fixtures/", import.meta.url).pathname;
export const CA = [
  Deno.readTextFileSync(`${fixtures}ca_cert.pem`),
  Deno.readTextFileSync(`${fixtures}alt_ca_cert.pem`),
];

/** GET `path` over a fresh TLS connection: the certificate's CN and the body. */
export async function getTls(
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
export async function threadsByCert(
  port: number,
): Promise<Map<string, string>> {
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
