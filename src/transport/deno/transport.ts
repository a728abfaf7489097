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
 *
 * @module
 */

import type { Servable, ServeInfo } from "../contract.ts";
import type { Transport, TransportOptions } from "../types.ts";

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
  #abort!: AbortController;
  #boundAt = 0;
  #backoff = BACKOFF_MIN_MS;
  #restart: ReturnType<typeof setTimeout> | undefined;
  #resolve!: () => void;

  constructor(app: Servable, options: TransportOptions) {
    this.#app = app;
    this.#options = options;
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
    const base = {
      hostname: o.hostname,
      port,
      signal: abort.signal,
      onListen() {},
    };
    const server = o.tls === undefined
      ? Deno.serve(base, this.#handler)
      : Deno.serve(
        { ...base, cert: o.tls.cert, key: o.tls.key },
        this.#handler,
      );
    this.#abort = abort;
    this.#server = server;
    this.#boundAt = performance.now();
    server.finished.then(
      () => this.#ended(server, undefined),
      (error) => this.#ended(server, error),
    );
  }

  /** `server` ended: expected after a stop, else served again after a backoff. */
  #ended(server: Deno.HttpServer<Deno.NetAddr>, error: unknown): void {
    if (server !== this.#server) return;
    if (this.#stopping) {
      this.#resolve();
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
        this.#resolve();
        return;
      }
      try {
        this.#serve(this.addr.port);
      } catch (e) {
        this.#scheduleRestart(e);
      }
    }, delay);
  }

  stopAccepting(): void {
    if (this.#shutdownCalled) return;
    this.#draining = true;
    this.#stopping = true;
    this.#shutdownCalled = true;
    if (this.#restart !== undefined) {
      clearTimeout(this.#restart);
      this.#restart = undefined;
      this.#resolve(); // no server is running
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
      this.#resolve();
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
