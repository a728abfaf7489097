/**
 * `deploy/palisade.service` (docs/deploy/systemd.md): the unit passes
 * `systemd-analyze verify`, its settings match what the app reads, and its
 * `ExecStart` command line, run here as systemd would run it, serves, drains
 * an in-flight request on SIGTERM and exits 0 within `TimeoutStopSec`. Also
 * checks the claim that `MemoryDenyWriteExecute=yes` breaks Deno.
 */

import assert from "node:assert/strict";
import {
  allowNet,
  hasBinary,
  readUnit,
  repoPath,
  startListening,
  stop,
  UNIT_PATH,
  unitCommand,
  unitEnvironment,
  unitExecStart,
  unitValue,
  untilInFlight,
} from "./_deploy.ts";

const unit = readUnit(UNIT_PATH);
const service = (key: string): string | undefined =>
  unitValue(unit, "Service", key);
const localCommand = () => unitCommand(unit);

Deno.test("systemd unit: stop, restart and file limits match the app's settings", () => {
  const argv = unitExecStart(unit);
  const env = unitEnvironment(unit);
  assert.equal(argv[0], "/usr/local/bin/deno", "absolute path of deno");
  assert.equal(service("KillSignal"), "SIGTERM");
  assert.equal(service("Restart"), "on-failure");
  // TimeoutStopSec = graceMs + readinessDelayMs + a margin of at least
  // 2 s (serve() flushes and closes for up to 0.5 s after the grace ends).
  const stopSec = Number(service("TimeoutStopSec"));
  const drainSec = (Number(env.GRACE_MS) + Number(env.READINESS_DELAY_MS)) /
    1000;
  assert.ok(Number.isFinite(drainSec), "GRACE_MS and READINESS_DELAY_MS set");
  assert.ok(
    stopSec >= drainSec + 2,
    `TimeoutStopSec=${stopSec} leaves a margin over the ${drainSec} s drain`,
  );
  const nofile = Number(service("LimitNOFILE"));
  assert.ok(
    nofile > Number(env.MAX_CONNECTIONS),
    `LimitNOFILE=${nofile} is above MAX_CONNECTIONS=${env.MAX_CONNECTIONS}`,
  );
  assert.equal(
    allowNet(argv),
    `${env.HOST}:${env.PORT}`,
    "--allow-net is scoped to the listen address",
  );
});

Deno.test("systemd unit: sandbox settings", () => {
  const expected: Record<string, string> = {
    NoNewPrivileges: "yes",
    ProtectSystem: "strict",
    ProtectHome: "yes",
    PrivateTmp: "yes",
    RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX",
    CapabilityBoundingSet: "",
    DynamicUser: "yes",
    // V8's JIT needs pages that become executable after being written.
    MemoryDenyWriteExecute: "no",
  };
  for (const [key, value] of Object.entries(expected)) {
    assert.equal(service(key), value, key);
  }
});

const hasAnalyze = hasBinary("systemd-analyze");
if (!hasAnalyze) {
  console.warn(
    "systemd-analyze is not installed (Debian package systemd): unit verification ignored",
  );
}

