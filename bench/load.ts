/**
 * Side-by-side load harness: raw `Deno.serve`, Palisade (deno and h1
 * transports) and Hono 4, each as its own process pinned to core 0 while wrk
 * or h2load runs pinned to core 1. Rounds are interleaved (A B C A B C …) so
 * drift on a shared machine hits every server alike. Reports per server the
 * median req/s (min–max), p99 latency, server CPU time per request (from
 * `/proc/<pid>/stat`), peak RSS (`VmHWM`), non-2xx and errors, each also as a
 * ratio to raw `Deno.serve` in the same run.
 *
 * Traffic only ever goes to 127.0.0.1. Not a test: nothing here asserts a
 * timing.
 *
 * Usage:
 *   deno task load                       full run, writes bench/RESULTS.md
 *   deno task load -- --quick            ~1.5 min: hello, param, json, hardened
 *   deno task load -- --scenarios=hello,param --servers=raw,hono
 *   deno task load -- --rounds=7 --duration=3 --warmup=1 --out=/tmp/r.md
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
  memory,
  type Pinning,
  pinning,
  ROOT,
  type ServerProcess,
  startServer,
} from "./_proc.ts";
import {
  describeLoad,
  jsonPayload,
  type LoadResult,
  postLua,
  runLoad,
} from "./_load_tools.ts";
import { HTTP1_SERVERS, serverList, SERVERS } from "./_servers.ts";

/** A load scenario. */
interface Scenario {
  name: string;
  /** One-line description for the report. */
  title: string;
  tool: "wrk" | "h2load";
  path: string;
  tls?: boolean;
  headers?: string[];
  /** wrk Lua script text. */
  lua?: string;
  /** Which servers run it (by spec name). */
  servers: string[];
  /** Servers deliberately left out, with the reason. */
  notes?: string[];
}

const HTTP1 = [...HTTP1_SERVERS];
const HTTP2 = HTTP1.filter((n) => SERVERS[n].h2);
const H2_NOTE = "palisade-h1 left out: the h1 engine speaks HTTP/1.1 only";

const SCENARIOS: Scenario[] = [
  {
    name: "hello",
    title: "GET / → 200 `ok`",
    tool: "wrk",
    path: "/",
    // The -noid rows show what echoing x-request-id costs on each transport.
    servers: [...HTTP1, "palisade-deno-noid", "palisade-h1-noid"],
  },
  {
    name: "param",
    title: "GET /users/12345 on the 100-route table → JSON `{id}`",
    tool: "wrk",
    path: "/users/12345",
    servers: HTTP1,
  },
  {
    name: "json",
    title: "POST /json with a 1 KiB JSON body, echoed after parsing",
    tool: "wrk",
    path: "/json",
    lua: postLua(jsonPayload()),
    servers: HTTP1,
  },
  {
    name: "stream",
    title: "GET /stream → 1 MiB chunked response (16 × 64 KiB)",
    tool: "wrk",
    path: "/stream",
    servers: HTTP1,
  },
  {
    name: "close",
    title: "GET / with `Connection: close` (a new connection per request)",
    tool: "wrk",
    path: "/",
    headers: ["Connection: close"],
    servers: HTTP1,
  },
  {
    name: "h2",
    title: "GET / over HTTP/2 with TLS (ALPN h2), h2load",
    tool: "h2load",
    path: "/",
    tls: true,
    servers: HTTP2,
    notes: [H2_NOTE],
  },
  {
    name: "h2c",
    title: "GET / over cleartext HTTP/2 with prior knowledge, h2load",
    tool: "h2load",
    path: "/",
    servers: HTTP2,
    notes: [H2_NOTE],
  },
  {
    name: "hardened",
    title:
      "GET / on Palisade with every default limit, deadlineMs 30000, request ids and metrics on, vs raw",
    tool: "wrk",
    path: "/",
    servers: ["raw", "palisade-deno+hardened", "palisade-h1+hardened"],
  },
];

const QUICK_SCENARIOS = ["hello", "param", "json", "hardened"];

/** Parsed command-line options. */
interface Options {
  quick: boolean;
  scenarios: string[];
  servers: string[] | null;
  rounds: number;
  duration: number;
  warmup: number;
  out: string | null;
  /** True when nothing was filtered or shortened: a reportable full run. */
  full: boolean;
}

