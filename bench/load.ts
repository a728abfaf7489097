/**
 * Side-by-side load harness: raw `Deno.serve`, Hono 4 (bare and with
 * requestId + bodyLimit + timeout) and Palisade (deno and h1 transports),
 * each as its own process pinned to core 0 while wrk or h2load runs pinned
 * to core 1. Rounds are interleaved (A B C, C B A, …) so drift on a shared
 * machine hits every server alike. Reports per server the median req/s
 * (min–max), p99 latency, server CPU time per request (from
 * `/proc/<pid>/stat`), peak RSS (`VmHWM`), non-2xx and errors, with ratios to
 * raw `Deno.serve` in the same run, and checks the performance budgets of
 * `DESIGN.md`.
 *
 * Traffic only ever goes to 127.0.0.1. Not a test: nothing here asserts a
 * timing.
 *
 * Usage:
 *   deno task load                       the issue10 preset; writes bench/RESULTS.md
 *   deno task load -- --runs=2           the preset twice, both tables and a stability matrix
 *   deno task load -- --preset=quick     ~1.5 min: hello, param, json, hardened
 *   deno task load -- --preset=all       every scenario, each with its own servers
 *   deno task load -- --scenarios=hello,param --servers=raw,hono
 *   deno task load -- --rounds=3 --duration=3 --warmup=1 --out=/tmp/r.md
 *
 * @module
 */

import {
  clockTicks,
  commandExists,
  killAll,
  killChildrenOnSignal,
  log,
  machineInfo,
  memory,
  type Pinning,
  pinning,
  ROOT,
  runTool,
  type ServerProcess,
  sleep,
  startServer,
} from "./_proc.ts";
import {
  describeLoad,
  DISTURBED,
  measure,
  runLoad,
  SETTLE_MS,
  tlsFiles,
} from "./_load_tools.ts";
import { serverList, SERVERS } from "./_servers.ts";
import { PRESETS, type Scenario, SCENARIOS } from "./_scenarios.ts";
import {
  budgetTable,
  type Row,
  type ScenarioInfo,
  type ScenarioResult,
  scenarioTable,
  stabilityMatrix,
  summaryMatrix,
} from "./_load_report.ts";

/** Parsed command-line options. */
interface Options {
  preset: string;
  scenarios: string[];
  /** Servers of every scenario (preset), or null: each scenario's own. */
  presetServers: readonly string[] | null;
  /** `--servers=` filter, or null. */
  servers: string[] | null;
  rounds: number;
  duration: number;
  warmup: number;
  runs: number;
  /** How many times a round disturbed by other processes is measured again. */
  retries: number;
  out: string | null;
}

const USAGE =
  "deno task load [-- --preset=issue10|quick|all] [--scenarios=a,b] [--servers=x,y] [--rounds=N] [--duration=S] [--warmup=S] [--runs=N] [--retries=N] [--out=FILE]";

