/**
 * `deploy/Dockerfile` (docs/deploy/docker.md). No container engine runs
 * here (the CI `docker` job builds and runs the image), so this test runs
 * what the image would run, with the pinned Deno: the build stage's
 * `deno cache` into an empty cache, then the runtime stage's
 * ENTRYPOINT + CMD (offline, `--cached-only`) and its HEALTHCHECK command,
 * and stops it the way `docker stop` does (STOPSIGNAL).
 */

import assert from "node:assert/strict";
import {
  allowNet,
  dockerEnvironment,
  execForm,
  freePort,
  type Instruction,
  readDockerfile,
  repoPath,
  rescope,
  splitWords,
  startListening,
  stop,
} from "./_deploy.ts";

const stages = readDockerfile(repoPath("deploy/Dockerfile"));
const build = stages[0];
const runtime = stages.at(-1)!;

function last(stage: Instruction[], name: string): string | undefined {
  return stage.filter((i) => i.name === name).at(-1)?.args;
}

/** ENTRYPOINT + CMD, without the init wrapper (`/tini --`). */
function command(): string[] {
  const argv = [
    ...execForm(last(runtime, "ENTRYPOINT") ?? "[]"),
    ...execForm(last(runtime, "CMD") ?? "[]"),
  ];
  if (argv[0] === "/tini") {
    assert.equal(argv[1], "--");
    return argv.slice(2);
  }
  return argv;
}

/** Runs `argv` ("deno" = this test's deno) in the repository root. */
async function run(
  argv: string[],
  env: Record<string, string>,
): Promise<Deno.CommandOutput> {
  assert.equal(argv[0], "deno");
  return await new Deno.Command(Deno.execPath(), {
    args: argv.slice(1),
    cwd: repoPath(""),
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("Dockerfile: pinned Deno, non-root user, stop signal, port and health check", () => {
  assert.ok(stages.length >= 2, "multi-stage");
  for (const stage of stages) {
    assert.match(
      stage[0].args,
      new RegExp(`^denoland/deno:${Deno.version.deno}\\b`),
    );
  }
  assert.equal(last(runtime, "USER"), "deno");
  assert.equal(last(runtime, "STOPSIGNAL"), "SIGTERM");
  const env = dockerEnvironment(runtime);
  assert.equal(last(runtime, "EXPOSE"), env.PORT);
  assert.equal(allowNet(command()), `${env.HOST}:${env.PORT}`);
  assert.match(
    last(runtime, "HEALTHCHECK") ?? "",
    new RegExp(
      `^--.* CMD \\[.*"http://127\\.0\\.0\\.1:${env.PORT}/healthz"\\]$`,
    ),
  );
  assert.ok(
    build.some((i) => i.name === "RUN" && /^deno cache /.test(i.args)),
    "the build stage caches dependencies",
  );
});

Deno.test("Dockerfile: the image's command serves /healthz offline, passes its HEALTHCHECK and stops cleanly on SIGTERM", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "palisade_docker_cache_" });
  // Build stage: RUN deno cache … into an empty DENO_DIR.
  for (const { name, args } of build) {
    if (name !== "RUN") continue;
    const out = await run(splitWords(args), { DENO_DIR: denoDir });
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  }

  // Runtime stage, on a free loopback port instead of 0.0.0.0:8000.
  const port = freePort();
  const env = {
    ...dockerEnvironment(runtime),
    HOST: "127.0.0.1",
    PORT: String(port),
    DENO_DIR: denoDir,
  };
  const argv = rescope(command(), port);
  const app = await startListening([Deno.execPath(), ...argv.slice(1)], {
    env,
  });
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(health.status, 200);
  await health.body?.cancel();

  const check = execForm(
    last(runtime, "HEALTHCHECK")!.replace(/^.*?CMD\s+/, ""),
  ).map((w) => w.replaceAll("127.0.0.1:8000", `127.0.0.1:${port}`));
  const healthy = await run(check, { DENO_DIR: denoDir });
  assert.equal(healthy.code, 0, "healthy while serving");

  const { status, killed } = await stop(
    app,
    last(runtime, "STOPSIGNAL") as Deno.Signal,
    // docker stop --stop-timeout, as the guide sets it.
    15_000,
  );
  assert.equal(killed, false);
  assert.equal(status.code, 0, app.output());
  assert.match(app.output(), /Stopped \{"completed":\d+,"aborted":0/);
  const gone = await run(check, { DENO_DIR: denoDir });
  assert.equal(gone.code, 1, "unhealthy once stopped");
  await Deno.remove(denoDir, { recursive: true });
});
