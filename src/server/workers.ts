/**
 * Multi-core serving: `serve(app, { workers: n })`. The main thread serves
 * like a plain `serve()` (so `workers: 1` is exactly today's server, port 0
 * works, and `server.addr` is real at once) and starts n − 1 Deno Workers on
 * `Deno.mainModule`. A Worker cannot receive an App, so each re-runs the
 * program; its `serve()` call recognises the worker by its name
 * (`palisade worker <i> port <port>`) and, instead of starting more
 * workers, serves the same port with `reusePort` (the kernel spreads
 * connections over every listener) and no signal listeners.
 *
 * Signals reach the main thread: it starts its own graceful shutdown and
 * tells every worker, which drains the same way and posts its report back;
 * the main's `finished` resolves with the sum once every worker reported,
 * and terminates them. A worker that crashes is logged and, unless the
 * server is shutting down, started again after a backoff (100 ms, doubling
 * up to 10 s while it keeps crashing within 30 s of starting).
 *
 * @module
 */

import type { App } from "../app/app.ts";
import { joinMetricsGroup } from "../observe/metrics_group.ts";
import type {
  ServeOptions,
  Server,
  ShutdownReport,
  TlsOptions,
} from "./options.ts";
import { defaultSignals } from "./shutdown.ts";
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
import { serveAsWorker } from "./worker_thread.ts";

/** Most workers `serve()` starts. */
export const MAX_WORKERS = 256;
const WORKER_NAME = /^palisade worker (\d+) port (\d+)$/;
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that crashes sooner than this after starting backs off longer. */
const STABLE_MS = 30_000;
/**
 * How long after the grace period and readiness delay a shutdown waits for
 * a worker's report before terminating it, in ms.
 */
const REPORT_SLACK_MS = 2_000;

/**
 * Serves `app` as part of a worker group when `options.workers` asks for
 * more than one worker, or when this thread is one of the workers; null
 * when `serve()` should serve alone.
 *
 * @throws {TypeError} when `workers` is not an integer from 0 to 256.
 * @throws {Error} when the main module cannot be read (`--allow-read`), or
 * `reusePort` needs `--unstable-net` (h1 transport, or tls) and it is not
 * given.
 */
export function serveWorkers(
  app: App<object>,
  options: ServeOptions,
  serveOne: ServeOne,
): Server | null {
  const count = workerCount(options.workers);
  const role = WORKER_NAME.exec(workerName());
  if (role !== null && count !== 1) {
    return serveAsWorker(app, options, Number(role[2]), serveOne);
  }
  return count === 1 ? null : new WorkerGroup(app, options, count, serveOne);
}

/** Validates `workers`: 0 means one per CPU core. */
function workerCount(workers: number | undefined): number {
  if (workers === undefined) return 1;
  if (
    !Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS
  ) {
    throw new TypeError(
      `Option workers must be an integer from 0 to ${MAX_WORKERS}, got ${
        String(workers)
      }`,
    );
  }
  return workers === 0 ? Math.max(1, navigator.hardwareConcurrency) : workers;
}

function workerName(): string {
  const scope = globalThis as { WorkerGlobalScope?: unknown; name?: unknown };
  return scope.WorkerGlobalScope !== undefined && typeof scope.name === "string"
    ? scope.name
    : "";
}

/** The state of one worker slot, like Go's `ConnState`. */
type SlotState = "starting" | "serving" | "waiting" | "done";

interface Slot {
  readonly index: number;
  worker: Worker | null;
  state: SlotState;
  startedAt: number;
  quickCrashes: number;
  restart: ReturnType<typeof setTimeout> | undefined;
  /** Resolves with the worker's report (null: none) once shutting down. */
  report: ((r: ShutdownReport | null) => void) | undefined;
  calls: Calls;
}

