/**
 * The options of `serve()` and the shape of the running server it returns.
 *
 * @module
 */

import type { H1Options } from "../transport/h1/options.ts";

/** A certificate and its key, as PEM text or as paths of PEM files. */
export type TlsPair =
  | {
    /** Certificate chain, PEM text. */
    cert: string;
    /** Private key, PEM text. */
    key: string;
  }
  | {
    /** Path of the certificate chain PEM file. */
    certFile: string;
    /** Path of the private key PEM file. */
    keyFile: string;
  };

/**
 * TLS settings of `serve()`: the default certificate, optional ones per
 * server name, and whether to reload them when their files change.
 */
export type TlsOptions = TlsPair & {
  /**
   * Certificates chosen by the server name the client sends (SNI), keyed by
   * host name; `"*.example.com"` matches one label below `example.com`. A
   * client that sends no name, or an unknown one, gets the default pair.
   * The h1 transport only (`Deno.serve` takes one certificate): with
   * `transport: "deno"`, `serve()` throws.
   *
   * @default {undefined: one certificate for every name}
   */
  sni?: Record<string, TlsPair>;
  /**
   * Watch the certificate and key files (and those of `sni`) and reload
   * them 200 ms after the last change, as `server.reloadTls()` does. A pair
   * that does not load (half written, key not matching) is refused: the old
   * certificate stays in force, a line is logged and
   * `palisade_tls_reloads_total{result="failed"}` counts it; the next change
   * tries again. Needs `certFile`/`keyFile` and `--allow-read`; on the
   * `"deno"` transport also `reusePort: true`.
   *
   * @default {false}
   */
  watch?: boolean;
};

/** Shutdown settings of `serve()`. */
export interface ShutdownOptions {
  /**
   * How long in-flight requests get to finish after the listener closed, in
   * ms. When it runs out, every remaining request's `ctx.signal` aborts with
   * `shutdownReason()`, requests still waiting for a response get 503, and
   * open streams are cut. 0 forces at once.
   *
   * @default {10000}
   */
  graceMs?: number;
  /**
   * How long after a shutdown starts `server.health()` answers 503 while the
   * listener still accepts and serves new connections, in ms, so a load
   * balancer's readiness probe sees the 503 and stops sending before the
   * listener closes (the Kubernetes preStop pattern). 0 closes the listener
   * at once. A second signal, or `shutdown({ graceMs: 0 })`, skips it.
   *
   * @default {0}
   */
  readinessDelayMs?: number;
  /**
   * Signals that start a graceful shutdown; a second one forces it. `[]`
   * installs no listener. Listeners are removed when the server has shut
   * down.
   *
   * @default {["SIGINT", "SIGTERM"] (on Windows ["SIGINT", "SIGBREAK"])}
   */
  signals?: Deno.Signal[];
}

/**
 * Options of `serve()`. The connection options inherited from `H1Options`
 * (`headerTimeoutMs`, `bodyTimeoutMs`, `idleTimeoutMs`,
 * `tlsHandshakeTimeoutMs`, `maxTlsHandshakes`, `maxConnections`,
 * `maxRequestsPerConnection`,
 * `proxyProtocol`) apply to `transport: "h1"` only: `Deno.serve` offers no
 * such controls.
 */