function parseOptions(args: string[]): Options {
  const get = (name: string): string | undefined =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const known = [
    "preset",
    "quick",
    "scenarios",
    "servers",
    "rounds",
    "duration",
    "warmup",
    "runs",
    "retries",
    "out",
    "help",
  ];
  for (const a of args) {
    if (a === "--") continue; // `deno task load -- --flag` passes it through
    const name = a.replace(/^--/, "").replace(/=.*/, "");
    if (!known.includes(name)) {
      throw new Error(`Unknown flag ${a}; flags: --${known.join(", --")}`);
    }
  }
  if (args.includes("--help")) {
    console.log(USAGE);
    console.log(`presets: ${Object.keys(PRESETS).join(", ")}`);
    console.log(`scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`);
    console.log(`servers: ${Object.keys(SERVERS).join(", ")}`);
    Deno.exit(0);
  }
  const presetName = args.includes("--quick")
    ? "quick"
    : get("preset") ?? "issue10";
  const preset = PRESETS[presetName];
  if (preset === undefined) {
    throw new Error(
      `Unknown preset "${presetName}"; presets: ${
        Object.keys(PRESETS).join(", ")
      }`,
    );
  }
  const scenarios = get("scenarios")?.split(",") ?? preset.scenarios;
  for (const s of scenarios) {
    if (!SCENARIOS.some((x) => x.name === s)) {
      throw new Error(`Unknown scenario "${s}"`);
    }
  }
  const servers = get("servers") === undefined
    ? null
    : serverList(get("servers"), []);
  const quick = presetName === "quick";
  const rounds = Number(get("rounds") ?? 5);
  const duration = Number(get("duration") ?? (quick ? 1 : 4));
  const warmup = Number(get("warmup") ?? (quick ? 1 : 2));
  const runs = Number(get("runs") ?? 1);
  const retries = Number(get("retries") ?? 2);
  if (
    !Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(duration) ||
    duration < 1 || !Number.isInteger(warmup) || warmup < 0 ||
    !Number.isInteger(runs) || runs < 1 || !Number.isInteger(retries) ||
    retries < 0
  ) {
    throw new Error(
      "--rounds, --duration and --runs must be positive integers, --warmup and --retries whole numbers",
    );
  }
  // A reportable run: the issue preset with its default lengths, unfiltered.
  const full = presetName === "issue10" &&
    args.every((a) =>
      a === "--" ||
      a.startsWith("--out=") || a.startsWith("--runs=") ||
      a.startsWith("--retries=") || a === "--preset=issue10"
    );
  return {
    preset: presetName,
    scenarios,
    presetServers: preset.servers,
    servers,
    rounds,
    duration,
    warmup,
    runs,
    retries,
    out: get("out") ?? (full ? `${ROOT}bench/RESULTS.md` : null),
  };
}

/** The servers of `sc` in this run: the preset's or its own, filtered. */
function serversOf(sc: Scenario, opts: Options): string[] {
  const reference = sc.reference ?? "raw";
  const all = [...(opts.presetServers ?? sc.servers)];
  if (!all.includes(reference)) all.splice(1, 0, reference);
  return all.filter((n) =>
    n === "raw" || n === reference || opts.servers === null ||
    opts.servers.some((f) => n === f || n.startsWith(`${f}+`))
  );
}

function infoOf(sc: Scenario): ScenarioInfo {
  return {
    name: sc.name,
    title: sc.title,
    load: describeLoad(sc.tool),
    reference: sc.reference ?? "raw",
    budget: sc.budget ?? false,
    notes: sc.notes,
  };
}

