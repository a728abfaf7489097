/**
 * The `Deno.serve` transport (HTTP/1.1, and HTTP/2 over TLS by ALPN or by
 * prior knowledge), adapted for graceful shutdown and watched so that an
 * accept loop that ends on its own (out of file descriptors) is restarted.
 *
 * How shutdown maps onto `Deno.serve` (measured on Deno 2.9.6):
 *
 * - `HttpServer.shutdown()` stops the listener (new connections are
 *   refused), closes idle keep-alive connections at once, and closes each
 *   busy connection after its response. It waits for a response body that
 *   never ends, so the App ends or cuts its streams itself before.
 * - A `Connection: close` response header alone does not make Deno's
 *   HTTP/1.1 server close the connection. The header still tells a client
 *   not to reuse it; the closing itself is done by `shutdown()`. Over
 *   HTTP/2 the header is stripped and `shutdown()` sends GOAWAY.
 * - Aborting the serve `signal` closes every connection at once, but after
 *   `shutdown()` it throws `BadResource` inside Deno (an uncaught error that
 *   kills the process), and it no longer closes anything: so
 *   {@linkcode Transport.close} aborts the signal only when `shutdown()` was
 *   never called. A connection whose client stopped reading a response
 *   cannot be closed by this transport once `shutdown()` ran: it is logged
 *   at the end of the grace period and stays open until the client leaves
 *   (the h1 transport closes it).
 * - When `accept()` fails (EMFILE: too many open files), `Deno.serve` ends
 *   its accept loop and resolves `finished`, and nothing would serve again.
 *   This transport logs it, counts it in `palisade_accept_errors_total`,
 *   and serves again on the same address after a backoff (5 ms doubling to
 *   1 s, as Go's accept loop), so service returns when descriptors free up.
 * - `Deno.serve` takes one certificate, at start. A TLS reload (which
 *   needs `reusePort: true`, and for TLS Deno's `--unstable-net` flag)
 *   starts a second `Deno.serve` on the same port with the new
 *   certificate, then shuts the old one down gracefully: its busy
 *   connections finish their response, its idle keep-alive connections are
 *   closed (clients reconnect and get the new certificate), HTTP/2
 *   connections get GOAWAY. The cost: connections still in the old
 *   listener's backlog are reset, and ones it accepted whose request had
 *   not arrived are closed, so a client connecting at that moment may see
 *   a reset (the h1 transport swaps the certificate without a new
 *   listener).
 *
 * @module
 */

import { secureContext } from "../certificates.ts";
import type { Servable, ServeInfo } from "../contract.ts";
import type { TlsPem, Transport, TransportOptions } from "../types.ts";

/** Why a TLS reload of this transport was refused. */
export const RELOAD_NEEDS_REUSE_PORT =
  "Reloading TLS on the deno transport needs the reusePort: true option " +
  "(with Deno's --unstable-net flag): a new Deno.serve takes over the port";

/** First and longest pause before serving again after an unexpected end, in ms. */
const BACKOFF_MIN_MS = 5;
const BACKOFF_MAX_MS = 1000;
/** A listener that served this long before ending resets the backoff, in ms. */
const HEALTHY_MS = 1000;

/**
 * Serves `app` with `Deno.serve` and returns a {@linkcode Transport} for
 * `serve()` to drive. Quiet: `Deno.serve`'s "Listening on" line is
 * suppressed (use the `onListen` option of `serve()`).
 *
 * @example Usage
 * ```ts ignore
 * import { App } from "@palisade/server";
 * import { denoTransport } from "./transport.ts";
 * const app = new App().get("/", (ctx) => ctx.text("ok"));
 * const transport = denoTransport(app, { hostname: "127.0.0.1", port: 0, tls: undefined });
 * transport.stopAccepting();
 * await transport.finished;
 * ```
 */
export function denoTransport(
  app: Servable,
  options: TransportOptions,
): Transport {
  return new DenoTransport(app, options);
}

class DenoTransport implements Transport {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  #app: Servable;
  #options: TransportOptions;
  #handler: (req: Request, info: ServeInfo) => Response | Promise<Response>;
  #draining = false;
  #shutdownCalled = false;
  #stopping = false;
  #server!: Deno.HttpServer<Deno.NetAddr>;
  /** Servers replaced by a TLS reload, finishing their connections. */
  #retired = new Set<Deno.HttpServer<Deno.NetAddr>>();
  #tls: TlsPem | undefined;
  #abort!: AbortController;
  #boundAt = 0;
  #backoff = BACKOFF_MIN_MS;
  #restart: ReturnType<typeof setTimeout> | undefined;
  #resolve!: () => void;
  /** The current server (or its restart) ended during a stop. */
  #currentDone = false;