function parseOptions(args: string[]): Options {
  const get = (name: string): string | undefined =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const known = [
    "quick",
    "scenarios",
    "servers",
    "rounds",
    "duration",
    "warmup",
    "out",
    "help",
  ];
  for (const a of args) {
    const name = a.replace(/^--/, "").replace(/=.*/, "");
    if (!known.includes(name)) {
      throw new Error(`Unknown flag ${a}; flags: --${known.join(", --")}`);
    }
  }
  if (args.includes("--help")) {
    console.log(
      "deno task load [-- --quick] [--scenarios=a,b] [--servers=x,y] [--rounds=N] [--duration=S] [--warmup=S] [--out=FILE]",
    );
    console.log(`scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`);
    console.log(`servers: ${Object.keys(SERVERS).join(", ")}`);
    Deno.exit(0);
  }
  const quick = args.includes("--quick");
  const scenarios = get("scenarios")?.split(",") ??
    (quick ? QUICK_SCENARIOS : SCENARIOS.map((s) => s.name));
  for (const s of scenarios) {
    if (!SCENARIOS.some((x) => x.name === s)) {
      throw new Error(`Unknown scenario "${s}"`);
    }
  }
  const servers = get("servers") === undefined
    ? null
    : serverList(get("servers"), []);
  const rounds = Number(get("rounds") ?? 5);
  const duration = Number(get("duration") ?? (quick ? 1 : 4));
  const warmup = Number(get("warmup") ?? (quick ? 1 : 2));
  if (
    !Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(duration) ||
    duration < 1 || !Number.isInteger(warmup) || warmup < 0
  ) {
    throw new Error(
      "--rounds and --duration must be positive integers, --warmup a whole number of seconds",
    );
  }
  const full = !quick && args.every((a) => a.startsWith("--out="));
  return {
    quick,
    scenarios,
    servers,
    rounds,
    duration,
    warmup,
    out: get("out") ?? (full ? `${ROOT}bench/RESULTS.md` : null),
    full,
  };
}

/** Everything measured for one server in one scenario. */
interface Row {
  name: string;
  skipped: string | null;
  rounds: LoadResult[];
  cpuUsPerReq: number[];
  peakRssKiB: number;
  failed: string | null;
}

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function tlsFiles(tmp: string): Promise<{ cert: string; key: string }> {
  const cert = `${ROOT}tests/fixtures/server_cert.pem`;
  const key = `${ROOT}tests/fixtures/server_key.pem`;
  try {
    await Deno.stat(cert);
    await Deno.stat(key);
    return { cert, key };
  } catch {
    log("tests/fixtures certs missing: generating a throwaway cert");
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${tmp}/key.pem`,
        "-out",
        `${tmp}/cert.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error("openssl failed to make a test cert");
    return { cert: `${tmp}/cert.pem`, key: `${tmp}/key.pem` };
  }
}

