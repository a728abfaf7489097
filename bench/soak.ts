/**
 * Leak check: sends a fixed number of requests (default 2 000 000, the
 * performance issue's soak) to each server (default: `palisade-h1`, Palisade
 * with `transport: "h1"` passed explicitly and every default on), mixing
 * every scenario (hello, param, json, a 64 KiB body, a 1 MiB stream, a new
 * connection per request, and HTTP/2 by prior knowledge where the server
 * speaks it), and reports RSS at the start (after a warm-up), the middle and
 * the end, and the request rate. Memory that keeps growing from the middle
 * to the end is a leak; a one-off rise from start to middle is warm-up (JIT,
 * pools).
 *
 * Traffic goes only to 127.0.0.1.
 *
 * Usage:
 *   deno run -A bench/soak.ts [--requests=2000000] [--short] [--servers=palisade-h1,raw]
 *
 * `--short` sends 100 000 requests. Each half of the run is bounded: wrk is
 * killed if it falls below 200 req/s.
 *
 * @module
 */

import { HOST, jsonPayload } from "./_load_tools.ts";
import {
  commandExists,
  killAll,
  killChildrenOnSignal,
  log,
  memory,
  pinning,
  runTool,
  type ServerProcess,
  startServer,
} from "./_proc.ts";
import { serverList, SERVERS } from "./_servers.ts";

/** Share of requests sent over HTTP/2 (h2c) to servers that speak it. */
const H2_SHARE = 0.1;

/**
 * A wrk script cycling through the HTTP/1.1 mix (per 50 requests: 20 hello,
 * 13 param, 10 json, 2 big (64 KiB), 4 with `Connection: close`, 1 stream of
 * 1 MiB) that
 * prints `SOAK_DONE` after the number of responses given as its first
 * argument (wrk then needs a SIGINT to print its summary and exit).
 */
function mixLua(): string {
  return `
local reqs = {}
local limit, seen, i = 0, 0, 0
function init(args)
  limit = tonumber(args[1])
  local body = [==[${jsonPayload()}]==]
  local hello = wrk.format("GET", "/")
  local param = wrk.format("GET", "/users/12345")
  local json = wrk.format("POST", "/json", { ["Content-Type"] = "application/json" }, body)
  local close = wrk.format("GET", "/", { ["Connection"] = "close" })
  local big = wrk.format("GET", "/big")
  local stream = wrk.format("GET", "/stream")
  local mix = { {hello, 20}, {param, 13}, {json, 10}, {big, 2}, {close, 4}, {stream, 1} }
  for _, m in ipairs(mix) do
    for _ = 1, m[2] do reqs[#reqs + 1] = m[1] end
  end
  -- Interleave so each kind is spread across the cycle.
  math.randomseed(42)
  for k = #reqs, 2, -1 do
    local j = math.random(k)
    reqs[k], reqs[j] = reqs[j], reqs[k]
  end
end
function request()
  i = i + 1
  return reqs[(i % #reqs) + 1]
end
function response(status, headers, body)
  seen = seen + 1
  if seen == limit then
    -- wrk only ends early on SIGINT: tell the harness to send it.
    io.write("SOAK_DONE\\n")
    io.flush()
    wrk.thread:stop()
  end
end
`;
}

/**
 * Runs wrk with the mix script and interrupts it (SIGINT, which makes wrk
 * print its summary) once the script reports `SOAK_DONE`.
 */
async function runWrkUntilDone(
  boundSeconds: number,
  cmd: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  let interrupted = false;
  const safety = setTimeout(
    () => child.kill("SIGKILL"),
    (boundSeconds + 30) * 1000,
  );
  try {
    for await (
      const text of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      stdout += text;
      if (!interrupted && stdout.includes("SOAK_DONE")) {
        interrupted = true;
        child.kill("SIGINT");
      }
    }
    const status = await child.status;
    if (!interrupted) {
      throw new Error(
        `wrk ended before the mix completed: ${(await stderr).slice(0, 300)}`,
      );
    }
    return { code: status.code, stdout, stderr: await stderr };
  } finally {
    clearTimeout(safety);
  }
}

interface Phase {
  requests: number;
  non2xx: number;
  errors: number;
}

/** Sends `n` requests of the mix: HTTP/1.1 by wrk, a share over h2c. */
async function sendMix(
  port: number,
  n: number,
  h2: boolean,
  luaFile: string,
  prefix: string[],
): Promise<Phase> {
  const h2n = h2 ? Math.round(n * H2_SHARE) : 0;
  const h1n = n - h2n;
  const out: Phase = { requests: 0, non2xx: 0, errors: 0 };
  // Bound: the mix runs at thousands of req/s; 200/s means something broke.
  const bound = Math.ceil(60 + h1n / 200);
  const wrk = await runWrkUntilDone(bound, [
    ...prefix,
    "wrk",
    "-t1",
    "-c50",
    `-d${bound}s`,
    "--timeout",
    "10s",
    "-s",
    luaFile,
    `http://${HOST}:${port}/`,
    "--",
    String(h1n),
  ]);
  const count = wrk.stdout.match(/(\d+) requests in/);
  if (wrk.code !== 0 || !count) {
    throw new Error(`wrk failed: ${(wrk.stderr || wrk.stdout).slice(0, 300)}`);
  }
  out.requests += Number(count[1]);
  out.non2xx += Number(
    wrk.stdout.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0,
  );
  const sock = wrk.stdout.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  );
  if (sock) out.errors += sock.slice(1).reduce((a, x) => a + Number(x), 0);
  if (h2n > 0) {
    const h = await runTool([
      ...prefix,
      "h2load",
      "-t1",
      "-c10",
      "-m10",
      `-n${h2n}`,
      `http://${HOST}:${port}/users/777`,
    ], (60 + h2n / 200) * 1000);
    const reqs = h.stdout.match(
      /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/,
    );
    if (h.code !== 0 || !reqs) {
      throw new Error(`h2load failed: ${(h.stderr || h.stdout).slice(0, 300)}`);
    }
    out.requests += Number(reqs[3]);
    out.errors += Number(reqs[5]) + Number(reqs[6]) + Number(reqs[7]);
  }
  return out;
}