  constructor(app: Servable, options: TransportOptions) {
    if (options.tls?.sni !== undefined) {
      throw new TypeError(
        "Option tls.sni needs the h1 transport: Deno.serve takes one certificate",
      );
    }
    this.#app = app;
    this.#options = options;
    this.#tls = options.tls;
    const fetch = app.fetch.bind(app);
    this.#handler = (req, info) => {
      const res = fetch(req, info);
      if (!this.#draining) return res;
      return res instanceof Promise
        ? res.then(closeConnection)
        : closeConnection(res);
    };
    this.finished = new Promise((resolve) => this.#resolve = resolve);
    this.#serve(options.port);
    this.addr = this.#server.addr;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Binds and serves on `port`; throws what `Deno.serve` throws. */
  #serve(port: number): void {
    const abort = new AbortController();
    const o = this.#options;
    const tls = this.#tls;
    const base = {
      hostname: o.hostname,
      port,
      reusePort: o.reusePort === true,
      signal: abort.signal,
      onListen() {},
    };
    const server = tls === undefined
      ? Deno.serve(base, this.#handler)
      : Deno.serve({ ...base, cert: tls.cert, key: tls.key }, this.#handler);
    this.#abort = abort;
    this.#server = server;
    this.#boundAt = performance.now();
    server.finished.then(
      () => this.#ended(server, undefined),
      (error) => this.#ended(server, error),
    );
  }

  /**
   * Serves with `tls` from now on: a new server on the same port, then a
   * graceful shutdown of the old one (see the module doc).
   */
  reloadTls(tls: TlsPem): Promise<void> {
    if (this.#tls === undefined) {
      return Promise.reject(new Error("The server does not use TLS"));
    }
    if (tls.sni !== undefined) {
      return Promise.reject(
        new TypeError(
          "Option tls.sni needs the h1 transport: Deno.serve takes one certificate",
        ),
      );
    }
    if (this.#options.reusePort !== true) {
      return Promise.reject(new Error(RELOAD_NEEDS_REUSE_PORT));
    }
    if (this.#stopping) {
      return Promise.reject(new Error("The server is shutting down"));
    }
    try {
      secureContext(tls); // refuse a bad pair before anything changes
    } catch (e) {
      return Promise.reject(
        new Error(`The TLS certificate is invalid: ${(e as Error).message}`, {
          cause: e,
        }),
      );
    }
    const previous = this.#tls;
    const old = this.#restart === undefined ? this.#server : null;
    this.#tls = tls;
    try {
      if (old !== null) this.#serve(this.addr.port);
    } catch (e) {
      this.#tls = previous;
      return Promise.reject(e);
    }
    if (old !== null) {
      this.#retired.add(old);
      old.shutdown().catch(() => {});
    }
    return Promise.resolve();
  }

  /** `server` ended: expected after a stop, else served again after a backoff. */
  #ended(server: Deno.HttpServer<Deno.NetAddr>, error: unknown): void {
    if (this.#retired.delete(server)) {
      this.#maybeFinished();
      return;
    }
    if (server !== this.#server) return;
    if (this.#stopping) {
      this.#currentEnded();
      return;
    }
    if (performance.now() - this.#boundAt >= HEALTHY_MS) {
      this.#backoff = BACKOFF_MIN_MS;
    }
    this.#scheduleRestart(error);
  }

  #scheduleRestart(error: unknown): void {
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, BACKOFF_MAX_MS);
    this.#app.metrics?.acceptFailed?.("deno");
    console.error(
      `Palisade: the deno transport stopped accepting on ${this.addr.hostname}:${this.addr.port} (${
        reasonOf(error)
      }); serving again in ${delay} ms`,
    );
    this.#restart = setTimeout(() => {
      this.#restart = undefined;
      if (this.#stopping) {
        this.#currentEnded();
        return;
      }
      try {
        this.#serve(this.addr.port);
      } catch (e) {
        this.#scheduleRestart(e);
      }
    }, delay);
  }

  #currentEnded(): void {
    this.#currentDone = true;
    this.#maybeFinished();
  }

  #maybeFinished(): void {
    if (this.#currentDone && this.#retired.size === 0) this.#resolve();
  }

  stopAccepting(): void {
    if (this.#shutdownCalled) return;
    this.#draining = true;
    this.#stopping = true;
    this.#shutdownCalled = true;
    if (this.#restart !== undefined) {
      clearTimeout(this.#restart);
      this.#restart = undefined;
      this.#currentEnded(); // no server is running
      return;
    }
    // Not awaited: it resolves only when every connection is closed, which
    // serve() bounds by its grace period. `finished` reports the end.
    this.#server.shutdown().catch(() => {});
  }

  async close(): Promise<void> {
    this.#draining = true;
    this.#stopping = true;
    if (this.#restart !== undefined) {
      clearTimeout(this.#restart);
      this.#restart = undefined;
      this.#currentEnded();
    }
    // Aborting the signal after shutdown() crashes Deno (BadResource); only
    // a server that never started a graceful shutdown can be cut off.
    if (!this.#shutdownCalled && !this.#abort.signal.aborted) {
      this.#abort.abort();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      this.finished.then(() => true),
      new Promise<boolean>((r) => timer = setTimeout(() => r(false), 50)),
    ]);
    clearTimeout(timer);
    if (!done) {
      console.error(
        "Palisade: connections are still open after the grace period: Deno.serve " +
          "cannot close a connection whose client stopped reading; the process " +
          'exits once they close. The h1 transport (transport: "h1") cuts them.',
      );
    }
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return error === undefined ? "its accept loop ended" : String(error);
}

/** Marks a response so the client does not reuse the connection. */
function closeConnection(res: Response): Response {
  if (res.status === 101) return res; // a WebSocket handshake must stay intact
  try {
    res.headers.set("connection", "close");
    return res;
  } catch {
    // Immutable headers (Response.redirect, Response.error, fetch results).
    const copy = new Response(res.body, res);
    copy.headers.set("connection", "close");
    return copy;
  }
}
