/**
 * Serves the example App (`deploy/app.ts`) with `serve()`: the h1 engine
 * with its timeouts and connection cap, `/healthz` wired to readiness, and a
 * graceful shutdown on SIGTERM or SIGINT. The systemd unit, the Dockerfile
 * and the `deno compile` guide run this file.
 *
 * Environment (each optional; `--allow-env` must list the ones read):
 *
 * | variable | default | |
 * | --- | --- | --- |
 * | `HOST` | `127.0.0.1` | interface to listen on |
 * | `PORT` | `8000` | port; 0 picks a free one |
 * | `MAX_CONNECTIONS` | `10000` | open connections; keep below `ulimit -n` |
 * | `GRACE_MS` | `10000` | how long in-flight requests get after SIGTERM |
 * | `READINESS_DELAY_MS` | `0` | how long `/healthz` says 503 before the listener closes |
 *
 * It prints `Listening on http://HOST:PORT/` once listening and a
 * `Stopped {...}` line with the shutdown report before it exits (0).
 *
 *   deno run --allow-net=127.0.0.1:8000 \
 *     --allow-env=HOST,PORT,MAX_CONNECTIONS,GRACE_MS,READINESS_DELAY_MS,DENO_TRUST_PROXY_HEADERS \
 *     deploy/main.ts
 *
 * @module
 */

import { serve } from "../mod.ts";
import app from "./app.ts";

function env(name: string, fallback: string): string {
  return Deno.env.get(name) ?? fallback;
}

function int(name: string, fallback: number): number {
  const text = env(name, String(fallback));
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(
      `Environment variable ${name} must be a non-negative integer, got ${text}`,
    );
  }
  return value;
}

const server = serve(app, {
  transport: "h1",
  hostname: env("HOST", "127.0.0.1"),
  port: int("PORT", 8000),
  maxConnections: int("MAX_CONNECTIONS", 10_000),
  shutdown: {
    graceMs: int("GRACE_MS", 10_000),
    readinessDelayMs: int("READINESS_DELAY_MS", 0),
  },
  onListen: ({ hostname, port }) =>
    console.log(`Listening on http://${hostname}:${port}/`),
});
app.get("/healthz", server.health());

const report = await server.finished;
console.log(`Stopped ${JSON.stringify(report)}`);
