/**
 * The default transport: `Deno.serve` (HTTP/1.1, and HTTP/2 over TLS by ALPN
 * or by prior knowledge), adapted for graceful shutdown.
 *
 * How shutdown maps onto `Deno.serve` (measured on Deno 2.9.6):
 *
 * - `HttpServer.shutdown()` stops the listener (new connections are refused),
 *   closes idle keep-alive connections at once, and closes each busy
 *   connection after its response (HTTP/1.1 requests pipelined behind it are
 *   not answered; the `Connection: close` on that response tells the client
 *   to retry them). It waits forever for a response body that never ends, so
 *   the App ends its streams itself before.
 * - A `Connection: close` response header alone does not make Deno's
 *   HTTP/1.1 server close the connection (it stays open for the next
 *   request). The header still tells a client not to reuse it; the closing
 *   itself is done by `shutdown()`. Over HTTP/2 the header is stripped and
 *   `shutdown()` sends GOAWAY.
 * - Aborting the serve `signal` closes every connection at once, but after
 *   `shutdown()` it throws `BadResource` inside Deno (an uncaught error that
 *   kills the process). So {@linkcode Transport.close} aborts the signal only
 *   when `shutdown()` was never called; after it, a connection whose client
 *   stops reading a response cannot be closed by this transport and is left
 *   to the OS (the h1 transport closes it).
 *
 * @module
 */

import type { Servable, ServeInfo } from "../contract.ts";
import type { Transport, TransportOptions } from "../types.ts";

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
  #draining = false;
  #shutdownCalled = false;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #abort = new AbortController();

  constructor(app: Servable, options: TransportOptions) {
    const fetch = app.fetch.bind(app);
    const handler = (
      req: Request,
      info: ServeInfo,
    ): Response | Promise<Response> => {
      const res = fetch(req, info);
      if (!this.#draining) return res;
      return res instanceof Promise
        ? res.then(closeConnection)
        : closeConnection(res);
    };
    const base = {
      hostname: options.hostname,
      port: options.port,
      signal: this.#abort.signal,
      onListen() {},
    };
    this.#server = options.tls === undefined
      ? Deno.serve(base, handler)
      : Deno.serve(
        { ...base, cert: options.tls.cert, key: options.tls.key },
        handler,
      );
    this.addr = this.#server.addr;
    this.finished = this.#server.finished.catch(() => {});
  }

  get draining(): boolean {
    return this.#draining;
  }

  stopAccepting(): void {
    if (this.#shutdownCalled) return;
    this.#draining = true;
    this.#shutdownCalled = true;
    // Not awaited: it resolves only when every connection is closed, which
    // serve() bounds by its grace period. `finished` reports the end.
    this.#server.shutdown().catch(() => {});
  }

  close(): Promise<void> {
    this.#draining = true;
    // Aborting the signal after shutdown() crashes Deno (BadResource); only
    // a server that never started a graceful shutdown can be cut off.
    if (!this.#shutdownCalled && !this.#abort.signal.aborted) {
      this.#abort.abort();
    }
    return this.finished;
  }
}

/** Marks a response so the client does not reuse the connection. */
function closeConnection(res: Response): Response {
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
