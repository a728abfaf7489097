/**
 * nginx in front of Palisade (docs/deploy/nginx.md): the test runs
 * Debian's nginx with `deploy/nginx.conf` (ports moved to free ones, every
 * path in a temp dir, as the current user) in front of the example app
 * started with the systemd unit's `ExecStart`, and checks the client
 * address, body limits, upstream keep-alive, private metrics and graceful
 * shutdown as a client sees them. Prints a summary of what it saw.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { parseResponse, type RawResponse } from "../_helpers.ts";
import {
  freePort,
  hasBinary,
  metricValue,
  readUnit,
  repoPath,
  startListening,
  stop,
  UNIT_PATH,
  unitCommand,
  unitValue,
  untilInFlight,
} from "./_deploy.ts";
import exampleApp, { DEADLINE_MS, ECHO_BODY_BYTES } from "../../deploy/app.ts";
import { H1_DEFAULTS } from "../../src/transport/h1/options.ts";

const NGINX = ["/usr/sbin/nginx", "nginx"].find(hasBinary);
if (NGINX === undefined) {
  console.warn(
    "nginx is not installed (Debian package nginx): nginx integration test ignored",
  );
}

/** A client address that is not a trusted proxy (all of 127/8 is loopback). */
const CLIENT = "127.0.0.2";
/** nginx's client_max_body_size in deploy/nginx.conf (1m). */
const PROXY_BODY_BYTES = 1024 * 1024;

/** The value of the one `name …;` directive of `text`. */
function directive(text: string, name: string): string {
  const found = [
    ...text.matchAll(new RegExp(`^\\s*${name}\\s+([^;]+);`, "gm")),
  ];
  assert.equal(found.length, 1, `one ${name} directive`);
  return found[0][1].trim();
}

/** An nginx time (`4s`, `500ms`, `1m`) in ms. */
function ms(value: string): number {
  const m = value.match(/^(\d+)(ms|s|m)?$/);
  assert.ok(m, `nginx time ${value}`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? "s"] ?? 0);
}

/** An nginx size (`8k`, `1m`) in bytes. */
function bytes(value: string): number {
  const m = value.match(/^(\d+)([km])?$/i);
  assert.ok(m, `nginx size ${value}`);
  return Number(m[1]) *
    ({ k: 1024, m: 1024 * 1024 }[m[2]?.toLowerCase() ?? ""] ?? 1);
}

Deno.test("nginx.conf: timeouts and sizes match Palisade's settings", () => {
  const conf = Deno.readTextFileSync(repoPath("deploy/nginx.conf"));
  // nginx closes idle upstream connections first: no request is ever sent
  // on a connection Palisade is closing.
  assert.ok(
    ms(directive(conf, "keepalive_timeout")) < H1_DEFAULTS.idleTimeoutMs,
  );
  assert.ok(
    Number(directive(conf, "keepalive_requests")) <=
      H1_DEFAULTS.maxRequestsPerConnection,
  );
  assert.equal(
    ms(directive(conf, "client_header_timeout")),
    H1_DEFAULTS.headerTimeoutMs,
  );
  assert.equal(
    ms(directive(conf, "client_body_timeout")),
    H1_DEFAULTS.bodyTimeoutMs,
  );
  assert.equal(
    ms(directive(conf, "proxy_send_timeout")),
    H1_DEFAULTS.bodyTimeoutMs,
  );
  // Palisade's 503 at the deadline reaches the client before nginx's 504.
  assert.ok(ms(directive(conf, "proxy_read_timeout")) > DEADLINE_MS);
  assert.equal(
    bytes(directive(conf, "client_max_body_size")),
    exampleApp.limits.bodyBytes,
  );
  assert.equal(
    bytes(directive(conf, "client_max_body_size")),
    PROXY_BODY_BYTES,
  );
  const [, size] = directive(conf, "large_client_header_buffers").split(/\s+/);
  assert.equal(bytes(size), exampleApp.limits.urlBytes);
});

/** The main nginx.conf that includes the shipped site config. */
function mainConfig(dir: string): string {
  const user = Deno.uid() === 0 ? "user root;\n" : "";
  return `${user}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/palisade.conf;
}
`;
}