Deno.test({
  name: "systemd unit: systemd-analyze verify finds nothing to report",
  ignore: !hasAnalyze,
  async fn() {
    // verify also checks that ExecStart's program exists: point it at this
    // test's deno in a copy of the unit.
    const dir = await Deno.makeTempDir({ prefix: "palisade_unit_" });
    const path = `${dir}/palisade.service`;
    const text = await Deno.readTextFile(UNIT_PATH);
    await Deno.writeTextFile(
      path,
      text.replace(
        "ExecStart=/usr/local/bin/deno ",
        `ExecStart=${Deno.execPath()} `,
      ),
    );
    const out = await new Deno.Command("systemd-analyze", {
      args: ["verify", path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const report = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    await Deno.remove(dir, { recursive: true });
    assert.equal(out.code, 0, report);
    // Other units on the host may have findings of their own; ours must not.
    const ours = report.split("\n").filter((l) => l.includes("palisade"));
    assert.deepEqual(ours, [], report);
  },
});

Deno.test("systemd unit: ExecStart serves, drains an in-flight request on SIGTERM and exits 0 within TimeoutStopSec", async () => {
  const { argv, env, port } = localCommand();
  const app = await startListening(argv, { env });
  assert.equal(app.port, port);
  const base = `http://127.0.0.1:${port}`;
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });

  const slow = fetch(`${base}/slow?ms=1500`).then(async (r) => ({
    status: r.status,
    body: await r.json(),
  }));
  await untilInFlight(port, slow);
  const stopMs = Number(service("TimeoutStopSec")) * 1000;
  const { status, killed } = await stop(app, "SIGTERM", stopMs);
  const answer = await slow;

  assert.equal(killed, false, `still running after ${stopMs} ms`);
  assert.equal(status.code, 0, app.output());
  assert.deepEqual(answer, { status: 200, body: { waitedMs: 1500 } });
  const stopped = app.output().match(/Stopped (\{.*\})/);
  assert.ok(stopped, app.output());
  const report = JSON.parse(stopped[1]);
  assert.equal(report.completed, 1);
  assert.equal(report.aborted, 0);
  await Deno.remove(env.DENO_DIR, { recursive: true });
});

Deno.test("systemd unit: --allow-env covers DENO_TRUST_PROXY_HEADERS, so serve() refuses to start when it is set", async () => {
  const { argv, env } = localCommand();
  const started = await startListening(argv, {
    env: { ...env, DENO_TRUST_PROXY_HEADERS: "1" },
  }).then(
    async (app) => {
      await stop(app, "SIGKILL", 0);
      return "it started";
    },
    (error: Error) => error.message,
  );
  assert.match(started, /exited \(1\) before listening/);
  assert.match(started, /Refusing to start: the DENO_TRUST_PROXY_HEADERS/);
  await Deno.remove(env.DENO_DIR, { recursive: true });
});

// PR_SET_MDWE (Linux 6.3+) is the kernel's MemoryDenyWriteExecute: recent
// systemd applies it where available, otherwise a seccomp filter with the
// same rule.
const MDWE_SCRIPT = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit("prctl(PR_SET_MDWE) failed: errno %d" % ctypes.get_errno())
os.execv(sys.argv[1], sys.argv[1:])
`;

function kernelAtLeast(major: number, minor: number): boolean {
  if (Deno.build.os !== "linux") return false;
  const [a, b] = Deno.osRelease().split(".").map((n) => parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

const canMdwe = kernelAtLeast(6, 3) && hasBinary("python3");
if (!canMdwe) {
  console.warn(
    "MemoryDenyWriteExecute check ignored: needs Linux 6.3+ and python3 (Debian package python3)",
  );
}

Deno.test({
  name:
    "systemd unit: under MemoryDenyWriteExecute (PR_SET_MDWE) Deno aborts, with --v8-flags=--jitless it serves",
  ignore: !canMdwe,
  async fn() {
    const { argv, env } = localCommand();
    const denied = await new Deno.Command("python3", {
      args: ["-c", MDWE_SCRIPT, ...argv],
      env,
      cwd: repoPath(""),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(denied.stderr);
    assert.notEqual(denied.code, 0, "Deno cannot start its JIT");
    assert.doesNotMatch(text, /prctl\(PR_SET_MDWE\) failed/);
    assert.doesNotMatch(text, /Listening on/);

    const jitless = [
      argv[0],
      argv[1],
      "--v8-flags=--jitless",
      ...argv.slice(2),
    ];
    const app = await startListening(
      ["python3", "-c", MDWE_SCRIPT, ...jitless],
      {
        env,
      },
    );
    const res = await fetch(`http://127.0.0.1:${app.port}/healthz`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const { status } = await stop(app, "SIGTERM", 15_000);
    assert.equal(status.code, 0, app.output());
    await Deno.remove(env.DENO_DIR, { recursive: true });
  },
});