async function runScenario(
  sc: Scenario,
  opts: Options,
  pin: Pinning,
  hz: number,
  tmp: string,
  tls: { cert: string; key: string },
): Promise<Row[]> {
  const names = sc.servers.filter((n) =>
    n === "raw" || opts.servers === null ||
    opts.servers.some((f) => n === f || n.startsWith(`${f}+`))
  );
  const rows: Row[] = names.map((name) => ({
    name,
    skipped: null,
    rounds: [],
    cpuUsPerReq: [],
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
    }
    for (let round = 1; round <= opts.rounds; round++) {
      for (const row of live) {
        if (row.failed) continue;
        const p = procs.get(row.name)!;
        try {
          const before = await cpuTicks(p.pid);
          const res = await load(p, opts.duration);
          const after = await cpuTicks(p.pid);
          const cpu = res.requests > 0
            ? (after - before) * 1e6 / hz / res.requests
            : NaN;
          row.rounds.push(res);
          row.cpuUsPerReq.push(cpu);
          log(
            `[${sc.name}] round ${round}/${opts.rounds} ${row.name}: ${
              res.rps.toFixed(0)
            } req/s, p99 ${res.p99Ms.toFixed(2)} ms, ${
              cpu.toFixed(1)
            } µs CPU/req${res.non2xx ? `, ${res.non2xx} non-2xx` : ""}${
              res.errors ? `, ${res.errors} errors` : ""
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

function fmtRatio(x: number, base: number): string {
  if (!Number.isFinite(x) || !Number.isFinite(base) || base === 0) return "–";
  return `${(x / base).toFixed(2)}×`;
}

/** Makes `text` safe for one markdown table cell. */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").replaceAll("|", "/").slice(0, 200);
}

function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

interface Summary {
  name: string;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p99: number;
  cpu: number;
  rssMiB: number;
  non2xx: number;
  errors: number;
}

function summarize(row: Row): Summary {
  const rps = row.rounds.map((r) => r.rps);
  return {
    name: row.name,
    rps: median(rps),
    rpsMin: rps.length ? Math.min(...rps) : NaN,
    rpsMax: rps.length ? Math.max(...rps) : NaN,
    p99: median(row.rounds.map((r) => r.p99Ms)),
    cpu: median(row.cpuUsPerReq),
    rssMiB: row.peakRssKiB / 1024,
    non2xx: row.rounds.reduce((a, r) => a + r.non2xx, 0),
    errors: row.rounds.reduce((a, r) => a + r.errors, 0),
  };
}

function scenarioTable(sc: Scenario, rows: Row[], opts: Options): string {
  const lines = [
    `### ${sc.name}: ${sc.title}`,
    "",
    `${
      describeLoad(sc.tool)
    }; ${opts.rounds} interleaved rounds × ${opts.duration} s after ${opts.warmup} s warm-up.`,
    "",
    "| server | req/s median (min–max) | ×raw | p99 ms | ×raw | CPU µs/req | ×raw | peak RSS MiB | ×raw | non-2xx | errors |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const base = rows.find((r) => r.name === "raw");
  const b = base && !base.skipped && !base.failed ? summarize(base) : null;
  for (const row of rows) {
    if (row.skipped) {
      lines.push(`| ${row.name} | skipped: ${cell(row.skipped)} ||||||||||`);
      continue;
    }
    if (row.failed && row.rounds.length === 0) {
      lines.push(`| ${row.name} | failed: ${cell(row.failed)} ||||||||||`);
      continue;
    }
    const s = summarize(row);
    lines.push(
      `| ${s.name}${row.failed ? " (failed part-way)" : ""} | ${
        fmt(s.rps, 0)
      } (${fmt(s.rpsMin, 0)}–${fmt(s.rpsMax, 0)}) | ${
        fmtRatio(s.rps, b?.rps ?? NaN)
      } | ${fmt(s.p99, 2)} | ${fmtRatio(s.p99, b?.p99 ?? NaN)} | ${
        fmt(s.cpu, 1)
      } | ${fmtRatio(s.cpu, b?.cpu ?? NaN)} | ${fmt(s.rssMiB, 1)} | ${
        fmtRatio(s.rssMiB, b?.rssMiB ?? NaN)
      } | ${s.non2xx} | ${s.errors} |`,
    );
  }
  for (const note of sc.notes ?? []) lines.push("", `Note: ${note}.`);
  return lines.join("\n");
}

function summaryMatrix(results: [Scenario, Row[]][]): string {
  const names = [
    ...new Set(results.flatMap(([, rows]) => rows.map((r) => r.name))),
  ]
    .filter((n) => n !== "raw");
  const head = `| server | ${results.map(([s]) => s.name).join(" | ")} |`;
  const sep = `| --- | ${results.map(() => "---").join(" | ")} |`;
  const lines = [head, sep];
  for (const name of names) {
    const cells = results.map(([, rows]) => {
      const row = rows.find((r) => r.name === name);
      const base = rows.find((r) => r.name === "raw");
      if (!row) return "";
      if (row.skipped) return "skipped";
      if (row.rounds.length === 0) return "failed";
      if (!base || base.rounds.length === 0) return "–";
      const s = summarize(row);
      const b = summarize(base);
      return `${fmtRatio(s.cpu, b.cpu)} / ${fmtRatio(s.rps, b.rps)}`;
    });
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
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
  const perServer = opts.warmup + opts.rounds * (opts.duration + 0.1);
  const estimate = scenarios.reduce(
    (t, s) => t + 2 + s.servers.length * perServer,
    0,
  );
  log(
    `${pin.note}; CLK_TCK ${hz}; ${scenarios.length} scenarios; about ${
      Math.ceil(estimate / 60)
    } min`,
  );
  const tmp = await Deno.makeTempDir({ prefix: "palisade_load_" });
  const started = Date.now();
  const results: [Scenario, Row[]][] = [];
  try {
    const tls = await tlsFiles(tmp);
    for (const sc of scenarios) {
      results.push([sc, await runScenario(sc, opts, pin, hz, tmp, tls)]);
    }
  } finally {
    await killAll();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  const elapsed = (Date.now() - started) / 1000;

  const command = `deno task load${
    Deno.args.length ? ` -- ${Deno.args.join(" ")}` : ""
  }`;
  const body = [
    "## Summary: server CPU per request / req/s, as ratios to raw Deno.serve",
    "",
    "Lower CPU ratio is better, higher req/s ratio is better.",
    "",
    summaryMatrix(results),
    "",
    "## Scenarios",
    "",
    results.map(([sc, rows]) => scenarioTable(sc, rows, opts)).join("\n\n"),
  ].join("\n");
  console.log(body);

  const report = [
    "# Load benchmark results",
    "",
    "Written by `bench/load.ts`. Numbers compare servers within this run only;",
    "CPU µs/req is the server process's utime+stime (all threads, from",
    "/proc/<pid>/stat) over a round divided by the requests served in it, the",
    "steadiest measure on a shared machine. Medians over rounds; ratios are to",
    "raw `Deno.serve` in the same scenario.",
    "",
    "## Machine",
    "",
    `- Date: ${new Date().toISOString()}`,
    `- CPU: ${machine.cpu}, ${machine.cores} cores; memory ${machine.memory}`,
    `- Kernel: ${machine.kernel}`,
    `- Deno: ${machine.deno}`,
    `- wrk: ${machine.wrk}; h2load: ${machine.h2load}`,
    `- Pinning: ${pin.note}`,
    `- Load average at start: ${machine.loadavg}`,
    `- Command: \`${command}\` (${(elapsed / 60).toFixed(1)} min)`,
    "",
    body,
    "",
  ].join("\n");
  if (opts.out) {
    await Deno.writeTextFile(opts.out, report);
    log(`\nwrote ${opts.out} (${(elapsed / 60).toFixed(1)} min)`);
  } else {
    log(
      `\ndone in ${
        (elapsed / 60).toFixed(1)
      } min; partial run, bench/RESULTS.md not written (pass --out=FILE to save)`,
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
