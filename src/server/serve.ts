/**
 * `serve(app, options)`: starts a transport, handles signals, and shuts down
 * gracefully.
 *
 * @module
 */

import { type App, shutdownReason } from "../app/app.ts";
import { problem } from "../http/errors.ts";
import { denoTransport } from "../transport/deno/transport.ts";
import { h1Transport } from "../transport/h1/mod.ts";
import type { H1Options } from "../transport/h1/options.ts";
import type {
  TlsPem,
  Transport,
  TransportFactory,
} from "../transport/types.ts";

/** TLS certificate and key, as PEM text or as paths of PEM files. */
export type TlsOptions =
  | {
    /** Certificate chain, PEM text. */
    cert: string;
    /** Private key, PEM text. */
    key: string;
  }
  | {
    /** Path of the certificate chain PEM file, read once at start. */
    certFile: string;
    /** Path of the private key PEM file, read once at start. */
    keyFile: string;
  };

/** Shutdown settings of {@linkcode serve}. */
export interface ShutdownOptions {
  /**
   * How long in-flight requests get to finish after shutdown starts, in ms.
   * Default 10 000. When it runs out, every remaining request's `ctx.signal`
   * aborts with {@linkcode shutdownReason}, requests still waiting for a
   * response get 503, and open streams end. 0 forces at once.
   */
  graceMs?: number;
  /**
   * Signals that start a graceful shutdown; a second one forces it. Default
   * `["SIGINT", "SIGTERM"]` (only `"SIGINT"` and `"SIGBREAK"` on Windows).
   * `[]` installs no listener. Listeners are removed when the server has
   * shut down.
   */
  signals?: Deno.Signal[];
}

/**
 * Options of {@linkcode serve}. The connection options inherited from
 * `H1Options` (`headerTimeoutMs`, `bodyTimeoutMs`, `idleTimeoutMs`,
 * `tlsHandshakeTimeoutMs`, `maxConnections`, `maxRequestsPerConnection`,
 * `proxyProtocol`) apply to `transport: "h1"` only: `Deno.serve` offers no
 * such controls.
 */
export interface ServeOptions extends Omit<H1Options, "limits"> {
  /** Port to listen on. Default 8000; 0 picks a free port (see `server.addr`). */
  port?: number;
  /** Interface to listen on. Default `"0.0.0.0"` (every IPv4 interface). */
  hostname?: string;
  /**
   * Which transport serves connections. Default `"deno"`: `Deno.serve`,
   * HTTP/1.1 and HTTP/2, available everywhere Deno runs, but without
   * connection timeouts. `"h1"`: Palisade's strict HTTP/1.1 engine with
   * timeouts and connection limits (HTTP/1.1 only, no HTTP/2).
   */
  transport?: "deno" | "h1";
  /**
   * Serve HTTPS with this certificate and key. HTTP/2 is negotiated by ALPN
   * on the `"deno"` transport. Default: plain HTTP. The files of
   * `certFile`/`keyFile` are read once, when `serve()` is called.
   */
  tls?: TlsOptions;
  /** Graceful shutdown settings; see {@linkcode ShutdownOptions}. */
  shutdown?: ShutdownOptions;
  /** Called once listening, with the bound address. Default: nothing is printed. */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * Called once when a shutdown begins, before the listener stops, like Go's
   * `Server.RegisterOnShutdown`: stop background work or close long-lived
   * connections the App does not track. Errors it throws are ignored. The
   * outcome is reported by `server.finished`.
   */
  onShutdown?: (info: { graceMs: number }) => void;
  /**
   * Start even though the `DENO_TRUST_PROXY_HEADERS` environment variable is
   * set. Default false: `serve()` refuses to start, because that variable
   * makes Deno take the client address from `X-Forwarded-For`, which any
   * client can forge. Set it only when every connection comes through a
   * proxy that overwrites that header. The App's `trustProxy` option is the
   * safer way (it believes only listed proxies). Without `--allow-env` the
   * variable cannot be read and the check is skipped.
   */
  allowDenoTrustProxyHeaders?: boolean;
}