async function runScenario(
  sc: Scenario,
  opts: Options,
  pin: Pinning,
  hz: number,
  tmp: string,
  tls: { cert: string; key: string },
): Promise<Row[]> {
  const names = serversOf(sc, opts);
  const rows: Row[] = names.map((name) => ({
    name,
    skipped: null,
    rounds: [],
    cpuUsPerReq: [],
    serverShare: [],
    othersShare: [],
    stealShare: [],
    peakRssKiB: NaN,
    failed: null,
  }));
  const luaFile = sc.lua ? `${tmp}/${sc.name}.lua` : undefined;
  if (luaFile) await Deno.writeTextFile(luaFile, sc.lua!);

  log(`\n[${sc.name}] starting ${names.join(", ")}`);
  const procs = new Map<string, ServerProcess>();
  try {
    const started = await Promise.all(names.map((name) => {
      const spec = SERVERS[name];
      const args = [...spec.args, `--scenario=${sc.name}`, "--port=0"];
      if (sc.tls) args.push(`--tls-cert=${tls.cert}`, `--tls-key=${tls.key}`);
      return startServer({ script: spec.script, args, prefix: pin.server });
    }));
    started.forEach((r, i) => {
      if (r.ok) procs.set(names[i], r.server);
      else {
        rows[i].skipped = r.reason;
        log(`[${sc.name}] ${names[i]} skipped: ${r.reason}`);
      }
    });
    const live = rows.filter((r) => procs.has(r.name));
    const load = (p: ServerProcess, seconds: number) =>
      runLoad({
        tool: sc.tool,
        port: p.port,
        path: sc.path,
        tls: sc.tls,
        luaFile,
        headers: sc.headers,
        seconds,
        prefix: pin.load,
        tmpDir: tmp,
      });

    if (opts.warmup > 0) {
      for (const row of live) {
        try {
          await load(procs.get(row.name)!, opts.warmup);
        } catch (e) {
          row.failed = `warm-up: ${(e as Error).message}`;
        }
      }
      await sleep(SETTLE_MS);
    }
    for (let round = 1; round <= opts.rounds; round++) {
      // Serpentine order (A B C, C B A, …): no server always runs last, the
      // furthest in time from raw's pass of the same round.
      for (const row of round % 2 === 1 ? live : [...live].reverse()) {
        if (row.failed) continue;
        const p = procs.get(row.name)!;
        try {
          const at = {
            pid: p.pid,
            pinned: pin.server.length > 0,
            seconds: opts.duration,
            hz,
          };
          const pass = () => load(p, opts.duration);
          let m = await measure(pass, at);
          for (
            let retry = 1;
            retry <= opts.retries && m.others > DISTURBED;
            retry++
          ) {
            log(
              `[${sc.name}] round ${round} ${row.name}: other processes took ${
                (m.others * 100).toFixed(0)
              }% of core 0; measuring again (${retry}/${opts.retries})`,
            );
            m = await measure(pass, at);
          }
          const i = round - 1;
          row.rounds[i] = m.res;
          row.cpuUsPerReq[i] = m.cpu;
          row.serverShare[i] = m.server;
          row.othersShare[i] = m.others;
          row.stealShare[i] = m.steal;
          log(
            `[${sc.name}] round ${round}/${opts.rounds} ${row.name}: ${
              m.res.rps.toFixed(0)
            } req/s, p99 ${m.res.p99Ms.toFixed(2)} ms, ${
              m.cpu.toFixed(1)
            } µs CPU/req, core 0 ${(m.server * 100).toFixed(0)}% server, ${
              (m.others * 100).toFixed(0)
            }% others${m.res.non2xx ? `, ${m.res.non2xx} non-2xx` : ""}${
              m.res.errors ? `, ${m.res.errors} errors` : ""
            }`,
          );
        } catch (e) {
          row.failed = (e as Error).message +
            (p.stderrTail()
              ? ` (server stderr: ${p.stderrTail().slice(-300)})`
              : "");
          log(`[${sc.name}] ${row.name} failed: ${row.failed}`);
        }
      }
    }
    for (const row of live) {
      try {
        row.peakRssKiB = (await memory(procs.get(row.name)!.pid)).hwmKiB;
      } catch { /* process gone */ }
    }
  } finally {
    await Promise.all([...procs.values()].map((p) => p.stop()));
  }
  return rows;
}

/** The commit under test, with `-dirty` when tracked files have changes. */
async function commitOf(): Promise<string> {
  try {
    const head = await runTool(["git", "-C", ROOT, "rev-parse", "HEAD"], 5_000);
    if (head.code !== 0) return "unknown (not a git checkout)";
    const dirty = await runTool(
      ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
      5_000,
    );
    return head.stdout.trim().slice(0, 12) +
      (dirty.stdout.trim() ? "-dirty" : "");
  } catch {
    return "unknown (git missing)";
  }
}

function runReport(results: ScenarioResult[], opts: Options): string {
  const caption =
    `${opts.rounds} interleaved rounds × ${opts.duration} s after ${opts.warmup} s warm-up`;
  const budgets = budgetTable(results);
  return [
    "### Server CPU per request, ratio to raw Deno.serve (median of per-round ratios)",
    "",
    "Lower is better. The raw row is raw's own CPU µs/req.",
    "",
    summaryMatrix(results),
    ...(budgets
      ? ["", "### Budgets (DESIGN.md, hello and param)", "", budgets]
      : []),
    "",
    results.map(([sc, rows]) => scenarioTable(sc, rows, caption)).join("\n\n"),
  ].join("\n");
}

