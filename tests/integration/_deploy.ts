/**
 * Helpers for the deployment tests: read the artifacts in `deploy/` (the
 * systemd unit, the Dockerfile) the way systemd and Docker do, and run the
 * command lines they contain as child processes.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The repository root (where `deploy/` lives), as a path. */
export const ROOT: string = decodeURIComponent(
  new URL("../../", import.meta.url).pathname,
).replace(/\/$/, "");

/** Path of a file under the repository root. */
export function repoPath(relative: string): string {
  return `${ROOT}/${relative}`;
}

/** Whether `name` is an executable file on `PATH` (or an absolute path). */
export function hasBinary(name: string): boolean {
  const dirs = name.includes("/")
    ? [""]
    : (Deno.env.get("PATH") ?? "").split(":");
  for (const dir of dirs) {
    try {
      const info = Deno.statSync(dir === "" ? name : `${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Splits a command line into words the way systemd (and a POSIX shell,
 * for this subset) does: whitespace separates, '…' and "…" quote, a
 * backslash escapes the next character. Variable expansion (`$`) and
 * systemd specifiers (`%`) are refused rather than misread.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === null && (c === "$" || c === "%")) {
      throw new Error(`Unsupported ${c} in command line: ${line}`);
    }
    if (c === "\\" && quote !== "'") {
      word = (word ?? "") + (line[++i] ?? "");
    } else if (quote !== null) {
      if (c === quote) quote = null;
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (quote !== null) throw new Error(`Unterminated quote in: ${line}`);
  if (word !== null) words.push(word);
  return words;
}

/** A systemd unit file: each section's settings in order, repeats kept. */
export type Unit = Map<string, [string, string][]>;

/** Reads a unit file: comments dropped, `\` continuation lines joined. */
export function readUnit(path: string): Unit {
  const unit: Unit = new Map();
  let section = "";
  const lines = Deno.readTextFileSync(path).split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = line.slice(0, -1) + " " + lines[++i].trim();
    }
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = line.match(/^\[(.+)\]$/);
    if (header) {
      section = header[1];
      unit.set(section, unit.get(section) ?? []);
      continue;
    }
    const eq = line.indexOf("=");
    assert.ok(eq > 0, `Not a setting: ${line}`);
    unit.get(section)!.push([line.slice(0, eq).trim(), line.slice(eq + 1)]);
  }
  return unit;
}

/** The last value of `key` in `section` (systemd: the last one wins). */
export function unitValue(
  unit: Unit,
  section: string,
  key: string,
): string | undefined {
  const entries = unit.get(section)?.filter(([k]) => k === key) ?? [];
  return entries.at(-1)?.[1];
}

/** Every `Environment=` assignment of the `[Service]` section. */
export function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of unit.get("Service") ?? []) {
    if (key !== "Environment") continue;
    for (const word of splitWords(value)) {
      const eq = word.indexOf("=");
      assert.ok(eq > 0, `Not an assignment: ${word}`);
      env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/** Path of the systemd unit the tests read. */
export const UNIT_PATH: string = repoPath("deploy/palisade.service");

/** `ExecStart` of a unit, split as systemd splits it. */
export function unitExecStart(unit: Unit): string[] {
  const line = unitValue(unit, "Service", "ExecStart");
  assert.ok(line !== undefined, "the unit has an ExecStart");
  return splitWords(line);
}

/**
 * The unit's command line and environment, ready to run here: the
 * installed deno (`/usr/local/bin/deno`) becomes this process's deno, the
 * listen address moves to a free loopback port (permission scope and
 * `PORT` alike), and `DENO_DIR` is a new temp dir (remove it after). Run it
 * in the repository root, which stands for the unit's `WorkingDirectory`.
 */
export function unitCommand(unit: Unit): {
  argv: string[];
  env: Record<string, string>;
  port: number;
} {
  const argv = unitExecStart(unit);
  const port = freePort();
  return {
    argv: [Deno.execPath(), ...rescope(argv.slice(1), port)],
    env: {
      ...unitEnvironment(unit),
      PORT: String(port),
      DENO_DIR: Deno.makeTempDirSync({ prefix: "palisade_deno_dir_" }),
    },
    port,
  };
}

/** One instruction of a Dockerfile. */
export interface Instruction {
  /** Upper-case instruction name (`FROM`, `CMD`, …). */
  name: string;
  /** The rest of the line, continuation lines joined. */
  args: string;
}

/** A Dockerfile split into stages, each starting at its `FROM`. */
export function readDockerfile(path: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const lines = Deno.readTextFileSync(path).split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      const next = lines[++i].trim();
      if (next.startsWith("#")) continue;
      line = line.slice(0, -1).trimEnd() + " " + next;
    }
    const m = line.match(/^(\S+)\s*(.*)$/)!;
    const instruction = { name: m[1].toUpperCase(), args: m[2] };
    if (instruction.name === "FROM") stages.push([]);
    assert.ok(stages.length > 0, `${instruction.name} before FROM`);
    stages.at(-1)!.push(instruction);
  }
  return stages;
}

/** The exec-form (JSON array) argument list of `CMD`, `ENTRYPOINT`, … */
export function execForm(args: string): string[] {
  const list = JSON.parse(args);
  assert.ok(
    Array.isArray(list) && list.every((w) => typeof w === "string"),
    `Not an exec-form (JSON array) command: ${args}`,
  );
  return list;
}

/** `ENV` assignments of a stage (`ENV A=1 B=2` and the legacy `ENV A 1`). */
export function dockerEnvironment(
  stage: Instruction[],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { name, args } of stage) {
    if (name !== "ENV") continue;
    const words = splitWords(args);
    if (words.length >= 1 && !words[0].includes("=")) {
      env[words[0]] = words.slice(1).join(" ");
      continue;
    }
    for (const word of words) {
      const eq = word.indexOf("=");
      env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/** The `--allow-net=` value of a Deno command line (undefined if absent). */
export function allowNet(argv: string[]): string | undefined {
  const flag = argv.find((a) => a.startsWith("--allow-net="));
  return flag?.slice("--allow-net=".length);
}

/**
 * Returns `argv` with its `--allow-net=HOST:PORT` scope moved to
 * `127.0.0.1:port`, so a test can run the deployed command line on a free
 * loopback port without widening the permission.
 */
export function rescope(argv: string[], port: number): string[] {
  const count = argv.filter((a) => a.startsWith("--allow-net=")).length;
  assert.equal(count, 1, "exactly one --allow-net= flag");
  return argv.map((a) =>
    a.startsWith("--allow-net=") ? `--allow-net=127.0.0.1:${port}` : a
  );
}

/** A child process running a deployed command line. */
export interface Running {
  /** The child process. */
  child: Deno.ChildProcess;
  /** The port from its `Listening on http://HOST:PORT/` line. */
  port: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with its status once it exited and its output is read. */
  exited: Promise<Deno.CommandStatus>;
}

/**
 * Spawns `argv` (the first word is the program) and waits until it prints
 * `Listening on http://HOST:PORT/` (main.ts, `deno serve`). Rejects, with
 * the output, if it exits first.
 */
export async function startListening(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Running> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  let announce!: (port: number) => void;
  const listening = new Promise<number>((resolve) => announce = resolve);
  const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const m = text.match(/Listening on http:\/\/[^\s/]+:(\d+)\//);
      if (m) announce(Number(m[1]));
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = pumps.then(() => child.status);
  const port = await Promise.race([
    listening,
    exited.then((status) => {
      throw new Error(
        `${argv.join(" ")} exited (${status.code}) before listening:\n${text}`,
      );
    }),
  ]);
  return { child, port, output: () => text, exited };
}

/**
 * Sends `signal` to the child and waits for it to exit, as a process
 * manager does: if it is still running after `timeoutMs`, it is killed
 * with SIGKILL (and the status says so).
 */
export async function stop(
  running: Running,
  signal: Deno.Signal,
  timeoutMs: number,
): Promise<{ status: Deno.CommandStatus; killed: boolean }> {
  running.child.kill(signal);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    try {
      running.child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, timeoutMs);
  const status = await running.exited;
  clearTimeout(timer);
  return { status, killed };
}

/** Sum of every sample of a metric in Prometheus text. */
export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/**
 * Resolves once the server on `port` has at least `count` requests in
 * flight besides the `/metrics` request that asks; rejects if `pending`
 * (the requests) settles first.
 */
export async function untilInFlight(
  port: number,
  pending: Promise<unknown>,
  count = 1,
): Promise<void> {
  let settled = false;
  pending.then(() => settled = true, () => settled = true);
  for (;;) {
    if (settled) throw new Error("The requests ended before all were seen");
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const active = metricValue(
      await res.text(),
      "http_server_active_requests",
    );
    if (active - 1 >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
