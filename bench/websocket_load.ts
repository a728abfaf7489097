/**
 * WebSocket echo: round trips per second and server CPU per echoed message,
 * for Palisade on h1 (its own RFC 6455 code), Palisade on the deno
 * transport, and raw `Deno.serve` + `Deno.upgradeWebSocket` (the baseline),
 * in interleaved rounds; then the memory each server needs per idle
 * WebSocket.
 *
 * CPU is the server's utime+stime (all threads, `/proc/<pid>/stat`) over the
 * measured window divided by the round trips in it (one message in, one
 * out). The server runs on core 0 and the client (`_websocket_client.ts`,
 * Deno's `WebSocket`, N sockets doing ping-pong) on core 1 when taskset is
 * available. On a shared machine, rounds starved by other work show up as
 * low round trips/s with inflated CPU per message; the best (lowest) CPU
 * per message of each server is the steadier comparison. Memory is the
 * server's RSS growth while `--idle` sockets are open, divided by their
 * number.
 *
 * Usage:
 *   deno run -A bench/websocket_load.ts [--rounds=2] [--conns=50] [--size=32]
 *     [--seconds=5] [--idle=2000] [--impls=raw,deno,h1]
 *
 * @module
 */

import {
  clockTicks,
  cpuTicks,
  killAll,
  killChildrenOnSignal,
  log,
  memory,
  pinning,
  raiseOwnFdLimit,
  ROOT,
  type ServerProcess,
  sleep,
  startServer,
} from "./_proc.ts";

const get = (name: string): string | undefined =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ROUNDS = Number(get("rounds") ?? 2);
const CONNS = Number(get("conns") ?? 50);
const SIZE = Number(get("size") ?? 32);
const SECONDS = Number(get("seconds") ?? 5);
const IDLE = Number(get("idle") ?? 2000);
const IMPLS = (get("impls") ?? "raw,deno,h1").split(",");
const LABEL: Record<string, string> = {
  raw: "Deno.serve + Deno.upgradeWebSocket",
  deno: "Palisade, deno transport",
  h1: "Palisade, h1 transport",
};

/** Spawns the client; returns a line reader and the process. */
function client(prefix: string[], args: string[]) {
  const cmd = [
    "prlimit",
    `--nofile=${IDLE + 1024}:${IDLE + 1024}`,
    ...prefix,
    Deno.execPath(),
    "run",
    "-A",
    "bench/_websocket_client.ts",
    ...args,
  ];
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const line = async (): Promise<string> => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const l = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return l;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("client exited early");
      buffered += value;
    }
  };
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
  };
  return { line, stop, child };
}

async function start(impl: string, prefix: string[]): Promise<ServerProcess> {
  const r = await startServer({
    script: "bench/servers/websocket_echo.ts",
    args: [`--impl=${impl}`, "--port=0"],
    prefix,
    nofile: IDLE + 1024,
  });
  if (!r.ok) throw new Error(`${impl}: ${r.reason}`);
  return r.server;
}

interface EchoResult {
  rps: number;
  cpuUs: number;
}

async function echo(
  impl: string,
  pin: { server: string[]; load: string[] },
  hz: number,
): Promise<EchoResult> {
  const server = await start(impl, pin.server);
  const c = client(pin.load, [
    `--port=${server.port}`,
    `--conns=${CONNS}`,
    `--size=${SIZE}`,
    "--warmup=2",
    `--seconds=${SECONDS}`,
  ]);
  try {
    while ((await c.line()) !== "MEASURE") { /* wait */ }
    const t0 = await cpuTicks(server.pid);
    let done: string;
    while (!(done = await c.line()).startsWith("DONE")) { /* wait */ }
    const t1 = await cpuTicks(server.pid);
    const [, n, s] = done.split(" ");
    const trips = Number(n);
    return {
      rps: trips / Number(s),
      cpuUs: ((t1 - t0) / hz) * 1e6 / trips,
    };
  } finally {
    await c.stop();
    await server.stop();
  }
}

async function idle(
  impl: string,
  pin: { server: string[]; load: string[] },
): Promise<number> {
  const server = await start(impl, pin.server);
  // Warm the code paths with one short echo run's worth of sockets.
  const warm = client(pin.load, [
    `--port=${server.port}`,
    "--conns=10",
    "--idle",
  ]);
  try {
    await warm.line();
  } finally {
    await warm.stop();
  }
  await sleep(1000);
  const before = (await memory(server.pid)).rssKiB;
  const c = client(pin.load, [
    `--port=${server.port}`,
    `--conns=${IDLE}`,
    "--idle",
  ]);
  try {
    const opened = await c.line();
    if (opened !== `OPEN ${IDLE}`) throw new Error(`${impl}: ${opened}`);
    await sleep(1500);
    const withSockets = (await memory(server.pid)).rssKiB;
    return (withSockets - before) / IDLE;
  } finally {
    await c.stop();
    await server.stop();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  killChildrenOnSignal();
  await raiseOwnFdLimit(IDLE + 1024);
  const pin = await pinning();
  const hz = await clockTicks();
  log(
    `${pin.note}; ${CONNS} sockets, ${SIZE}-byte text messages, ${SECONDS} s per run, ${ROUNDS} rounds`,
  );
  const results: Record<string, EchoResult[]> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const impl of IMPLS) {
      const r = await echo(impl, pin, hz);
      (results[impl] ??= []).push(r);
      log(
        `round ${round} ${impl}: ${r.rps.toFixed(0)} round trips/s, ${
          r.cpuUs.toFixed(2)
        } µs CPU per message`,
      );
    }
  }
  const lines: string[] = [];
  if (ROUNDS > 0) {
    const base = results.raw ? median(results.raw.map((r) => r.cpuUs)) : NaN;
    lines.push(
      `WebSocket echo: ${CONNS} sockets ping-pong, ${SIZE}-byte text, ${ROUNDS} rounds of ${SECONDS} s (${pin.note})`,
      "",
      "| server | round trips/s per round | CPU µs/message per round | median CPU ×raw | best CPU ×raw |",
      "| --- | --- | --- | --- | --- |",
    );
    const best = results.raw
      ? Math.min(...results.raw.map((r) => r.cpuUs))
      : NaN;
    for (const impl of IMPLS) {
      const rs = results[impl];
      const cpu = rs.map((r) => r.cpuUs);
      lines.push(
        `| ${LABEL[impl] ?? impl} | ${
          rs.map((r) => r.rps.toFixed(0)).join(", ")
        } | ${cpu.map((c) => c.toFixed(2)).join(", ")} | ${
          (median(cpu) / base).toFixed(2)
        } | ${(Math.min(...cpu) / best).toFixed(2)} |`,
      );
    }
  }
  if (IDLE > 0) {
    lines.push(
      "",
      `Idle WebSockets: RSS growth with ${IDLE} open sockets`,
      "",
      "| server | KiB per idle socket |",
      "| --- | --- |",
    );
    for (const impl of IMPLS) {
      const kib = await idle(impl, pin);
      log(`idle ${impl}: ${kib.toFixed(1)} KiB per socket`);
      lines.push(`| ${LABEL[impl] ?? impl} | ${kib.toFixed(1)} |`);
    }
  }
  console.log(lines.join("\n"));
}

try {
  await main();
} finally {
  await killAll();
}
