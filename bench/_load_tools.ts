/**
 * Runs the load generators (wrk for HTTP/1.1, h2load for HTTP/2) against
 * 127.0.0.1 and parses what they print into one {@linkcode LoadResult};
 * reads a core's time from `/proc/stat` to tell how much else ran on it.
 *
 * @module
 */

import { cpuTicks, log, readProc, ROOT, runTool, sleep } from "./_proc.ts";

/** The only host the harness ever sends traffic to. */
export const HOST = "127.0.0.1";

/** What one load run measured. */
export interface LoadResult {
  /** Responses completed. */
  requests: number;
  /** Requests per second as the tool reports it. */
  rps: number;
  /** 99th percentile latency in milliseconds. */
  p99Ms: number;
  /** Responses with a status outside 2xx (wrk: outside 2xx/3xx). */
  non2xx: number;
  /** Socket errors, failed and timed-out requests. */
  errors: number;
}

/** A load request description shared by both tools. */
export interface LoadSpec {
  /** `"wrk"` (HTTP/1.1) or `"h2load"` (HTTP/2). */
  tool: "wrk" | "h2load";
  /** Port on 127.0.0.1. */
  port: number;
  /** Request path, e.g. `"/users/12345"`. */
  path: string;
  /** Use https (HTTP/2 via ALPN); h2load only. */
  tls?: boolean;
  /** wrk Lua script file (e.g. for POST bodies). */
  luaFile?: string;
  /** Extra request headers, `"Name: value"`. */
  headers?: string[];
  /** Run length in seconds. */
  seconds: number;
  /** Concurrent connections; default 50 for wrk, 10 for h2load. */
  connections?: number;
  /** Command prefix, e.g. core pinning. */
  prefix?: string[];
  /** Directory for h2load's per-request log. */
  tmpDir: string;
}

/**
 * Runs one load generator pass and parses its output.
 *
 * @throws {Error} when the tool fails or prints nothing parseable.
 *
 * @example Usage
 * ```ts
 * import { runLoad } from "./_load_tools.ts";
 * const r = await runLoad({ tool: "wrk", port: 8000, path: "/", seconds: 2, tmpDir: "/tmp" });
 * ```
 */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return spec.tool === "wrk" ? runWrk(spec) : runH2load(spec);
}

/** Describes the load generator command line for the report. */
export function describeLoad(tool: "wrk" | "h2load"): string {
  return tool === "wrk"
    ? "wrk -t1 -c50 --latency"
    : "h2load -t1 -c10 -m10 (100 concurrent streams)";
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const url = `http://${HOST}:${spec.port}${spec.path}`;
  const cmd = [
    ...(spec.prefix ?? []),
    "wrk",
    "-t1",
    `-c${spec.connections ?? 50}`,
    `-d${spec.seconds}s`,
    "--timeout",
    "5s",
    "--latency",
  ];
  if (spec.luaFile) cmd.push("-s", spec.luaFile);
  for (const h of spec.headers ?? []) cmd.push("-H", h);
  cmd.push(url);
  const r = await runTool(cmd, spec.seconds * 1000 + 20_000);
  const out = r.stdout;
  const count = out.match(/(\d+) requests in ([\d.]+)(us|ms|s|m)/);
  const rps = out.match(/Requests\/sec:\s+([\d.]+)/);
  if (r.code !== 0 || !count || !rps) {
    throw new Error(
      `wrk failed (code ${r.code}): ${(r.stderr || out).trim().slice(0, 500)}`,
    );
  }
  const p99 = out.match(/^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const non2xx = out.match(/Non-2xx or 3xx responses:\s+(\d+)/);
  const sock = out.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  );
  const errors = sock
    ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4])
    : 0;
  return {
    requests: Number(count[1]),
    rps: Number(rps[1]),
    p99Ms: p99 ? toMs(Number(p99[1]), p99[2]) : NaN,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    errors,
  };
}

function toMs(value: number, unit: string): number {
  switch (unit) {
    case "us":
      return value / 1000;
    case "ms":
      return value;
    case "s":
      return value * 1000;
    case "m":
      return value * 60_000;
  }
  return NaN;
}

async function runH2load(spec: LoadSpec): Promise<LoadResult> {
  const scheme = spec.tls ? "https" : "http";
  const url = `${scheme}://${HOST}:${spec.port}${spec.path}`;
  const logFile = `${spec.tmpDir}/h2load_${spec.port}.log`;
  const cmd = [
    ...(spec.prefix ?? []),
    "h2load",
    "-t1",
    `-c${spec.connections ?? 10}`,
    "-m10",
    `-D${spec.seconds}`,
    `--log-file=${logFile}`,
  ];
  for (const h of spec.headers ?? []) cmd.push("-H", h);
  cmd.push(url);
  const r = await runTool(cmd, spec.seconds * 1000 + 20_000);
  const out = r.stdout;
  const fin = out.match(/finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/);
  const reqs = out.match(
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/,
  );
  const codes = out.match(
    /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/,
  );
  if (r.code !== 0 || !fin || !reqs) {
    throw new Error(
      `h2load failed (code ${r.code}): ${
        (r.stderr || out).trim().slice(0, 500)
      }`,
    );
  }
  let p99Ms = NaN;
  try {
    p99Ms = p99FromLog(await Deno.readTextFile(logFile));
    await Deno.remove(logFile);
  } catch { /* no log: leave NaN */ }
  return {
    requests: Number(reqs[3]),
    rps: Number(fin[3]),
    p99Ms,
    non2xx: codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0,
    errors: Number(reqs[5]) + Number(reqs[6]) + Number(reqs[7]),
  };
}

