/**
 * `deploy/app.ts` under `deno serve`, as Deno Deploy runs it
 * (docs/deploy/deno_deploy.md): routes, limits and metrics work without
 * `serve()`, and SIGTERM (SIGINT on Deploy) drains an in-flight request
 * before the process exits 0.
 */

import assert from "node:assert/strict";
import { ECHO_BODY_BYTES } from "../../deploy/app.ts";
import { repoPath, startListening, stop, untilInFlight } from "./_deploy.ts";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test({
    name:
      `deno serve deploy/app.ts: serves, then drains an in-flight request on ${signal} and exits 0`,
    ignore: Deno.build.os === "windows",
    async fn() {
      const app = await startListening([
        Deno.execPath(),
        "serve",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        repoPath("deploy/app.ts"),
      ]);
      const base = `http://127.0.0.1:${app.port}`;

      const hello = await fetch(`${base}/`);
      assert.equal(hello.status, 200);
      assert.equal((await hello.json()).client, "127.0.0.1");

      const big = await fetch(`${base}/echo`, {
        method: "POST",
        body: "a".repeat(ECHO_BODY_BYTES + 1),
      });
      assert.equal(big.status, 413);
      assert.equal(big.headers.get("content-type"), "application/problem+json");
      await big.body?.cancel();

      // No serve(), so no server.health(): /healthz is main.ts's.
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 404);
      await health.body?.cancel();

      const slow = fetch(`${base}/slow?ms=1000`).then(async (r) => ({
        status: r.status,
        body: await r.json(),
      }));
      await untilInFlight(app.port, slow);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(
        metrics,
        /http_server_request_duration_seconds_count\{[^}]*route="\/"/,
      );

      // Deploy sends SIGINT and kills 5 s later; the App's graceMs is 4 s.
      const { status, killed } = await stop(app, signal, 5_000);
      assert.equal(killed, false, app.output());
      assert.equal(status.code, 0, app.output());
      assert.deepEqual(await slow, { status: 200, body: { waitedMs: 1000 } });
    },
  });
}