/** `deploy/nginx.conf` with its listen port and upstream moved. */
function siteConfig(listenPort: number, appPort: number): string {
  const text = Deno.readTextFileSync(repoPath("deploy/nginx.conf"));
  assert.match(text, /^\s*listen 80;$/m);
  assert.match(text, /^\s*server 127\.0\.0\.1:8000;$/m);
  return text
    .replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${listenPort};`)
    .replace(
      /^(\s*)server 127\.0\.0\.1:8000;$/m,
      `$1server 127.0.0.1:${appPort};`,
    );
}

interface Nginx {
  port: number;
  dir: string;
  child: Deno.ChildProcess;
  errors(): string;
}

async function startNginx(appPort: number): Promise<Nginx> {
  const dir = await Deno.makeTempDir({ prefix: "palisade_nginx_" });
  const port = freePort();
  await Deno.writeTextFile(`${dir}/nginx.conf`, mainConfig(dir));
  await Deno.writeTextFile(`${dir}/palisade.conf`, siteConfig(port, appPort));
  const errors = () => {
    try {
      return Deno.readTextFileSync(`${dir}/error.log`);
    } catch {
      return "";
    }
  };
  const child = new Deno.Command(NGINX!, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    assert.equal(exited, false, `nginx exited:\n${errors()}`);
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { port, dir, child, errors };
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Sends one request over a fresh connection from {@linkcode CLIENT} and
 * reads the response (the request says `Connection: close`).
 */
function send(
  port: number,
  head: string,
  body?: Uint8Array,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: "127.0.0.1",
      port,
      localAddress: CLIENT,
    });
    const chunks: Uint8Array[] = [];
    socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    const done = () => {
      const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      const text = new TextDecoder().decode(bytes);
      if (text === "") reject(new Error("No response"));
      else resolve(parseResponse(text));
    };
    socket.on("close", done);
    socket.on(
      "error",
      () => {/* a reset after an early answer: keep what came */},
    );
    socket.on("connect", () => {
      socket.write(head.replaceAll("\n", "\r\n") + "Connection: close\r\n\r\n");
      if (body !== undefined) socket.write(body);
    });
  });
}

const get = (port: number, path: string, extra = ""): Promise<RawResponse> =>
  send(port, `GET ${path} HTTP/1.1\nHost: app.example\n${extra}`);

function post(port: number, path: string, size: number): Promise<RawResponse> {
  return send(
    port,
    `POST ${path} HTTP/1.1\nHost: app.example\nContent-Type: text/plain\nContent-Length: ${size}\n`,
    new Uint8Array(size).fill(0x61),
  );
}

async function directMetrics(appPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${appPort}/metrics`);
  return await res.text();
}

