/**
 * Process helpers for the load harness: starting server programs pinned to a
 * core, reading their CPU time and memory from `/proc`, running the load
 * tools with a time bound, and killing everything on exit.
 *
 * Linux only (`/proc`), like the harness.
 *
 * @module
 */

/** Repository root, the working directory of every server process. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** Every child still running; killed by {@linkcode killAll}. */
const LIVE = new Set<Deno.ChildProcess>();

/**
 * Writes a progress line to stderr (stdout is kept for the result table).
 *
 * @example Usage
 * ```ts
 * import { log } from "./_proc.ts";
 * log("warming up");
 * ```
 */
export function log(message: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(message + "\n"));
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @example Usage
 * ```ts
 * import { sleep } from "./_proc.ts";
 * await sleep(10);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Output of a finished tool run. */
export interface ToolResult {
  /** Exit code; -1 when the run was killed at its time bound. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd` to completion, killing it after `timeoutMs`.
 *
 * @example Usage
 * ```ts
 * import { runTool } from "./_proc.ts";
 * const { stdout } = await runTool(["wrk", "--version"], 5_000);
 * ```
 */
export async function runTool(
  cmd: string[],
  timeoutMs: number,
): Promise<ToolResult> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  LIVE.add(child);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: killed ? -1 : out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
    LIVE.delete(child);
  }
}

/**
 * Whether `name` is an executable on `PATH`.
 *
 * @example Usage
 * ```ts
 * import { commandExists } from "./_proc.ts";
 * if (!(await commandExists("wrk"))) console.log("apt-get install wrk");
 * ```
 */
export async function commandExists(name: string): Promise<boolean> {
  try {
    const r = await runTool(["sh", "-c", `command -v ${name}`], 5_000);
    return r.code === 0 && r.stdout.trim() !== "";
  } catch {
    return false;
  }
}

/**
 * Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`).
 *
 * @example Usage
 * ```ts
 * import { clockTicks } from "./_proc.ts";
 * const hz = await clockTicks(); // usually 100
 * ```
 */