async function main(): Promise<void> {
  const opts = parseOptions(Deno.args);
  killChildrenOnSignal();
  const hasWrk = await commandExists("wrk");
  const hasH2load = await commandExists("h2load");
  const missing: string[] = [];
  if (!hasWrk) missing.push("wrk (sudo apt-get install wrk)");
  if (!hasH2load) {
    missing.push("h2load (sudo apt-get install nghttp2-client)");
  }
  if (missing.length) log(`missing load tools: ${missing.join("; ")}`);
  const scenarios = SCENARIOS.filter((s) => opts.scenarios.includes(s.name))
    .filter((s) => {
      const ok = s.tool === "wrk" ? hasWrk : hasH2load;
      if (!ok) log(`[${s.name}] skipped: ${s.tool} is missing`);
      return ok;
    });
  if (scenarios.length === 0) {
    log(
      "Nothing to run. Install the load generators: sudo apt-get install wrk nghttp2-client",
    );
    Deno.exit(1);
  }

  const pin = await pinning();
  const hz = await clockTicks();
  const machine = await machineInfo();
  const perServer = opts.warmup + opts.rounds * (opts.duration + 0.5);
  const estimate = opts.runs * scenarios.reduce(
    (t, s) => t + 3 + serversOf(s, opts).length * perServer,
    0,
  );
  log(
    `${pin.note}; CLK_TCK ${hz}; ${scenarios.length} scenarios × ${opts.runs} run(s); about ${
      Math.ceil(estimate / 60)
    } min`,
  );
  const commit = await commitOf(); // before the run: HEAD may move during it
  const tmp = await Deno.makeTempDir({ prefix: "palisade_load_" });
  const started = Date.now();
  const runs: ScenarioResult[][] = [];
  try {
    const tls = await tlsFiles(tmp);
    for (let run = 1; run <= opts.runs; run++) {
      if (opts.runs > 1) log(`\n=== run ${run} of ${opts.runs}`);
      const results: ScenarioResult[] = [];
      for (const sc of scenarios) {
        const rows = await runScenario(sc, opts, pin, hz, tmp, tls);
        results.push([infoOf(sc), rows]);
      }
      runs.push(results);
    }
  } finally {
    await killAll();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  const elapsed = (Date.now() - started) / 1000;
  const loadEnd = Deno.loadavg().map((n) => n.toFixed(2)).join(" ");

  const args = Deno.args.filter((a) => a !== "--");
  const command = `deno task load${args.length ? ` -- ${args.join(" ")}` : ""}`;
  const warnings = opts.rounds < 3
    ? [
      "",
      `Warning: ${opts.rounds} round(s) per server; the issue asks for the median of at least 3.`,
    ]
    : [];
  const body = [
    `- Commit: ${commit}`,
    `- Preset: ${opts.preset}; command: \`${command}\` (${
      (elapsed / 60).toFixed(1)
    } min)`,
    `- Pinning: ${pin.note}`,
    `- Load average (1, 5, 15 min) at start: ${machine.loadavg}; at end: ${loadEnd}`,
    ...warnings,
    "",
    ...runs.flatMap((results, i) => [
      opts.runs > 1 ? `## Run ${i + 1} of ${opts.runs}` : "## Results",
      "",
      runReport(results, opts),
      "",
    ]),
    ...(runs.length > 1
      ? [
        "## Stability: CPU per request ×raw, run by run",
        "",
        stabilityMatrix(runs),
        "",
      ]
      : []),
  ].join("\n");
  console.log(body);

  const report = [
    "# Load benchmark results",
    "",
    "Written by `bench/load.ts`. Numbers compare servers within this run only;",
    "CPU µs/req is the server process's utime+stime (all threads, from",
    "/proc/<pid>/stat) over a round divided by the requests served in it, the",
    "steadiest measure on a shared machine. Ratios of CPU are medians over",
    "rounds of the per-round ratio to raw `Deno.serve` (param: to",
    '`() => new Response("ok")`), which ran next to it in the same round.',
    "",
    "## Machine",
    "",
    `- Date: ${new Date().toISOString()}`,
    `- CPU: ${machine.cpu}, ${machine.cores} cores; memory ${machine.memory}`,
    `- Kernel: ${machine.kernel}`,
    `- Deno: ${machine.deno}`,
    `- wrk: ${machine.wrk}; h2load: ${machine.h2load}`,
    body,
  ].join("\n");
  if (opts.out) {
    await Deno.writeTextFile(opts.out, report);
    log(`\nwrote ${opts.out} (${(elapsed / 60).toFixed(1)} min)`);
  } else {
    log(
      `\ndone in ${
        (elapsed / 60).toFixed(1)
      } min; not the full preset, bench/RESULTS.md not written (pass --out=FILE to save)`,
    );
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    log(`load harness failed: ${(e as Error).stack ?? e}`);
    await killAll();
    Deno.exit(1);
  }
}
