/**
 * The worker side of `serve(app, { workers })`: in a Worker started by the
 * main thread, `serve()` listens on the main thread's port with
 * `reusePort`, installs no signal listeners, joins the metrics group, and
 * follows the main thread's messages (shut down, reload TLS); it posts its
 * report when drained.
 *
 * @module
 */

import type { App } from "../app/app.ts";
import { nonNegativeInt } from "../internal/validate.ts";
import { joinMetricsGroup } from "../observe/metrics_group.ts";
import type { ServeOptions, Server, ShutdownReport } from "./options.ts";
import {
  Calls,
  errorText,
  groupKey,
  memberOptions,
  type Reloaded,
  type ServeOne,
  TAG,
  type ToMain,
  type ToWorker,
} from "./worker_protocol.ts";

/** Serves in a worker thread, driven by the main thread's messages. */
export function serveAsWorker(
  app: App<object>,
  options: ServeOptions,
  port: number,
  serveOne: ServeOne,
): Server {
  const scope = globalThis as unknown as {
    postMessage(m: ToMain): void;
    addEventListener(t: "message", f: (e: MessageEvent) => void): void;
  };
  const post = (m: ToMain): void => scope.postMessage(m);
  const server = serveOne(app, {
    ...memberOptions(options, port),
    onListen: undefined,
  });
  const leave = joinMetricsGroup(app.metrics, groupKey(port));
  server.finished.then(
    (report) => {
      leave();
      post({ tag: TAG, type: "finished", report });
    },
    (error) => {
      leave();
      post({ tag: TAG, type: "failed", error: errorText(error) });
    },
  );
  const calls = new Calls();
  scope.addEventListener("message", (e) => {
    const m = e.data as ToWorker | Reloaded;
    if (m?.tag !== TAG) return;
    if (m.type === "shutdown") {
      server.shutdown(m.graceMs === undefined ? {} : { graceMs: m.graceMs });
    } else if (m.type === "reloadTls") {
      server.reloadTls(m.tls).then(
        () => post({ tag: TAG, type: "reloaded", id: m.id }),
        (error) =>
          post({
            tag: TAG,
            type: "reloaded",
            id: m.id,
            error: errorText(error),
          }),
      );
    } else {
      calls.settle(m);
    }
  });
  post({ tag: TAG, type: "listening" });
  // The main thread reports for the group and terminates this worker, so
  // code awaiting `finished` here never runs twice.
  const never = new Promise<ShutdownReport>(() => {});
  return {
    addr: server.addr,
    get draining() {
      return server.draining;
    },
    finished: never,
    shutdown(opts) {
      if (opts?.graceMs !== undefined) nonNegativeInt("graceMs", opts.graceMs);
      post({ tag: TAG, type: "shutdown", graceMs: opts?.graceMs });
      return never;
    },
    reloadTls(tls) {
      return calls.start((id) =>
        post({ tag: TAG, type: "reloadTls", id, tls })
      );
    },
    health: () => server.health(),
  };
}