interface SoakRow {
  name: string;
  skipped?: string;
  startKiB: number;
  midKiB: number;
  endKiB: number;
  peakKiB: number;
  requests: number;
  non2xx: number;
  errors: number;
  seconds: number;
}

async function soak(
  name: string,
  total: number,
  luaFile: string,
  pin: { server: string[]; load: string[] },
  h2load: boolean,
): Promise<SoakRow> {
  const spec = SERVERS[name];
  const r = await startServer({
    script: spec.script,
    args: [...spec.args, "--port=0"],
    prefix: pin.server,
  });
  const row: SoakRow = {
    name,
    startKiB: NaN,
    midKiB: NaN,
    endKiB: NaN,
    peakKiB: NaN,
    requests: 0,
    non2xx: 0,
    errors: 0,
    seconds: 0,
  };
  if (!r.ok) return { ...row, skipped: r.reason };
  const server: ServerProcess = r.server;
  const h2 = spec.h2 && h2load;
  try {
    // Warm-up: a small slice of the mix so JIT and pools settle first.
    await sendMix(
      server.port,
      Math.min(20_000, total / 10),
      h2,
      luaFile,
      pin.load,
    );
    row.startKiB = (await memory(server.pid)).rssKiB;
    const t0 = performance.now();
    const half = Math.floor(total / 2);
    for (
      const [n, key] of [[half, "midKiB"], [total - half, "endKiB"]] as const
    ) {
      const p = await sendMix(server.port, n, h2, luaFile, pin.load);
      row.requests += p.requests;
      row.non2xx += p.non2xx;
      row.errors += p.errors;
      row[key] = (await memory(server.pid)).rssKiB;
      log(
        `${name}: ${row.requests} requests, RSS ${
          (row[key] / 1024).toFixed(1)
        } MiB`,
      );
    }
    row.seconds = (performance.now() - t0) / 1000;
    row.peakKiB = (await memory(server.pid)).hwmKiB;
    return row;
  } catch (e) {
    return { ...row, skipped: `failed: ${(e as Error).message}` };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const get = (name: string): string | undefined =>
    Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const total = Number(
    get("requests") ?? (Deno.args.includes("--short") ? 100_000 : 2_000_000),
  );
  if (!Number.isInteger(total) || total < 1000) {
    throw new Error(`--requests must be an integer of at least 1000`);
  }
  const names = serverList(get("servers"), ["palisade-h1"]);
  if (!(await commandExists("wrk"))) {
    log("wrk is missing: sudo apt-get install wrk");
    Deno.exit(1);
  }
  const h2load = await commandExists("h2load");
  if (!h2load) {
    log(
      "h2load is missing (sudo apt-get install nghttp2-client): no HTTP/2 share",
    );
  }
  killChildrenOnSignal();
  const pin = await pinning();
  log(`${pin.note}; ${total} requests per server`);
  const tmp = await Deno.makeTempDir({ prefix: "palisade_soak_" });
  const luaFile = `${tmp}/mix.lua`;
  await Deno.writeTextFile(luaFile, mixLua());
  const lines = [
    `Soak: ${total} requests per server after a warm-up; mix per 50 HTTP/1.1 requests: 20 hello, 13 param, 10 json (1 KiB), 2 big (64 KiB), 4 Connection: close, 1 stream (1 MiB); ${
      H2_SHARE * 100
    }% of requests over h2c where supported.`,
    "",
    "| server | RSS start MiB | RSS middle MiB | RSS end MiB | middle→end KiB per 100k req | peak MiB | requests | req/s | non-2xx | errors | seconds |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  try {
    for (const name of names) {
      const r = await soak(name, total, luaFile, pin, h2load);
      if (r.skipped) {
        lines.push(
          `| ${name} | skipped: ${r.skipped.replace(/\|/g, "/")} ||||||||||`,
        );
        continue;
      }
      const perHundredK = (r.endKiB - r.midKiB) / (r.requests / 2) * 100_000;
      const mib = (k: number) => (k / 1024).toFixed(1);
      lines.push(
        `| ${name} | ${mib(r.startKiB)} | ${mib(r.midKiB)} | ${
          mib(r.endKiB)
        } | ${perHundredK.toFixed(0)} | ${mib(r.peakKiB)} | ${r.requests} | ${
          (r.requests / r.seconds).toFixed(0)
        } | ${r.non2xx} | ${r.errors} | ${r.seconds.toFixed(0)} |`,
      );
    }
  } finally {
    await killAll();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  console.log(lines.join("\n"));
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    log(`soak failed: ${(e as Error).stack ?? e}`);
    await killAll();
    Deno.exit(1);
  }
}