/** What `server.finished` resolves to. */
export interface ShutdownReport {
  /** Requests in flight when the shutdown began (or arriving during it) that completed normally. */
  completed: number;
  /** Requests cut off when the grace period ran out or the shutdown was forced. */
  aborted: number;
  /** Milliseconds from the start of the shutdown until everything was closed. */
  durationMs: number;
}

/** A running server returned by {@linkcode serve}. */
export interface Server {
  /** The address actually bound (the real port when `port: 0` was given). */
  readonly addr: Deno.NetAddr;
  /** True from the start of a shutdown on. */
  readonly draining: boolean;
  /**
   * Resolves with the shutdown report once the server has stopped and its
   * signal listeners are removed. Rejects only if the shutdown itself failed
   * (a bug), after removing the listeners.
   */
  readonly finished: Promise<ShutdownReport>;
  /**
   * Starts a graceful shutdown (see {@linkcode ShutdownOptions}) and returns
   * `finished`. Calling it again while draining returns the same promise;
   * with `graceMs: 0` it forces.
   */
  shutdown(options?: { graceMs?: number }): Promise<ShutdownReport>;
  /**
   * Returns a readiness handler: 200 `{"status":"ok"}` while serving, 503
   * `application/problem+json` once draining, so load balancers stop sending
   * before connections close.
   */
  health(): () => Response;
}

/**
 * After the App has aborted what was left, how long the transport gets to
 * write those 503s and close on its own before it is told to close, in ms.
 */
const FLUSH_MS = 100;
/** How long to wait for a told transport to close its connections, in ms. */
const CLOSE_WAIT_MS = 400;

/**
 * Serves `app` until shut down by `server.shutdown()` or a signal.
 *
 * Shutdown order: mark draining (`server.health()` answers 503) → stop
 * accepting (new connections are refused, idle keep-alive connections close,
 * later responses carry `Connection: close`) → end open `ctx.stream` /
 * `ctx.sse` responses cleanly → wait up to `graceMs` for in-flight requests
 * → abort what is left (`ctx.signal.reason` is {@linkcode shutdownReason})
 * → close connections → remove signal listeners → resolve `finished`.
 *
 * @throws {Error} when `DENO_TRUST_PROXY_HEADERS` is set without
 * `allowDenoTrustProxyHeaders`, when the transport is not available, or when
 * the TLS files cannot be read.
 *
 * @example Usage
 * ```ts ignore
 * import { App, serve } from "@palisade/server";
 * const app = new App();
 * app.get("/", (ctx) => ctx.text("hello"));
 * const server = serve(app, { port: 8000, shutdown: { graceMs: 5_000 } });
 * app.get("/healthz", server.health());
 * const report = await server.finished; // after SIGINT / SIGTERM
 * console.log(report); // { completed: 3, aborted: 0, durationMs: 12.3 }
 * ```
 */
export function serve(app: App, options: ServeOptions = {}): Server {
  checkTrustProxyEnv(options.allowDenoTrustProxyHeaders === true);
  const graceMs = validateGrace(options.shutdown?.graceMs ?? 10_000);
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(
      `Option port must be an integer from 0 to 65535, got ${port}`,
    );
  }
  const tls = options.tls === undefined ? undefined : readTls(options.tls);
  let factory: TransportFactory;
  switch (options.transport ?? "deno") {
    case "deno":
      factory = denoTransport;
      break;
    case "h1":
      factory = h1Transport;
      break;
    default:
      throw new TypeError(
        `Option transport must be "deno" or "h1", got "${
          String(options.transport)
        }"`,
      );
  }
  const transport = factory(app, {
    hostname,
    port,
    tls,
    h1: options,
  });
  const server = new RunningServer(app, transport, graceMs, options);
  try {
    options.onListen?.(transport.addr);
  } catch (e) {
    server.shutdown({ graceMs: 0 });
    throw e;
  }
  return server;
}