/** The main thread of a worker group: serves, starts and drives the workers. */
class WorkerGroup implements Server {
  readonly finished: Promise<ShutdownReport>;
  readonly #main: Server;
  readonly #options: ServeOptions;
  readonly #module: string;
  readonly #slots: Slot[] = [];
  readonly #signals: Deno.Signal[];
  readonly #leave: () => void;
  #pendingGrace: number | undefined;
  #shuttingDown = false;
  #resolve!: (r: ShutdownReport) => void;
  #reject!: (e: unknown) => void;
  #onSignal = (): void => {
    this.shutdown(this.#shuttingDown ? { graceMs: 0 } : undefined);
  };

  constructor(
    app: App<object>,
    options: ServeOptions,
    count: number,
    serveOne: ServeOne,
  ) {
    this.#options = options;
    this.#module = mainModule();
    this.#main = serveMain(app, options, serveOne);
    this.finished = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const port = this.#main.addr.port;
    this.#leave = joinMetricsGroup(app.metrics, groupKey(port));
    for (let index = 1; index < count; index++) {
      const slot: Slot = {
        index,
        worker: null,
        state: "starting",
        startedAt: 0,
        quickCrashes: 0,
        restart: undefined,
        report: undefined,
        calls: new Calls(),
      };
      this.#slots.push(slot);
      this.#start(slot);
    }
    this.#signals = options.shutdown?.signals ?? defaultSignals();
    for (const sig of this.#signals) {
      Deno.addSignalListener(sig, this.#onSignal);
    }
  }

  get addr(): Deno.NetAddr {
    return this.#main.addr;
  }

  get draining(): boolean {
    return this.#main.draining;
  }

  health(): () => Response {
    return this.#main.health();
  }

  async reloadTls(tls?: TlsOptions): Promise<void> {
    await this.#main.reloadTls(tls);
    await Promise.all(
      this.#slots.filter((s) => s.state === "serving").map((s) =>
        s.calls.start((id) =>
          this.#post(s, { tag: TAG, type: "reloadTls", id, tls })
        )
      ),
    );
  }

