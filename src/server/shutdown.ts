/**
 * A running server and its graceful shutdown: readiness turns 503, after
 * `readinessDelayMs` the listener stops, open SSE streams and WebSockets
 * end, in-flight requests get `graceMs`, then what is left is cut.
 *
 * @module
 */

import { type App, shutdownReason } from "../app/app.ts";
import { problem } from "../http/errors.ts";
import { bool, nonNegativeInt } from "../internal/validate.ts";
import type { Transport } from "../transport/types.ts";
import type {
  ServeOptions,
  Server,
  ShutdownReport,
  TlsOptions,
} from "./options.ts";
import { TlsReloader } from "./tls_reload.ts";

/**
 * After the App has aborted what was left, how long the transport gets to
 * write those 503s and close on its own before it is told to close, in ms.
 */
const FLUSH_MS = 100;
/** How long to wait for a told transport to close its connections, in ms. */
const CLOSE_WAIT_MS = 400;

const HEALTHY_BODY = '{"status":"ok"}';
const HEALTHY_HEADERS = {
  "content-type": "application/json",
  "cache-control": "no-store",
};

/** The server `serve()` returns; see {@linkcode Server}. */
export class RunningServer implements Server {
  readonly finished: Promise<ShutdownReport>;
  #app: App<object>;
  #transport: Transport;
  #graceMs: number;
  #readinessDelayMs: number;
  #options: ServeOptions;
  #signals: Deno.Signal[];
  #onSignal = (): void => {
    if (this.#draining) this.#force();
    else this.shutdown();
  };
  #draining = false;
  #resolve!: (report: ShutdownReport) => void;
  #reject!: (error: unknown) => void;
  #forceRequested = false;
  #forceWaiters: (() => void)[] = [];
  #reloader: TlsReloader | null = null;

  /**
   * Drives `transport` serving `app`; watches the certificate files when
   * `options.tls.watch` is set.
   *
   * @throws {TypeError} naming the option when one is invalid.
   */
  constructor(app: App<object>, transport: Transport, options: ServeOptions) {
    this.#app = app;
    this.#transport = transport;
    this.#options = options;
    this.#graceMs = nonNegativeInt(
      "graceMs",
      options.shutdown?.graceMs ?? 10_000,
    );
    this.#readinessDelayMs = nonNegativeInt(
      "readinessDelayMs",
      options.shutdown?.readinessDelayMs ?? 0,
    );
    this.finished = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (options.tls !== undefined) {
      this.#reloader = new TlsReloader(transport, app.metrics, options.tls);
      if (bool("tls.watch", options.tls.watch ?? false)) {
        this.#reloader.watch();
      }
    }
    this.#signals = options.shutdown?.signals ?? defaultSignals();
    for (const sig of this.#signals) {
      Deno.addSignalListener(sig, this.#onSignal);
    }
  }

  get addr(): Deno.NetAddr {
    return this.#transport.addr;
  }

  get draining(): boolean {
    return this.#draining;
  }

  reloadTls(tls?: TlsOptions): Promise<void> {
    if (this.#reloader === null) {
      return Promise.reject(new Error("The server does not use TLS"));
    }
    return this.#reloader.reload(tls);
  }

  health(): () => Response {
    return () =>
      this.#draining
        ? problem(503, "Server is shutting down", {
          "cache-control": "no-store",
        })
        : new Response(HEALTHY_BODY, { headers: HEALTHY_HEADERS });
  }

  shutdown(options?: { graceMs?: number }): Promise<ShutdownReport> {
    const graceMs = options?.graceMs === undefined
      ? this.#graceMs
      : nonNegativeInt("graceMs", options.graceMs);
    if (this.#draining) {
      if (graceMs === 0) this.#force();
      return this.finished;
    }
    this.#draining = true;
    if (graceMs === 0) this.#forceRequested = true;
    this.#run(graceMs).then(
      (report) => {
        this.#removeListeners();
        this.#resolve(report);
      },
      (error) => {
        this.#removeListeners();
        this.#reject(error);
      },
    );
    return this.finished;
  }

  /** Ends the readiness delay and the grace period now. */
  #force(): void {
    this.#forceRequested = true;
    const waiters = this.#forceWaiters;
    this.#forceWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves after `ms`, or at once when a force arrives. */
  async #wait(ms: number, until?: Promise<unknown>): Promise<void> {
    if (this.#forceRequested || ms === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        this.#forceWaiters.push(resolve);
      }),
      ...(until === undefined ? [] : [until]),
    ]);
    clearTimeout(timer);
  }

  #removeListeners(): void {
    for (const sig of this.#signals) {
      try {
        Deno.removeSignalListener(sig, this.#onSignal);
      } catch { /* already removed */ }
    }
  }

  async #run(graceMs: number): Promise<ShutdownReport> {
    const start = performance.now();
    const app = this.#app;
    const completedBefore = app.completed;
    const abortedBefore = app.aborted;
    this.#reloader?.close();
    try {
      this.#options.onShutdown?.({ graceMs });
    } catch { /* a failing hook must not stop the shutdown */ }
    // Readiness: health() says 503 while new connections are still served.
    await this.#wait(this.#readinessDelayMs);
    this.#transport.stopAccepting();
    app.drain();
    // Grace: until the App is idle and the connections are closed, the
    // grace period runs out, or a force (second signal, graceMs 0) arrives.
    await this.#wait(
      graceMs,
      app.idle().then(() => this.#transport.finished),
    );
    app.abortAll(shutdownReason());
    if (app.inflight > 0 || app.aborted > abortedBefore) {
      await within(this.#transport.finished, FLUSH_MS);
    }
    await within(this.#transport.close(), CLOSE_WAIT_MS);
    return {
      completed: app.completed - completedBefore,
      aborted: app.aborted - abortedBefore,
      durationMs: performance.now() - start,
    };
  }
}

/** Waits for `promise`, but at most `ms`; clears its timer either way. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

/** The signals that start a graceful shutdown unless `signals` says otherwise. */
export function defaultSignals(): Deno.Signal[] {
  return Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
}