/** p99 of h2load's log: tab-separated start µs, status, duration µs. */
function p99FromLog(text: string): number {
  const durations: number[] = [];
  for (const line of text.split("\n")) {
    const cols = line.split("\t");
    if (cols.length >= 3) durations.push(Number(cols[2]));
  }
  if (durations.length === 0) return NaN;
  durations.sort((a, b) => a - b);
  const idx = Math.min(
    durations.length - 1,
    Math.ceil(durations.length * 0.99) - 1,
  );
  return durations[idx] / 1000;
}

/**
 * Builds a 1 KiB JSON document (an array of small records), the body of the
 * json scenario.
 *
 * @example Usage
 * ```ts
 * import { jsonPayload } from "./_load_tools.ts";
 * jsonPayload().length; // 1024
 * ```
 */
export function jsonPayload(bytes = 1024): string {
  const items: unknown[] = [];
  let text = "";
  for (let i = 0;; i++) {
    items.push({ id: i, name: `item-${i}`, tags: ["a", "b"], active: true });
    const next = JSON.stringify({ items, pad: "" });
    if (next.length > bytes) break;
    text = next;
  }
  const doc = JSON.parse(text) as { items: unknown[]; pad: string };
  doc.pad = "x".repeat(bytes - text.length);
  return JSON.stringify(doc);
}

/**
 * A wrk Lua script that POSTs `body` as `application/json`.
 *
 * @example Usage
 * ```ts
 * import { jsonPayload, postLua } from "./_load_tools.ts";
 * const lua = postLua(jsonPayload());
 * ```
 */
export function postLua(body: string): string {
  return [
    'wrk.method = "POST"',
    'wrk.headers["Content-Type"] = "application/json"',
    `wrk.body = [==[${body}]==]`,
    "",
  ].join("\n");
}

/**
 * The TLS certificate and key of the h2 scenario: the test fixtures, or a
 * throwaway self-signed pair made with openssl in `tmp` when they are missing.
 *
 * @example Usage
 * ```ts ignore
 * import { tlsFiles } from "./_load_tools.ts";
 * const { cert, key } = await tlsFiles("/tmp/x");
 * ```
 */
export async function tlsFiles(
  tmp: string,
): Promise<{ cert: string; key: string }> {
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

/** Clock ticks a core spent, from `/proc/stat`. */
export interface CoreTicks {
  /** user + nice + system: processes (any) running on the core. */
  used: number;
  /** Time the hypervisor ran something else instead of this VM's core. */
  steal: number;
}

/**
 * Reads the time core `core` has spent since boot. The harness subtracts
 * the server's own ticks from `used` across a round to see how much of its
 * core other processes took.
 *
 * @example Usage
 * ```ts ignore
 * import { coreTicks } from "./_load_tools.ts";
 * const { used, steal } = await coreTicks(0);
 * ```
 */
export async function coreTicks(core: number): Promise<CoreTicks> {
  const stat = await readProc("/proc/stat");
  const line = stat.match(new RegExp(`^cpu${core} (.*)$`, "m"));
  if (!line) throw new Error(`No cpu${core} line in /proc/stat`);
  const f = line[1].trim().split(/\s+/).map(Number);
  return { used: f[0] + f[1] + f[2], steal: f[7] ?? 0 };
}

/**
 * Pause after each load pass before reading the server's CPU time, so work
 * the server defers past the last response (GC, idle tasks) is counted in
 * its own round, not lost or billed to nobody.
 */
export const SETTLE_MS = 250;

/**
 * Share of core 0 taken by other processes above which a round is measured
 * again (up to `--retries` times): their work evicts the server's caches and
 * starves it, which moves its CPU per request.
 */
export const DISTURBED = 0.1;

/** One measured load pass. */
export interface Measurement {
  res: LoadResult;
  cpu: number;
  server: number;
  others: number;
  steal: number;
}

/**
 * Runs `load` and measures the CPU per request of the server `at.pid` and
 * the shares of core 0 (the server's, other processes', steal) per second of
 * load (`at.seconds`). Without pinning, the core shares are NaN.
 *
 * @example Usage
 * ```ts ignore
 * import { measure, runLoad } from "./_load_tools.ts";
 * const m = await measure(() => runLoad(spec), { pid, pinned: true, seconds: 3, hz: 100 });
 * ```
 */
export async function measure(
  load: () => Promise<LoadResult>,
  at: { pid: number; pinned: boolean; seconds: number; hz: number },
): Promise<Measurement> {
  const core0 = at.pinned ? await coreTicks(0) : null;
  const before = await cpuTicks(at.pid);
  const res = await load();
  await sleep(SETTLE_MS);
  const after = await cpuTicks(at.pid);
  const now = core0 !== null ? await coreTicks(0) : null;
  const used = after - before;
  const ticks = at.seconds * at.hz;
  return {
    res,
    cpu: res.requests > 0 ? used * 1e6 / at.hz / res.requests : NaN,
    server: used / ticks,
    others: now && core0
      ? Math.max(0, now.used - core0.used - used) / ticks
      : NaN,
    steal: now && core0 ? (now.steal - core0.steal) / ticks : NaN,
  };
}