  shutdown(options?: { graceMs?: number }): Promise<ShutdownReport> {
    this.#main.shutdown(options); // validates graceMs
    const graceMs = options?.graceMs;
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      this.#collect(graceMs);
    }
    if (graceMs !== undefined) this.#pendingGrace = graceMs;
    for (const slot of this.#slots) {
      if (slot.state === "serving") {
        this.#post(slot, { tag: TAG, type: "shutdown", graceMs });
      }
    }
    return this.finished;
  }

  /** Waits for the main server and every worker, then reports the sum. */
  async #collect(graceMs: number | undefined): Promise<void> {
    const start = performance.now();
    const limit = (graceMs ?? this.#options.shutdown?.graceMs ?? 10_000) +
      (this.#options.shutdown?.readinessDelayMs ?? 0) + REPORT_SLACK_MS;
    const reports = this.#slots.map((slot) => this.#awaitReport(slot, limit));
    let main: ShutdownReport;
    try {
      main = await this.#main.finished;
    } catch (error) {
      await Promise.all(reports);
      this.#stop();
      this.#reject(error);
      return;
    }
    const sum = { completed: main.completed, aborted: main.aborted };
    for (const report of await Promise.all(reports)) {
      if (report === null) continue;
      sum.completed += report.completed;
      sum.aborted += report.aborted;
    }
    this.#stop();
    this.#resolve({ ...sum, durationMs: performance.now() - start });
  }

  #awaitReport(slot: Slot, limitMs: number): Promise<ShutdownReport | null> {
    clearTimeout(slot.restart);
    if (slot.state === "waiting" || slot.state === "done") {
      slot.state = "done";
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        console.error(
          `palisade: worker ${slot.index} did not report within ${limitMs} ms of the shutdown; terminating it`,
        );
        slot.report?.(null);
      }, limitMs);
      slot.report = (report) => {
        clearTimeout(timer);
        slot.report = undefined;
        slot.state = "done";
        slot.worker?.terminate();
        slot.worker = null;
        resolve(report);
      };
    });
  }

  /** Terminates what is left and removes the signal listeners. */
  #stop(): void {
    for (const slot of this.#slots) {
      clearTimeout(slot.restart);
      slot.calls.failAll(`Worker ${slot.index} has shut down`);
      slot.worker?.terminate();
      slot.worker = null;
      slot.state = "done";
    }
    this.#leave();
    for (const sig of this.#signals) {
      try {
        Deno.removeSignalListener(sig, this.#onSignal);
      } catch { /* already removed */ }
    }
  }

  #post(slot: Slot, message: ToWorker | Reloaded): void {
    slot.worker?.postMessage(message);
  }

  #start(slot: Slot): void {
    const port = this.#main.addr.port;
    const worker = new Worker(this.#module, {
      type: "module",
      name: `palisade worker ${slot.index} port ${port}`,
    });
    slot.worker = worker;
    slot.state = "starting";
    slot.startedAt = performance.now();
    worker.onmessage = (e) => this.#receive(slot, e.data as ToMain);
    worker.onerror = (e) => {
      e.preventDefault();
      this.#crashed(slot, e.message);
    };
  }

  #receive(slot: Slot, m: ToMain): void {
    if (m?.tag !== TAG) return;
    switch (m.type) {
      case "listening":
        slot.state = "serving";
        if (this.#shuttingDown) {
          this.#post(slot, {
            tag: TAG,
            type: "shutdown",
            graceMs: this.#pendingGrace,
          });
        }
        return;
      case "finished":
        slot.report?.(m.report);
        return;
      case "failed":
        console.error(
          `palisade: worker ${slot.index} failed to shut down: ${m.error}`,
        );
        slot.report?.(null);
        return;
      case "shutdown":
        this.shutdown(m.graceMs === undefined ? {} : { graceMs: m.graceMs })
          .catch(() => {});
        return;
      case "reloadTls":
        this.reloadTls(m.tls).then(
          () => this.#post(slot, { tag: TAG, type: "reloaded", id: m.id }),
          (error) =>
            this.#post(slot, {
              tag: TAG,
              type: "reloaded",
              id: m.id,
              error: errorText(error),
            }),
        );
        return;
      case "reloaded":
        slot.calls.settle(m);
    }
  }

  #crashed(slot: Slot, message: string): void {
    slot.worker?.terminate();
    slot.worker = null;
    slot.calls.failAll(`Worker ${slot.index} crashed: ${message}`);
    if (this.#shuttingDown || slot.state === "done") {
      console.error(
        `palisade: worker ${slot.index} crashed while shutting down: ${message}`,
      );
      slot.report?.(null);
      return;
    }
    const quick = performance.now() - slot.startedAt < STABLE_MS;
    slot.quickCrashes = quick ? slot.quickCrashes + 1 : 0;
    const delay = Math.min(
      RESTART_MAX_MS,
      RESTART_MIN_MS * 2 ** Math.max(0, slot.quickCrashes - 1),
    );
    console.error(
      `palisade: worker ${slot.index} crashed: ${message}; restarting it in ${delay} ms`,
    );
    slot.state = "waiting";
    slot.restart = setTimeout(() => this.#start(slot), delay);
  }
}

/** The main module, checked readable: every worker loads it again. */
function mainModule(): string {
  const url = Deno.mainModule;
  if (url.startsWith("file:")) {
    const state = Deno.permissions.querySync({
      name: "read",
      path: new URL(url),
    }).state;
    if (state !== "granted") {
      throw new Error(
        `Option workers needs read access to the main module ${
          new URL(url).pathname
        }, which every worker loads again (--allow-read)`,
      );
    }
  }
  return url;
}

/**
 * The main thread's own server. Checks `--unstable-net` first where
 * `reusePort` needs it: without the flag Deno exits the process instead of
 * throwing. `Deno.listenDatagram` exists exactly when the flag is given.
 */
function serveMain(
  app: App<object>,
  options: ServeOptions,
  serveOne: ServeOne,
): Server {
  const needsFlag = (options.transport ?? "h1") === "h1" ||
    options.tls !== undefined;
  const hasFlag =
    typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
  if (needsFlag && !hasFlag) {
    throw new Error(
      "Option workers needs Deno's --unstable-net flag: every worker listens with reusePort, which is unstable on the h1 transport and with tls",
    );
  }
  return serveOne(app, memberOptions(options, options.port ?? 8000));
}
