/**
 * Rate limits and load shedding under wrk, server and load generator pinned
 * apart (server `taskset -c 0`, wrk `taskset -c 1`), against
 * `bench/servers/rate_limit.ts` (`rateLimit({ limit: 100, windowMs: 1000 })`
 * per `x-key`):
 *
 * 1. `/rl`, normal clients only: `wrk -t2 -c200 -d10s`, thread 2's 100
 *    connections each send one request per 20 ms (wrk `delay()`), every
 *    request with its own rotating key out of 20 000 (far below 100/s per
 *    key); thread 1 idles (its connections pace at 1 request per second,
 *    normal keys too).
 * 2. The same, but thread 1's 100 connections hammer with one abusive key
 *    (`x-key: abuser`) as fast as they can. Normal clients must keep their
 *    rate, all 200; the abuser gets about 100/s (plus its burst of 100).
 * 3. `/nocl` and `/cl`: `wrk -t2 -c200 -d10s` on a handler waiting on a
 *    10-connection backend (5 ms per query), without and with
 *    `concurrencyLimit({ max: 10, queue: 10, queueTimeoutMs: 50 })`:
 *    server-side p99 of admitted requests, and how fast the 503s are.
 *
 * Each run reports wrk's summary, the server's counts and server-side
 * latency percentiles (ms), and server CPU µs per request (utime+stime from
 * `/proc`).
 *
 * The machine's load average is printed with the results: other work on
 * the two cores shows up as latency outside the handler.
 *
 * Run: `deno run -A bench/rate_limit_load.ts [--seconds=10]`
 *
 * @module
 */

import {
  clockTicks,
  commandExists,
  cpuTicks,
  killAll,
  log,
  pinning,
  runTool,
  startServer,
} from "./_proc.ts";

const seconds = Number(
  Deno.args.find((a) => a.startsWith("--seconds="))?.slice(10) ?? 10,
);

if (!(await commandExists("wrk"))) {
  console.error("wrk is not installed (Debian package wrk)");
  Deno.exit(2);
}
const pins = await pinning();
log(pins.note);

const tmp = await Deno.makeTempDir();
const lua = (abuse: boolean) => `
local counter = 1
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("role", threads == 1 and "${
  abuse ? "abuser" : "idle"
}" or "normal")
end
function init(args)
  counter = math.random(1, 20000)
end
function delay()
  if role == "abuser" then return 0 end
  if role == "idle" then return 1000 end
  return 20
end
function request()
  if role == "abuser" then
    return wrk.format("GET", "/rl", { ["x-key"] = "abuser" })
  end
  counter = counter % 20000 + 1
  return wrk.format("GET", "/rl", { ["x-key"] = "user" .. counter })
end
`;
await Deno.writeTextFile(`${tmp}/normal.lua`, lua(false));
await Deno.writeTextFile(`${tmp}/abuse.lua`, lua(true));

async function wrk(
  args: string[],
  path: string,
  port: number,
  duration = seconds,
): Promise<string> {
  const cmd = [
    ...pins.load,
    "wrk",
    ...args,
    `-d${duration}s`,
    "--latency",
    `http://127.0.0.1:${port}${path}`,
  ];
  log("$ " + cmd.join(" "));
  const r = await runTool(cmd, seconds * 1000 + 30_000);
  if (r.code !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  return r.stdout;
}

function summary(out: string): string {
  const rps = out.match(/Requests\/sec:\s+([\d.]+)/)?.[1];
  const p99 = out.match(/^\s*99%\s+(\S+)/m)?.[1];
  const non2xx = out.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? "0";
  const total = out.match(/(\d+) requests in/)?.[1];
  return `wrk: ${total} requests, ${rps} req/s, p99 ${p99}, non-2xx ${non2xx}`;
}

const started = await startServer({
  script: "bench/servers/rate_limit.ts",
  prefix: pins.server,
});
if (!started.ok) throw new Error(started.reason);
const { port, pid } = started.server;
// A pause lets the last requests of a run finish before the counters are read.
const stats = async () => {
  await new Promise((r) => setTimeout(r, 1000));
  return await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
};

const hz = await clockTicks();

/** Runs wrk and returns its summary, the server's stats and CPU per request. */
async function run(args: string[], path: string): Promise<unknown> {
  const cpu = await cpuTicks(pid);
  const out = await wrk(args, path, port);
  const server = await stats();
  const ticks = await cpuTicks(pid) - cpu;
  const served = Object.values(server.counts as Record<string, number>)
    .reduce((a, b) => a + b, 0) ||
    Number(out.match(/(\d+) requests in/)?.[1]);
  return {
    wrk: summary(out),
    server,
    cpuUsPerRequest: Math.round(ticks / hz * 1e6 / served),
  };
}

try {
  await wrk(["-t1", "-c50"], "/rl", port, 2); // warm-up
  await stats();
  const results: Record<string, unknown> = {};
  const two = ["-t2", "-c200"];
  results["1. paced normal clients only"] = await run(
    [...two, "-s", `${tmp}/normal.lua`],
    "/rl",
  );
  results["2. paced normal clients + one abusive key"] = await run(
    [...two, "-s", `${tmp}/abuse.lua`],
    "/rl",
  );
  results["3a. backend, no concurrencyLimit"] = await run(two, "/nocl");
  results["3b. backend, concurrencyLimit"] = await run(two, "/cl");
  results.loadAverage = (await Deno.readTextFile("/proc/loadavg")).trim();
  console.log(JSON.stringify(results, null, 2));
} finally {
  await started.server.stop();
  await killAll();
  await Deno.remove(tmp, { recursive: true });
}
