/**
 * The example App every deployment guide in `docs/deploy/` runs: a small
 * JSON service with a body-limited POST, a slow route that honours its
 * deadline, Prometheus metrics, an access log, and `trustProxy` for a
 * reverse proxy on the same host (nginx on 127.0.0.1).
 *
 * This module only builds the App and exports it, so `deno serve` and Deno
 * Deploy can serve it as it is:
 *
 *   deno serve --port 8000 deploy/app.ts
 *
 * `deploy/main.ts` serves the same App with `serve()` (the h1 engine, its
 * timeouts, graceful shutdown and `/healthz`); systemd, Docker and
 * `deno compile` run that file.
 *
 * @module
 */

import { accessLog, App } from "../mod.ts";

/** Largest body `POST /echo` accepts, in bytes; bigger ones get 413. */
export const ECHO_BODY_BYTES = 64 * 1024;
/** Longest wait `GET /slow` accepts, in ms (below the deadline). */
export const SLOW_MAX_MS = 5_000;
/** Deadline of every request, in ms; nginx's proxy_read_timeout is longer. */
export const DEADLINE_MS = 10_000;

/**
 * The example App; `deploy/main.ts` adds `/healthz` when it serves it.
 *
 * @example Usage
 * ```ts
 * import app from "./app.ts";
 * const res = await app.request("/");
 * await res.json(); // { hello: "palisade", client: "127.0.0.1", host: null }
 * ```
 */
const app = new App({
  // The App-wide limits; nginx's client_max_body_size matches bodyBytes.
  limits: { bodyBytes: 1024 * 1024 },
  // A request still running after 10 s is answered 503 (and its
  // ctx.signal aborts); nginx waits longer, so this 503 reaches the client.
  deadlineMs: DEADLINE_MS,
  // Believe X-Forwarded-For only from nginx on this host.
  trustProxy: { proxies: ["127.0.0.1"] },
  // Under `deno serve` and Deno Deploy: in-flight requests get 4 s after
  // SIGINT/SIGTERM (Deploy kills an isolate 5 s after its SIGINT).
  graceMs: 4_000,
  accessLog: accessLog(),
});

// Who is asking, as the App sees it: the real client behind nginx.
app.get("/", (ctx) =>
  ctx.json({
    hello: "palisade",
    client: ctx.remote.hostname,
    host: ctx.header("host"),
  }));

// Echoes a text body of at most ECHO_BODY_BYTES.
app.post(
  "/echo",
  { limits: { bodyBytes: ECHO_BODY_BYTES } },
  async (ctx) => ctx.text(await ctx.body.text()),
);

// Answers after ?ms= milliseconds (at most SLOW_MAX_MS), or stops waiting
// when the request is aborted (deadline, forced shutdown, client gone).
app.get("/slow", async (ctx) => {
  const ms = Math.min(Number(ctx.query.get("ms") ?? 1000) || 0, SLOW_MAX_MS);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
  ctx.signal.throwIfAborted();
  return ctx.json({ waitedMs: ms });
});

app.get("/metrics", app.metrics.handler());

export default app;
