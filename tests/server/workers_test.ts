/**
 * Multi-core serving, with real processes: `serve(app, { workers: 2 })` in
 * a subprocess (tests/fixtures/workers_server.ts) and `deno serve
 * --parallel` (tests/fixtures/parallel_app.ts). Requests go over fresh
 * connections so the kernel spreads them over the workers' listeners.
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import { one, parseExposition } from "../fixtures/prometheus.ts";
import { RawConn, refused } from "../fixtures/raw_http.ts";
import {
  Child,
  forAWhile,
  freshClient,
  get,
  getTls,
  hitBoth,
  ignore,
  inFlightOnBoth,
  PARALLEL,
  pause,
  scrapeBoth,
  startFixture,
  threadsByCert,
} from "./_workers.ts";

for (const transport of ["h1", "deno"] as const) {
  Deno.test({
    name:
      `workers: aggregated metrics sum all workers (${transport} transport)`,
    ignore,
    async fn() {
      await using child = startFixture(transport);
      const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
      const base = `http://127.0.0.1:${port}`;
      const client = freshClient();
      try {
        const perWorker = await hitBoth(client, base);
        const total = [...perWorker.values()].reduce((a, b) => a + b, 0);
        await scrapeBoth(client, base, (text) => {
          const { samples, types } = parseExposition(text);
          assert.equal(one(samples, "palisade_metrics_workers"), 2);
          assert.equal(
            one(samples, "http_server_request_duration_seconds_count", {
              http_route: "/id",
              http_response_status_code: "200",
            }),
            total,
          );
          assert.equal(
            one(samples, "http_server_request_duration_seconds_bucket", {
              http_route: "/id",
              le: "+Inf",
            }),
            total,
          );
          assert.equal(
            types.get("http_server_request_duration_seconds"),
            "histogram",
          );
        });
      } finally {
        client.close();
      }
      const status = await child.stop();
      assert.equal(status.code, 0, child.stderr);
    },
  });
}

Deno.test({
  name:
    "workers: shutdown drains every worker, and the report sums all of them",
  ignore,
  async fn() {
    await using child = startFixture("h1");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    const base = `http://127.0.0.1:${port}`;
    const slowClient = freshClient();
    await hitBoth(slowClient, base);
    const slow = await inFlightOnBoth(base, "/slow", slowClient);
    const status = await child.stop("SIGTERM");
    const answers = await Promise.all(slow);
    slowClient.close();
    assert.equal(status.code, 0, child.stderr);
    for (const a of answers) assert.equal(a.status, 200, a.body);
    assert.equal(new Set(answers.map((a) => a.body)).size, 2);
    const report = JSON.parse((await child.find(/\{"report":.*\}/))[0]).report;
    assert.equal(report.completed, slow.length, child.stdout);
    assert.equal(report.aborted, 0);
    assert.equal(
      child.stdout.match(/"report"/g)?.length,
      1,
      "only the main thread reports",
    );
  },
});

Deno.test({
  name: "workers: a second signal forces every worker",
  ignore,
  async fn() {
    await using child = startFixture("h1");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    const client = freshClient();
    await hitBoth(client, `http://127.0.0.1:${port}`);
    const hung = await inFlightOnBoth(
      `http://127.0.0.1:${port}`,
      "/hang",
      client,
    );
    child.process.kill("SIGTERM");
    // Every listener closed: both threads are draining.
    const alive = forAWhile();
    while (alive() && !(await refused(port))) await pause();
    assert.ok(await refused(port), "every listener closed");
    const status = await child.stop("SIGTERM");
    const answers = await Promise.all(hung);
    client.close();
    assert.equal(status.code, 0, child.stderr);
    for (const a of answers) assert.equal(a.status, 503, a.body);
    const report = JSON.parse((await child.find(/\{"report":.*\}/))[0]).report;
    assert.equal(report.aborted, hung.length, child.stdout);
    assert.equal(report.completed, 0);
  },
});

Deno.test({
  name: "workers: server.reloadTls() in one thread reloads every worker",
  ignore,
  async fn() {
    await using child = startFixture("h1", "tls");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    const before = await threadsByCert(port);
    assert.deepEqual(new Set(before.values()), new Set(["localhost"]));
    assert.equal((await getTls(port, "/reload")).body, "reloaded");
    const after = await threadsByCert(port);
    assert.deepEqual(new Set(after.values()), new Set(["Palisade Alt Leaf"]));
    assert.deepEqual(new Set(after.keys()), new Set(before.keys()));
    const status = await child.stop();
    assert.equal(status.code, 0, child.stderr);
  },
});

Deno.test({
  name: "workers: server.shutdown() in a worker thread stops the whole group",
  ignore,
  async fn() {
    await using child = startFixture("h1");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    // One connection is served by one thread: find one on the worker.
    let stopped = false;
    const alive = forAWhile();
    while (alive() && !stopped) {
      const conn = await RawConn.open(port);
      await conn.get("/id");
      if (!JSON.parse((await conn.readResponse()).body).main) {
        await conn.get("/stop");
        assert.equal((await conn.readResponse()).status, 202);
        stopped = true;
      }
      conn.close();
      if (!stopped) await pause();
    }
    assert.ok(stopped, "a connection reached the worker thread");
    const status = await child.exit();
    assert.equal(status.code, 0, child.stderr);
    assert.match(child.stdout, /\{"report":\{"completed":\d+,"aborted":0/);
  },
});

Deno.test({
  name: "workers: a crashed worker is logged and started again",
  ignore,
  async fn() {
    await using child = startFixture("h1");
    const port = Number((await child.find(/\{"port":(\d+)\}/))[1]);
    const base = `http://127.0.0.1:${port}`;
    const client = freshClient();
    try {
      await hitBoth(client, base);
      let crashed = "";
      const alive = forAWhile();
      while (alive() && crashed === "") {
        const res = await get(client, `${base}/crash`);
        if (res.status === 202) crashed = res.worker;
      }
      assert.notEqual(crashed, "", "a request reached the worker thread");
      await child.find(/worker 1 crashed: .*fixture crash.*restarting it/);
      // The restarted worker has a new id; its metrics join the sum.
      let restarted = "";
      const stillAlive = forAWhile();
      while (stillAlive() && restarted === "") {
        const { body } = await get(client, `${base}/id`);
        const id = JSON.parse(body);
        if (!id.main && id.id !== crashed) restarted = id.id;
        else await pause();
      }
      assert.notEqual(restarted, "", "the worker serves again");
      const { samples } = parseExposition(
        (await get(client, `${base}/metrics`)).body,
      );
      assert.equal(one(samples, "palisade_metrics_workers"), 2);
    } finally {
      client.close();
    }
    const status = await child.stop();
    assert.equal(status.code, 0, child.stderr);
  },
});

Deno.test({
  name: "workers: deno serve --parallel aggregates /metrics over every thread",
  ignore,
  async fn() {
    await using child = new Child([
      "serve",
      "--parallel",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      PARALLEL,
    ], { DENO_JOBS: "2" });
    const port = Number(
      (await child.find(/Listening on http:\/\/[^:]+:(\d+)/))[1],
    );
    const base = `http://127.0.0.1:${port}`;
    const client = freshClient();
    try {
      const perWorker = await hitBoth(client, base);
      const total = [...perWorker.values()].reduce((a, b) => a + b, 0);
      await scrapeBoth(client, base, (text) => {
        const { samples } = parseExposition(text);
        assert.equal(one(samples, "palisade_metrics_workers"), 2);
        assert.equal(
          one(samples, "http_server_request_duration_seconds_count", {
            http_route: "/id",
          }),
          total,
        );
      });
    } finally {
      client.close();
    }
    const status = await child.stop();
    assert.equal(status.code, 0, child.stderr);
  },
});

Deno.test("workers: the option is validated before anything starts", () => {
  const app = new App();
  for (const workers of [-1, 1.5, 257, Number.NaN]) {
    assert.throws(
      () => serve(app, { workers, port: 0, shutdown: { signals: [] } }),
      {
        name: "TypeError",
        message: `Option workers must be an integer from 0 to 256, got ${
          String(workers)
        }`,
      },
    );
  }
});

Deno.test("workers: 1 serves in this thread alone", async () => {
  const app = new App();
  app.get("/", (ctx) => ctx.text("ok"));
  app.get("/metrics", app.metrics.handler());
  const server = serve(app, {
    workers: 1,
    port: 0,
    hostname: "127.0.0.1",
    shutdown: { signals: [] },
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  assert.equal(await (await fetch(`${base}/`)).text(), "ok");
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.ok(!text.includes("palisade_metrics_workers"), text);
  const report = await server.shutdown();
  assert.equal(report.aborted, 0);
});
