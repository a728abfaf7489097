/**
 * Reverse proxy vs nginx, side by side: the Palisade proxy
 * (`bench/servers/palisade_proxy.ts`, h1 transport, every default on) and
 * nginx (`/usr/sbin/nginx`, one worker, upstream keepalive 64, config
 * generated in a temp dir) in front of the same upstream, a raw
 * `Deno.serve(() => new Response("ok"))`. Two reference rows split the
 * cost: `fetch-passthrough` (`Deno.serve` returning `fetch(upstream)`: the
 * floor of any fetch-based proxy) and `palisade-h1-ok` (Palisade answering
 * `ok` itself, no proxy).
 *
 * Pinning: the proxy under test on core 0; wrk and the upstream together on
 * core 1, so the proxy has a core to itself and both proxies see the same
 * upstream. Rounds are interleaved (palisade, nginx, palisade, nginx …) and
 * the whole run is repeated `--runs` times with fresh processes. Per round:
 * req/s and p99 from `wrk --latency`, and the proxy's CPU time per proxied
 * request (utime+stime from `/proc/<pid>/stat`; for nginx master plus
 * worker) across the round ÷ requests.
 *
 * Traffic only goes to 127.0.0.1. Not a test: nothing asserts a timing.
 *
 * Usage:
 *   deno run -A bench/proxy_load.ts [--rounds=5] [--duration=4] [--warmup=2] [--runs=2] [--connections=50]
 *
 * @module
 */

import {
  clockTicks,
  commandExists,
  cpuTicks,
  killAll,
  killChildrenOnSignal,
  log,
  machineInfo,
  readProc,
  type ServerProcess,
  sleep,
  startServer,
} from "./_proc.ts";
import { type LoadResult, runLoad } from "./_load_tools.ts";

const NGINX = "/usr/sbin/nginx";
const PROXY_CORE = ["taskset", "-c", "0"];
const SIDE_CORE = ["taskset", "-c", "1"];

interface Options {
  rounds: number;
  duration: number;
  warmup: number;
  runs: number;
  connections: number;
}

function parseOptions(args: string[]): Options {
  const get = (name: string, fallback: number): number => {
    const hit = args.find((a) => a.startsWith(`--${name}=`));
    const n = hit === undefined ? fallback : Number(hit.slice(name.length + 3));
    if (!Number.isInteger(n) || n < 0) throw new Error(`Bad --${name}`);
    return n;
  };
  return {
    rounds: get("rounds", 5),
    duration: get("duration", 4),
    warmup: get("warmup", 2),
    runs: get("runs", 2),
    connections: get("connections", 50),
  };
}

/** A proxy under test: where it listens and which pids its CPU is summed over. */
interface Target {
  name: string;
  port: number;
  pids(): Promise<number[]>;
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > end) throw new Error(`Nothing listens on ${port}`);
      await sleep(50);
    }
  }
}