class RunningServer implements Server {
  readonly finished: Promise<ShutdownReport>;
  #app: App;
  #transport: Transport;
  #graceMs: number;
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
  /** Ends the grace period now; replaced by #run once it waits. */
  #force: () => void = () => {
    this.#forceRequested = true;
  };

  constructor(
    app: App,
    transport: Transport,
    graceMs: number,
    options: ServeOptions,
  ) {
    this.#app = app;
    this.#transport = transport;
    this.#graceMs = graceMs;
    this.#options = options;
    this.finished = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
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

  health(): () => Response {
    return () =>
      this.#draining
        ? problem(503, "Server is shutting down", {
          "cache-control": "no-store",
        })
        : new Response('{"status":"ok"}', {
          headers: {
            "content-type": "application/json",
            "cache-control": "no-store",
          },
        });
  }

  shutdown(options?: { graceMs?: number }): Promise<ShutdownReport> {
    const graceMs = options?.graceMs === undefined
      ? this.#graceMs
      : validateGrace(options.graceMs);
    if (this.#draining) {
      if (graceMs === 0) this.#force();
      return this.finished;
    }
    this.#draining = true;
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
    try {
      this.#options.onShutdown?.({ graceMs });
    } catch { /* a failing hook must not stop the shutdown */ }
    this.#transport.stopAccepting();
    app.drain();

    // Grace: wait until the App is idle and the connections are closed, the
    // grace period runs out, or a force (second signal, graceMs 0) arrives.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const forced = new Promise<void>((resolve) => {
      this.#force = () => {
        this.#forceRequested = true;
        resolve();
      };
      if (this.#forceRequested || graceMs === 0) resolve();
      else timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([
      app.idle().then(() => this.#transport.finished),
      forced,
    ]);
    clearTimeout(timer);

    const aborted = app.abortAll(shutdownReason());
    if (aborted > 0) await within(this.#transport.finished, FLUSH_MS);
    await within(this.#transport.close(), CLOSE_WAIT_MS);
    return {
      completed: app.completed - completedBefore,
      aborted,
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

function defaultSignals(): Deno.Signal[] {
  return Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
}

function validateGrace(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new TypeError(
      `Option graceMs must be a non-negative integer, got ${String(ms)}`,
    );
  }
  return ms;
}

function readTls(tls: TlsOptions): TlsPem {
  if ("cert" in tls || "key" in tls) {
    const { cert, key } = tls as { cert?: string; key?: string };
    if (typeof cert !== "string" || typeof key !== "string") {
      throw new TypeError("Option tls needs both cert and key as PEM strings");
    }
    return { cert, key };
  }
  const { certFile, keyFile } = tls as { certFile?: string; keyFile?: string };
  if (typeof certFile !== "string" || typeof keyFile !== "string") {
    throw new TypeError(
      "Option tls needs either cert and key, or certFile and keyFile",
    );
  }
  return {
    cert: readPem(certFile, "certFile"),
    key: readPem(keyFile, "keyFile"),
  };
}

function readPem(path: string, option: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(`Cannot read TLS ${option} "${path}"`, { cause: e });
  }
}

/** Refuses to start when `DENO_TRUST_PROXY_HEADERS` is set, unless allowed. */
function checkTrustProxyEnv(allowed: boolean): void {
  if (allowed) return;
  const name = "DENO_TRUST_PROXY_HEADERS";
  let value: string | undefined;
  try {
    if (
      Deno.permissions.querySync({ name: "env", variable: name }).state !==
        "granted"
    ) {
      return;
    }
    value = Deno.env.get(name);
  } catch {
    return;
  }
  if (value === undefined) return;
  throw new Error(
    `Refusing to start: the ${name} environment variable is set, which makes Deno ` +
      "take the client address from X-Forwarded-For headers that any client can forge. " +
      "Unset it and use the App's trustProxy option (it believes only listed proxies), " +
      "or pass allowDenoTrustProxyHeaders: true to serve() if every connection comes " +
      "through a proxy that overwrites these headers",
  );
}
