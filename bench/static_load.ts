/**
 * `serveStatic` against raw `Deno.serve` + `Deno.open(...).readable`, on a
 * 4 KiB and a 1 MiB file: server CPU time per request (utime + stime of
 * the whole process from `/proc/<pid>/stat` ÷ requests wrk completed), the
 * server pinned to core 0 and wrk to core 1, rounds interleaved (raw, deno,
 * h1, raw, …). Reports each round and the median ratio to raw.
 *
 * Not a test: nothing asserts a timing. Traffic only goes to 127.0.0.1.
 *
 * Run: `deno run -A bench/static_load.ts [--rounds=2] [--duration=5] [--connections=32]`
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
  memory,
  pinning,
  type ServerProcess,
  startServer,
} from "./_proc.ts";
import { runLoad } from "./_load_tools.ts";

const arg = (name: string, fallback: number): number =>
  Number(
    Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ??
      fallback,
  );
const rounds = arg("rounds", 2);
const duration = arg("duration", 5);
const connections = arg("connections", 32);

const only = Deno.args.find((a) => a.startsWith("--files="))?.slice(8)
  .split(",");
const FILES = [
  { name: "4k.bin", size: 4 * 1024 },
  { name: "1m.bin", size: 1024 * 1024 },
].filter((f) => only === undefined || only.includes(f.name));
const KINDS = ["raw", "deno", "h1"] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

if (!(await commandExists("wrk"))) {
  console.log("wrk is missing: apt-get install wrk");
  Deno.exit(0);
}
killChildrenOnSignal();
const dir = await Deno.makeTempDir({ prefix: "palisade_static_load_" });
for (const f of FILES) {
  const bytes = new Uint8Array(f.size);
  for (let i = 0; i < f.size; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, f.size)));
  }
  await Deno.writeFile(`${dir}/${f.name}`, bytes);
}
const pin = await pinning();
const hz = await clockTicks();
log(`pinning: ${pin.note}`);
const procs = new Map<string, ServerProcess>();
try {
  for (const kind of KINDS) {
    const r = await startServer({
      script: "bench/servers/static_files.ts",
      args: [`--kind=${kind}`, `--dir=${dir}`, "--port=0"],
      prefix: pin.server,
    });
    if (!r.ok) throw new Error(`${kind} did not start: ${r.reason}`);
    procs.set(kind, r.server);
  }
  const lines: string[] = [];
  for (const file of FILES) {
    const us: Record<string, number[]> = { raw: [], deno: [], h1: [] };
    const rps: Record<string, number[]> = { raw: [], deno: [], h1: [] };
    for (const kind of KINDS) { // warm-up
      await runLoad({
        tool: "wrk",
        port: procs.get(kind)!.port,
        path: `/${file.name}`,
        seconds: 1,
        connections,
        prefix: pin.load,
        tmpDir: dir,
      });
    }
    for (let round = 1; round <= rounds; round++) {
      for (const kind of KINDS) {
        const p = procs.get(kind)!;
        const before = await cpuTicks(p.pid);
        const r = await runLoad({
          tool: "wrk",
          port: p.port,
          path: `/${file.name}`,
          seconds: duration,
          connections,
          prefix: pin.load,
          tmpDir: dir,
        });
        const ticks = await cpuTicks(p.pid) - before;
        if (r.non2xx > 0 || r.errors > 0) {
          throw new Error(
            `${kind} ${file.name}: ${r.non2xx} non-2xx, ${r.errors} errors`,
          );
        }
        const perReq = ticks / hz * 1e6 / r.requests;
        us[kind].push(perReq);
        rps[kind].push(r.rps);
        log(
          `${file.name} round ${round} ${kind}: ${r.requests} requests, ${
            r.rps.toFixed(0)
          } req/s, ${perReq.toFixed(1)} µs CPU/req`,
        );
      }
    }
    const raw = median(us.raw);
    for (const kind of KINDS) {
      const m = median(us[kind]);
      const rss = (await memory(procs.get(kind)!.pid)).hwmKiB / 1024;
      lines.push(
        `| ${file.name} | ${kind} | ${median(rps[kind]).toFixed(0)} | ${
          m.toFixed(1)
        } | ${us[kind].map((x) => x.toFixed(1)).join(", ")} | ${
          (m / raw).toFixed(2)
        }× | ${rss.toFixed(0)} |`,
      );
    }
  }
  console.log(
    `\nwrk -t1 -c${connections} -d${duration}s, ${rounds} rounds interleaved; ${pin.note}\n`,
  );
  console.log(
    "| file | server | req/s (median) | CPU µs/req (median) | per round | ×raw | peak RSS MiB |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const l of lines) console.log(l);
} finally {
  await killAll();
  await Deno.remove(dir, { recursive: true });
}