async function startNginx(upstreamPort: number): Promise<Target> {
  const dir = await Deno.makeTempDir({ prefix: "palisade_nginx_" });
  const port = freePort();
  const conf = `${dir}/nginx.conf`;
  await Deno.writeTextFile(
    conf,
    `daemon off;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream u { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://u;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const child = new Deno.Command(PROXY_CORE[0], {
    args: [...PROXY_CORE.slice(1), NGINX, "-p", dir, "-c", conf],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await waitForPort(port, 10_000);
  return {
    name: "nginx",
    port,
    async pids() {
      // taskset execs nginx, so child.pid is the master; add its workers.
      const kids = await readProc(
        `/proc/${child.pid}/task/${child.pid}/children`,
      )
        .catch(() => "");
      return [
        child.pid,
        ...kids.trim().split(/\s+/).filter(Boolean).map(Number),
      ];
    },
    async stop() {
      try {
        child.kill("SIGQUIT");
      } catch { /* gone */ }
      const done = await Promise.race([
        child.status.then(() => true),
        sleep(5_000).then(() => false),
      ]);
      if (!done) child.kill("SIGKILL");
      await child.stderr.cancel().catch(() => {});
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Starts a Deno server program of `bench/servers/` on the proxy core. */
async function startDeno(
  name: string,
  script: string,
  args: string[],
): Promise<Target> {
  const r = await startServer({
    script: `bench/servers/${script}`,
    args: ["--port=0", ...args],
    prefix: PROXY_CORE,
  });
  if (!r.ok) throw new Error(`${name} did not start: ${r.reason}`);
  const server: ServerProcess = r.server;
  return {
    name,
    port: server.port,
    pids: () => Promise.resolve([server.pid]),
    stop: () => server.stop(),
  };
}

async function cpuOf(target: Target): Promise<number> {
  let sum = 0;
  for (const pid of await target.pids()) sum += await cpuTicks(pid);
  return sum;
}

interface Sample {
  load: LoadResult;
  cpuUsPerReq: number;
}

async function round(
  target: Target,
  opts: Options,
  hz: number,
): Promise<Sample> {
  const before = await cpuOf(target);
  const load = await runLoad({
    tool: "wrk",
    port: target.port,
    path: "/",
    seconds: opts.duration,
    connections: opts.connections,
    prefix: SIDE_CORE,
    tmpDir: "/tmp",
  });
  const ticks = (await cpuOf(target)) - before;
  return { load, cpuUsPerReq: (ticks / hz) * 1e6 / load.requests };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function run(
  index: number,
  opts: Options,
  hz: number,
): Promise<string[]> {
  const up = await startServer({
    script: "bench/servers/raw.ts",
    args: ["--port=0", "--scenario=hello"],
    prefix: SIDE_CORE,
  });
  if (!up.ok) throw new Error(`upstream did not start: ${up.reason}`);
  const upstream = `--upstream=${up.server.port}`;
  const targets = [
    await startDeno("palisade", "palisade_proxy.ts", [upstream]),
    await startNginx(up.server.port),
    // References, to split the cost: what Deno's fetch alone costs as a
    // proxy, and what Palisade costs answering "ok" itself.
    await startDeno("fetch-passthrough", "fetch_passthrough.ts", [upstream]),
    await startDeno("palisade-h1-ok", "palisade_h1.ts", []),
  ];
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  try {
    for (const t of targets) {
      if (opts.warmup > 0) {
        await runLoad({
          tool: "wrk",
          port: t.port,
          path: "/",
          seconds: opts.warmup,
          connections: opts.connections,
          prefix: SIDE_CORE,
          tmpDir: "/tmp",
        });
      }
    }
    for (let r = 0; r < opts.rounds; r++) {
      for (const t of targets) {
        const s = await round(t, opts, hz);
        samples.get(t.name)!.push(s);
        log(
          `run ${index} round ${r + 1} ${t.name}: ${
            s.load.rps.toFixed(0)
          } req/s, ` +
            `p99 ${s.load.p99Ms.toFixed(2)} ms, ${
              s.cpuUsPerReq.toFixed(1)
            } µs CPU/req, ` +
            `non-2xx ${s.load.non2xx}, errors ${s.load.errors}`,
        );
      }
    }
  } finally {
    for (const t of targets) await t.stop();
    await up.server.stop();
  }
  const lines: string[] = [];
  const cpu = (name: string) =>
    median(samples.get(name)!.map((s) => s.cpuUsPerReq));
  for (const t of targets) {
    const s = samples.get(t.name)!;
    const rps = s.map((x) => x.load.rps);
    lines.push(
      `| ${index} | ${t.name} | ${median(rps).toFixed(0)} (${
        Math.min(...rps).toFixed(0)
      }–${Math.max(...rps).toFixed(0)}) | ${
        median(s.map((x) => x.load.p99Ms)).toFixed(2)
      } | ${cpu(t.name).toFixed(1)} | ${
        (cpu(t.name) / cpu("nginx")).toFixed(2)
      } | ${s.reduce((n, x) => n + x.load.non2xx + x.load.errors, 0)} |`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const opts = parseOptions(Deno.args);
  for (const tool of ["wrk", "taskset", NGINX]) {
    if (!(await commandExists(tool))) {
      console.log(`${tool} is missing: apt-get install wrk util-linux nginx`);
      Deno.exit(2);
    }
  }
  if (navigator.hardwareConcurrency < 2) {
    console.log(
      "Needs two cores: the proxy on core 0, wrk and the upstream on core 1",
    );
    Deno.exit(2);
  }
  killChildrenOnSignal();
  const hz = await clockTicks();
  const machine = await machineInfo();
  const rows: string[] = [];
  try {
    for (let i = 1; i <= opts.runs; i++) rows.push(...await run(i, opts, hz));
  } finally {
    await killAll();
  }
  console.log(
    [
      `Reverse proxy: GET / through the proxy to raw Deno.serve "ok"; wrk -t1 -c${opts.connections} --latency, ` +
      `${opts.rounds} interleaved rounds of ${opts.duration} s per run (median, min–max).`,
      "Proxy on core 0; wrk and the upstream on core 1 (taskset). CPU = proxy utime+stime ÷ requests (nginx: master + worker).",
      `${machine.cpu}, ${machine.cores} cores, ${machine.kernel}, Deno ${machine.deno}, ${machine.wrk}, load ${machine.loadavg}`,
      "",
      "| run | proxy | req/s | p99 ms | CPU µs/req | ×nginx CPU | non-2xx+errors |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n"),
  );
}

if (import.meta.main) await main();