Deno.test({
  name: "nginx in front: client address, limits, keep-alive, shutdown",
  ignore: NGINX === undefined,
  async fn(t) {
    const unit = readUnit(UNIT_PATH);
    const { argv, env } = unitCommand(unit);
    const app = await startListening(argv, { env });
    const nginx = await startNginx(app.port);
    const summary: string[] = [];
    try {
      const version = new TextDecoder().decode(
        (await new Deno.Command(NGINX!, { args: ["-v"], stderr: "piped" })
          .output()).stderr,
      ).trim();
      summary.push(
        `${version} on :${nginx.port} → Palisade h1 on :${app.port}`,
      );

      await t.step(
        "the App sees the real client, not nginx and not a forged X-Forwarded-For",
        async () => {
          const plain = await get(nginx.port, "/");
          assert.equal(plain.status, 200, plain.raw);
          const seen = JSON.parse(plain.body);
          assert.equal(seen.client, CLIENT);
          assert.equal(seen.host, "app.example");
          const forged = await get(
            nginx.port,
            "/",
            "X-Forwarded-For: 203.0.113.9\n",
          );
          assert.equal(JSON.parse(forged.body).client, CLIENT);
          assert.match(plain.headers["x-request-id"], /^[0-9a-f]{32}$/);
          summary.push(
            `ctx.remote = ${seen.client} (nginx connects from 127.0.0.1); ` +
              `forged X-Forwarded-For 203.0.113.9 → still ${CLIENT}; Host ${seen.host}; ` +
              `x-request-id from nginx's $request_id`,
          );
        },
      );

      await t.step(
        "a body over the route limit gets Palisade's 413, over the proxy limit nginx's 413, both problem+json",
        async () => {
          const fits = await post(nginx.port, "/echo", ECHO_BODY_BYTES);
          assert.equal(fits.status, 200);
          assert.equal(fits.body.length, ECHO_BODY_BYTES);
          const route = await post(nginx.port, "/echo", ECHO_BODY_BYTES + 1);
          assert.equal(route.status, 413);
          assert.equal(
            route.headers["content-type"],
            "application/problem+json",
          );
          assert.match(
            JSON.parse(route.body).detail,
            /bodyBytes limit of 65536/,
          );
          const proxy = await post(nginx.port, "/echo", PROXY_BODY_BYTES + 1);
          assert.equal(proxy.status, 413);
          assert.equal(
            proxy.headers["content-type"],
            "application/problem+json",
          );
          assert.equal(JSON.parse(proxy.body).status, 413);
          assert.match(JSON.parse(proxy.body).detail, /proxy limit of 1048576/);
          summary.push(
            `413: ${ECHO_BODY_BYTES + 1} B to /echo → Palisade ("${
              JSON.parse(route.body).detail
            }"); ${PROXY_BODY_BYTES + 1} B → nginx ("${
              JSON.parse(proxy.body).detail
            }"); both application/problem+json`,
          );
        },
      );

      await t.step("nginx keeps its upstream connections alive", async () => {
        const before = metricValue(
          await directMetrics(app.port),
          "palisade_connections_total",
        );
        for (let i = 0; i < 10; i++) {
          assert.equal((await get(nginx.port, "/")).status, 200);
        }
        const opened = metricValue(
          await directMetrics(app.port),
          "palisade_connections_total",
        ) - before;
        // One for nginx (or none if its connection from the last step is
        // still idle), one for this test's own /metrics fetches.
        assert.ok(
          opened <= 2,
          `10 proxied requests opened ${opened} connections`,
        );
        summary.push(
          `keep-alive: 10 proxied requests opened ${opened} new Palisade connection(s), this test's /metrics fetch included`,
        );
      });

      await t.step("metrics are not served through nginx", async () => {
        assert.equal((await get(nginx.port, "/metrics")).status, 403);
        summary.push(
          "/metrics through nginx → 403 (Prometheus scrapes :8000 directly)",
        );
      });

      await t.step(
        "SIGTERM: the in-flight request completes, new requests get 502, the app exits 0",
        async () => {
          const slow = get(nginx.port, "/slow?ms=2000");
          await untilInFlight(app.port, slow);
          const unit = readUnit(repoPath("deploy/palisade.service"));
          const stopMs = Number(unitValue(unit, "Service", "TimeoutStopSec")) *
            1000;
          const stopped = stop(app, "SIGTERM", stopMs);
          let slowDone = false;
          slow.then(() => slowDone = true, () => slowDone = true);
          const statuses: number[] = [];
          let during = false;
          for (;;) {
            const status = (await get(nginx.port, "/")).status;
            statuses.push(status);
            if (status !== 200) {
              during = !slowDone;
              break;
            }
          }
          const answer = await slow;
          const { status, killed } = await stopped;
          const after = await get(nginx.port, "/");

          assert.equal(answer.status, 200, answer.raw);
          assert.deepEqual(JSON.parse(answer.body), { waitedMs: 2000 });
          assert.equal(statuses.at(-1), 502, `statuses: ${statuses}`);
          assert.equal(after.status, 502);
          assert.equal(killed, false);
          assert.equal(status.code, 0, app.output());
          const report = app.output().match(/Stopped (\{.*\})/)![1];
          summary.push(
            `shutdown: in-flight /slow → 200 {"waitedMs":2000}; new requests → ${
              statuses.join(",")
            } (502 seen ${
              during ? "while /slow was still in flight" : "after /slow ended"
            }); after exit → ${after.status}; exit code ${status.code}; ${report}`,
          );
        },
      );
    } finally {
      try {
        app.child.kill("SIGKILL");
      } catch { /* already exited */ }
      await app.exited;
      nginx.child.kill("SIGTERM");
      await nginx.child.status;
      const errors = nginx.errors();
      await Deno.remove(nginx.dir, { recursive: true });
      await Deno.remove(env.DENO_DIR, { recursive: true });
      // What nginx logged as errors (the refused connections after SIGTERM).
      const logged = new Set(
        errors.split("\n")
          .filter((l) => /\[(error|crit|alert|emerg)\]/.test(l))
          .map((l) => l.replace(/^.*?\*\d+ /, "").replace(/, client:.*$/, "")),
      );
      summary.push(`nginx error_log: ${[...logged].join("; ") || "nothing"}`);
      console.log(`nginx integration summary:\n  ${summary.join("\n  ")}`);
    }
  },
});