export interface ServeOptions extends Omit<H1Options, "limits"> {
  /** Port to listen on; 0 picks a free port (see `server.addr`). @default {8000} */
  port?: number;
  /** Interface to listen on. @default {"0.0.0.0" (every IPv4 interface)} */
  hostname?: string;
  /**
   * Set `SO_REUSEPORT` on the listening socket, so several processes or
   * workers can listen on the same port and the kernel spreads connections
   * among them (Linux). Needs Deno's `--unstable-net` flag on the h1
   * transport, and with `tls` on the `"deno"` transport, which needs this
   * option to reload certificates (see `server.reloadTls()`).
   *
   * @default {false}
   */
  reusePort?: boolean;
  /**
   * How many threads serve the App, each on its own core. With more than 1,
   * the main thread serves and starts `workers - 1` Deno Workers that load
   * `Deno.mainModule` again, so the program runs once per worker: each
   * worker's `serve()` call, instead of starting workers, listens on the
   * same port (`reusePort` is set for every listener; the kernel spreads
   * connections). Needs `--allow-read` for the main module and, on the h1
   * transport, Deno's `--unstable-net` flag. A signal or
   * `server.shutdown()` in any thread drains every worker; `finished` in
   * the main thread resolves with the summed report (in a worker it never
   * settles: the main thread terminates it); `app.metrics.handler()`
   * answers with the sum over every worker. `onListen` runs in the main
   * thread only. A worker that crashes is logged and started again after a
   * backoff (100 ms doubling to 10 s). In-memory state (rate-limit memory
   * stores, sessions) is per worker. At most 256; 0 means one per CPU core
   * (`navigator.hardwareConcurrency`). See `docs/workers.md`.
   *
   * @default {1 (this thread only)}
   */
  workers?: number;
  /**
   * Which transport serves connections. `"h1"`: Palisade's strict HTTP/1.1
   * engine, with header, body, idle and TLS handshake timeouts, connection
   * caps and WebSockets (HTTP/1.1 only; with `tls` it announces ALPN
   * `http/1.1`). `"deno"`: `Deno.serve`, for HTTP/2; it has no connection
   * timeouts, reads an unread upload to its end after an early answer, and
   * cannot close a connection whose client stopped reading.
   *
   * @default {"h1"}
   */
  transport?: "deno" | "h1";
  /**
   * Serve HTTPS with this certificate and key. HTTP/2 is negotiated by ALPN
   * on the `"deno"` transport. The files of `certFile`/`keyFile` are read
   * when `serve()` is called, and again by `server.reloadTls()` or, with
   * `watch: true`, when they change.
   *
   * @default {undefined: plain HTTP}
   */
  tls?: TlsOptions;
  /** Graceful shutdown settings; see {@linkcode ShutdownOptions}. */
  shutdown?: ShutdownOptions;
  /** Called once listening, with the bound address. @default {nothing is printed} */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * Called once when a shutdown begins, before the listener stops, like Go's
   * `Server.RegisterOnShutdown`: stop background work or close long-lived
   * connections the App does not track. Errors it throws are ignored. The
   * outcome is reported by `server.finished`.
   *
   * @default {undefined}
   */
  onShutdown?: (info: { graceMs: number }) => void;
  /**
   * Start even though the `DENO_TRUST_PROXY_HEADERS` environment variable is
   * set. By default `serve()` refuses to start, because that variable makes
   * Deno take the client address from `X-Forwarded-For`, which any client
   * can forge. Set it only when every connection comes through a proxy that
   * overwrites that header. The App's `trustProxy` option is the safer way
   * (it believes only listed proxies). Without `--allow-env` the variable
   * cannot be read and the check is skipped.
   *
   * @default {false}
   */
  allowDenoTrustProxyHeaders?: boolean;
}

/** What `server.finished` resolves to. */
export interface ShutdownReport {
  /**
   * Requests in flight when the shutdown began (or arriving during it)
   * whose response was handed to the transport to its last byte.
   */
  completed: number;
  /**
   * Requests cut off: by the end of the grace period or a forced shutdown,
   * or because their client left before the last byte. `completed +
   * aborted` is every request that was in flight.
   */
  aborted: number;
  /** Milliseconds from the start of the shutdown until everything was closed. */
  durationMs: number;
}

/** A running server returned by `serve()`. */
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
   * Reloads the TLS certificates: from `tls` when given, else by reading the
   * `certFile`/`keyFile` (and `sni` files) given to `serve()` again. New
   * handshakes use them; connections already set up keep their session. On
   * the `"deno"` transport (which needs `reusePort: true` for it) a new
   * `Deno.serve` takes over the port and the old one drains: busy
   * connections finish their response, idle keep-alive ones are closed, and
   * a client connecting at that moment may see a reset. Resolves once new
   * connections get the new certificate.
   *
   * @throws {Error} (rejects) when the server does not use TLS, a file
   * cannot be read or a pair is invalid; the old certificates stay in force.
   */
  reloadTls(tls?: TlsOptions): Promise<void>;
  /**
   * Returns a readiness handler: 200 `{"status":"ok"}` while serving, 503
   * `application/problem+json` once a shutdown began, so load balancers
   * stop sending before connections close.
   */
  health(): () => Response;
}
