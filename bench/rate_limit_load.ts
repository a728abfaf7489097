/**
 * Rate limits and load shedding under wrk, server and load generator pinned
 * apart (server `taskset -c 0`, wrk `taskset -c 1`), against
 * `bench/servers/rate_limit.ts`:
 *
 * 1. `/rl`, normal keys only: `wrk -t1 -c100 -d10s`, every request with its
 *    own rotating key out of 20 000 (far below 100/s per key).
 * 2. `/rl` with one abusive key: `wrk -t2 -c200 -d10s`, thread 1 (100
 *    connections) sends `x-key: abuser`, thread 2 (100 connections) the
 *    normal keys. Normal keys must all get 200; the abuser about 100/s.
 * 3. `/nocl` and `/cl`: `wrk -t2 -c200 -d10s` on a handler waiting on a
 *    10-connection backend (5 ms per query), without and with
 *    `concurrencyLimit({ max: 10, queue: 10, queueTimeoutMs: 50 })`:
 *    server-side p99 of admitted requests, and how fast the 503s are.
 *
 * Run: `deno run -A bench/rate_limit_load.ts [--seconds=10]`
 *
 * @module
 */

import {
  commandExists,
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
  thread:set("role", ${
  abuse ? "threads == 1 and 'abuser' or 'normal'" : "'normal'"
})
end
function init(args)
  counter = math.random(1, 20000)
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
const { port } = started.server;
// A pause lets the last requests of a run finish before the counters are read.
const stats = async () => {
  await new Promise((r) => setTimeout(r, 1000));
  return await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
};

try {
  await wrk(["-t1", "-c50"], "/rl", port, 2); // warm-up
  await stats();

  const results: Record<string, unknown> = {};
  const normal = await wrk(
    ["-t1", "-c100", "-s", `${tmp}/normal.lua`],
    "/rl",
    port,
  );
  results["1. normal keys only"] = {
    wrk: summary(normal),
    server: await stats(),
  };
  const abuse = await wrk(
    ["-t2", "-c200", "-s", `${tmp}/abuse.lua`],
    "/rl",
    port,
  );
  results["2. normal keys + one abusive key"] = {
    wrk: summary(abuse),
    server: await stats(),
  };
  const nocl = await wrk(["-t2", "-c200"], "/nocl", port);
  results["3a. backend, no concurrencyLimit"] = {
    wrk: summary(nocl),
    server: await stats(),
  };
  const cl = await wrk(["-t2", "-c200"], "/cl", port);
  results["3b. backend, concurrencyLimit"] = {
    wrk: summary(cl),
    server: await stats(),
  };
  console.log(JSON.stringify(results, null, 2));
} finally {
  await started.server.stop();
  await killAll();
  await Deno.remove(tmp, { recursive: true });
}
