/**
 * Multi-core scaling of `serve(app, { workers })`: req/s of the h1 engine
 * with 1 and 2 workers on the hello route (`GET /` of the shared 200-route
 * App, every default on), measured by wrk in one run, in interleaved rounds
 * (1 2, 2 1, …). Each round starts a fresh server, warms it up so every
 * worker has joined, then measures. The server is not pinned: with 2
 * workers it needs both cores, so wrk (2 threads) shares them and the
 * ratio is what this machine gives, load generator included. Also reports
 * the server's CPU (all threads, from `/proc`) in cores busy during the
 * run, its CPU µs per request, and the cores everything else took (wrk,
 * the kernel's loopback softirq work and other processes: the machine's
 * busy time from `/proc/stat` minus the server's).
 *
 * Run: `deno run -A bench/workers.ts [--rounds=2] [--duration=10]
 * [--warmup=2] [--connections=64] [--max-workers=2]`
 *
 * @module
 */

import {
  clockTicks,
  cpuTicks,
  log,
  readProc,
  ROOT,
  runTool,
  sleep,
} from "./_proc.ts";

function flag(name: string, fallback: number): number {
  const hit = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3));
}

const ROUNDS = flag("rounds", 2);
const SECONDS = flag("duration", 10);
const WARMUP = flag("warmup", 2);
const CONNECTIONS = flag("connections", 64);
const MAX_WORKERS = flag("max-workers", 2);

interface Server {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function start(workers: number): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      "bench/servers/palisade_workers.ts",
      "--port=0",
      `--workers=${workers}`,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let match: RegExpMatchArray | null = null;
  while (match === null) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited before READY: ${out}`);
    out += value;
    match = out.match(/READY (\d+)/);
  }
  reader.cancel();
  return {
    pid: child.pid,
    port: Number(match[1]),
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function wrk(port: number, seconds: number): Promise<number> {
  const r = await runTool([
    "wrk",
    "-t2",
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    `http://127.0.0.1:${port}/`,
  ], seconds * 1000 + 20_000);
  const rps = r.stdout.match(/Requests\/sec:\s+([\d.]+)/);
  const bad = r.stdout.match(/Non-2xx or 3xx responses:\s+(\d+)/);
  if (r.code !== 0 || rps === null || bad !== null) {
    throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  }
  return Number(rps[1]);
}

const counts = Array.from({ length: MAX_WORKERS }, (_, i) => i + 1);
const rps = new Map<number, number[]>(counts.map((n) => [n, []]));
const cores = new Map<number, number[]>(counts.map((n) => [n, []]));
const rest = new Map<number, number[]>(counts.map((n) => [n, []]));
const usPerReq = new Map<number, number[]>(counts.map((n) => [n, []]));
/** Busy ticks of the whole machine: every field of `cpu` but idle and iowait. */
async function machineTicks(): Promise<number> {
  const line = (await readProc("/proc/stat")).match(/^cpu (.*)$/m);
  if (line === null) throw new Error("No cpu line in /proc/stat");
  const f = line[1].trim().split(/\s+/).map(Number).slice(0, 8);
  return f.reduce((a, b) => a + b, 0) - f[3] - f[4];
}
const tck = await clockTicks();
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? counts : [...counts].reverse();
  for (const n of order) {
    const server = await start(n);
    try {
      await wrk(server.port, WARMUP);
      const before = await cpuTicks(server.pid);
      const machineBefore = await machineTicks();
      const t0 = performance.now();
      const r = await wrk(server.port, SECONDS);
      const elapsed = (performance.now() - t0) / 1000;
      const serverTicks = await cpuTicks(server.pid) - before;
      const machine = await machineTicks() - machineBefore;
      const busy = serverTicks / tck / elapsed;
      rps.get(n)!.push(r);
      cores.get(n)!.push(busy);
      rest.get(n)!.push((machine - serverTicks) / tck / elapsed);
      usPerReq.get(n)!.push((serverTicks / tck) * 1e6 / (r * elapsed));
      log(
        `round ${round + 1}, ${n} worker(s): ${r.toFixed(0)} req/s, ` +
          `server ${busy.toFixed(2)} cores`,
      );
    } finally {
      await server.stop();
    }
    await sleep(500);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const base = median(rps.get(1)!);
console.log(
  `h1 hello, wrk -t2 -c${CONNECTIONS} -d${SECONDS}s unpinned, ` +
    `${navigator.hardwareConcurrency} cores, ${ROUNDS} rounds\n`,
);
console.log(
  "| workers | req/s per round | median | ×1 worker | server cores | server CPU µs/req | other busy cores (wrk, softirq, rest) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const n of counts) {
  const xs = rps.get(n)!;
  console.log(
    `| ${n} | ${xs.map((x) => x.toFixed(0)).join(", ")} | ${
      median(xs).toFixed(0)
    } | ${(median(xs) / base).toFixed(2)} | ${
      median(cores.get(n)!).toFixed(2)
    } | ${median(usPerReq.get(n)!).toFixed(1)} | ${
      median(rest.get(n)!).toFixed(2)
    } |`,
  );
}