export async function clockTicks(): Promise<number> {
  try {
    const r = await runTool(["getconf", "CLK_TCK"], 5_000);
    const n = Number(r.stdout.trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch { /* fall through */ }
  return 100;
}

/**
 * Reads a `/proc` file. Deno only lets a program read `/proc` directly with
 * `--allow-all`, so this runs `cat` (needs `--allow-run`).
 *
 * @throws {Error} when the file cannot be read (e.g. the process is gone).
 *
 * @example Usage
 * ```ts
 * import { readProc } from "./_proc.ts";
 * const stat = await readProc(`/proc/${Deno.pid}/stat`);
 * ```
 */
export async function readProc(path: string): Promise<string> {
  const r = await runTool(["cat", path], 5_000);
  if (r.code !== 0) {
    throw new Error(`Cannot read ${path}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/**
 * User plus system CPU time of the whole process (all threads), in clock
 * ticks, from `/proc/<pid>/stat`.
 *
 * @example Usage
 * ```ts
 * import { cpuTicks } from "./_proc.ts";
 * await cpuTicks(Deno.pid);
 * ```
 */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readProc(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name; utime and stime are fields
  // 14 and 15 of the whole line, so 11 and 12 after ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]);
}

/** Memory of a process in KiB. */
export interface MemInfo {
  /** Current resident set size (`VmRSS`). */
  rssKiB: number;
  /** Peak resident set size (`VmHWM`). */
  hwmKiB: number;
}

/**
 * Reads `VmRSS` and `VmHWM` from `/proc/<pid>/status`.
 *
 * @example Usage
 * ```ts
 * import { memory } from "./_proc.ts";
 * (await memory(Deno.pid)).rssKiB;
 * ```
 */
export async function memory(pid: number): Promise<MemInfo> {
  const status = await readProc(`/proc/${pid}/status`);
  const field = (name: string): number => {
    const m = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : 0;
  };
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

/** How servers and load generators are pinned to cores. */
export interface Pinning {
  /** Command prefix for server processes, e.g. `["taskset", "-c", "0"]`. */
  server: string[];
  /** Command prefix for the load generator. */
  load: string[];
  /** Human-readable description for the report. */
  note: string;
}

/**
 * Decides core pinning: server on core 0, load generator on core 1, when
 * `taskset` exists and there are at least two cores; otherwise no pinning
 * and a note saying why.
 *
 * @example Usage
 * ```ts
 * import { pinning } from "./_proc.ts";
 * const pin = await pinning();
 * ```
 */
export async function pinning(): Promise<Pinning> {
  const cores = navigator.hardwareConcurrency;
  if (!(await commandExists("taskset"))) {
    return {
      server: [],
      load: [],
      note: "not pinned: taskset is missing (apt-get install util-linux)",
    };
  }
  if (cores < 2) {
    return { server: [], load: [], note: "not pinned: only one core" };
  }
  return {
    server: ["taskset", "-c", "0"],
    load: ["taskset", "-c", "1"],
    note: "server pinned to core 0, load generator to core 1 (taskset)",
  };
}

/** A running server program. */
export interface ServerProcess {
  /** Process id (taskset and prlimit exec, so this is the deno process). */
  pid: number;
  /** Port it listens on at 127.0.0.1. */
  port: number;
  /** Stops the process: SIGTERM, then SIGKILL after 3 s. */
  stop(): Promise<void>;
  /** Last lines of its stderr, for error reports. */
  stderrTail(): string;
}

/** Options of {@linkcode startServer}. */
export interface StartOptions {
  /** Server program path relative to the repository root. */
  script: string;
  /** Extra flags for the program. */
  args?: string[];
  /** Command prefix, e.g. the server pinning. */
  prefix?: string[];
  /** Raise the process's open-file limit to this (via prlimit). */
  nofile?: number;
  /** How long to wait for `READY`; default 60 s. */
  timeoutMs?: number;
}

/** The result of {@linkcode startServer}. */
export type StartResult =
  | { ok: true; server: ServerProcess }
  | { ok: false; reason: string };

async function stopChild(child: Deno.ChildProcess): Promise<void> {
  if (!LIVE.has(child)) return;
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  const exited = await Promise.race([
    child.status.then(() => true),
    sleep(3_000).then(() => false),
  ]);
  if (!exited) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }
  LIVE.delete(child);
}

/**
 * Starts a server program with the deno running this script and waits for
 * its `READY <port>` line. Resolves `{ ok: false }` when it prints
 * `UNAVAILABLE <reason>`, exits early or times out.
 *
 * @example Usage
 * ```ts
 * import { startServer } from "./_proc.ts";
 * const r = await startServer({ script: "bench/servers/raw.ts" });
 * if (r.ok) await r.server.stop();
 * ```
 */
export async function startServer(opts: StartOptions): Promise<StartResult> {
  const limit = opts.nofile !== undefined && await commandExists("prlimit")
    ? ["prlimit", `--nofile=${opts.nofile}:${opts.nofile}`]
    : [];
  const cmd = [
    ...limit,
    ...(opts.prefix ?? []),
    Deno.execPath(),
    "run",
    "-A",
    opts.script,
    ...(opts.args ?? []),
  ];
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  LIVE.add(child);

  let tail = "";
  const stderrDone = (async () => {
    for await (
      const text of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      tail = (tail + text).slice(-4000);
    }
  })().catch(() => {});

  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  const reader = lines.getReader();
  let buffered = "";
  const readLine = async (): Promise<string | null> => {
    while (true) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return null;
      buffered += value;
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), opts.timeoutMs ?? 60_000);
  });
  let outcome: { port: number } | { reason: string };
  try {
    outcome = await Promise.race([
      (async () => {
        while (true) {
          const line = await readLine();
          if (line === null) {
            const st = await child.status;
            await Promise.race([stderrDone, sleep(1_000)]);
            const lines = tail.trim().split("\n");
            const err = lines.find((l) => /error/i.test(l)) ??
              lines.slice(-3).join(" ");
            return {
              reason:
                `exited with code ${st.code} before it was ready: ${err.trim()}`,
            };
          }
          const ready = line.match(/^READY (\d+)/);
          if (ready) return { port: Number(ready[1]) };
          const un = line.match(/^UNAVAILABLE (.*)/);
          if (un) return { reason: un[1] };
        }
      })(),
      timeout.then(() => ({ reason: "timed out waiting for READY" })),
    ]);
  } finally {
    clearTimeout(timer);
  }

  if ("reason" in outcome) {
    await stopChild(child);
    reader.releaseLock();
    return { ok: false, reason: outcome.reason };
  }
  // Keep draining stdout so a chatty server never blocks on a full pipe.
  (async () => {
    while ((await reader.read()).done === false) { /* discard */ }
  })().catch(() => {});
  return {
    ok: true,
    server: {
      pid: child.pid,
      port: outcome.port,
      stop: () => stopChild(child),
      stderrTail: () => tail,
    },
  };
}

/**
 * Kills every child process still running (servers and tools).
 *
 * @example Usage
 * ```ts
 * import { killAll } from "./_proc.ts";
 * await killAll();
 * ```
 */
export async function killAll(): Promise<void> {
  await Promise.all([...LIVE].map((c) => stopChild(c)));
}

/**
 * Kills every child on SIGINT/SIGTERM before exiting with code 130.
 *
 * @example Usage
 * ```ts
 * import { killChildrenOnSignal } from "./_proc.ts";
 * killChildrenOnSignal();
 * ```
 */
export function killChildrenOnSignal(): void {
  const handler = (signal: Deno.Signal) => {
    log(`interrupted by ${signal}: stopping servers`);
    for (const c of LIVE) {
      try {
        c.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", () => handler("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => handler("SIGTERM"));
}

/**
 * Raises this process's open-file limit to `n` with `prlimit`, if allowed.
 * Returns the soft limit in force afterwards.
 *
 * @example Usage
 * ```ts
 * import { raiseOwnFdLimit } from "./_proc.ts";
 * const limit = await raiseOwnFdLimit(20_000);
 * ```
 */
export async function raiseOwnFdLimit(n: number): Promise<number> {
  if (await commandExists("prlimit")) {
    await runTool([
      "prlimit",
      `--pid=${Deno.pid}`,
      `--nofile=${n}:${n}`,
    ], 5_000).catch(() => {});
  }
  const limits = await readProc(`/proc/${Deno.pid}/limits`);
  const m = limits.match(/^Max open files\s+(\d+|unlimited)/m);
  return m ? (m[1] === "unlimited" ? Infinity : Number(m[1])) : 0;
}

/** A description of the machine and tools, for the report. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memory: string;
  kernel: string;
  deno: string;
  wrk: string;
  h2load: string;
  loadavg: string;
}

/**
 * Describes this machine and the load tools.
 *
 * @example Usage
 * ```ts
 * import { machineInfo } from "./_proc.ts";
 * console.log((await machineInfo()).cpu);
 * ```
 */
export async function machineInfo(): Promise<MachineInfo> {
  let cpu = "unknown";
  try {
    const info = await readProc("/proc/cpuinfo");
    cpu = info.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  const version = async (cmd: string[]): Promise<string> => {
    try {
      const r = await runTool(cmd, 5_000);
      return (r.stdout + r.stderr).trim().split("\n")[0].trim() || "unknown";
    } catch {
      return "missing";
    }
  };
  const mem = Deno.systemMemoryInfo();
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memory: `${(mem.total / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`,
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    wrk: (await version(["wrk", "--version"])).replace(/\s+Copyright.*/, ""),
    h2load: await version(["h2load", "--version"]),
    loadavg: Deno.loadavg().map((n) => n.toFixed(2)).join(" "),
  };
}
