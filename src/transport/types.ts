/**
 * The interface between `serve()` and a transport (the `Deno.serve` adapter,
 * the h1 engine). Adding a transport means implementing
 * {@linkcode TransportFactory} and adding one case to `serve()`.
 *
 * @module
 */

import type { Servable } from "./contract.ts";
import type { H1Options } from "./h1/options.ts";

/** TLS material as PEM text. */
export interface TlsPem {
  /** Certificate chain, PEM. */
  cert: string;
  /** Private key, PEM. */
  key: string;
  /**
   * Certificates per server name (SNI), `*.example.com` for a wildcard one
   * label deep; the h1 transport only.
   */
  sni?: Record<string, { cert: string; key: string }>;
}

/** What `serve()` tells a transport when starting it. */
export interface TransportOptions {
  /** Interface to bind, e.g. `"0.0.0.0"` or `"127.0.0.1"`. */
  hostname: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** TLS certificate and key; undefined for plain TCP. */
  tls: TlsPem | undefined;
  /** Set `SO_REUSEPORT`; see `ServeOptions.reusePort`. */
  reusePort?: boolean;
  /** Options of the h1 transport; ignored by the others. */
  h1?: H1Options;
}

/**
 * A running transport. `serve()` drives it through shutdown: first
 * {@linkcode Transport.stopAccepting}, then, once the App is idle or the
 * grace period is over, {@linkcode Transport.close}.
 */
export interface Transport {
  /** The address actually bound (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** True from {@linkcode Transport.stopAccepting} on. */
  readonly draining: boolean;
  /**
   * Stops accepting connections (new ones are refused), closes idle
   * keep-alive connections, closes busy ones after their current response,
   * and marks responses to requests arriving from now on with
   * `Connection: close` so clients do not reuse their connection. Requests in
   * flight continue. Idempotent.
   */
  stopAccepting(): void;
  /**
   * Closes every connection still open, as far as the transport can, and
   * resolves when it is done. Called after the App has answered or aborted
   * every request.
   */
  close(): Promise<void>;
  /** Resolves when the listener and every connection are closed; never rejects. */
  readonly finished: Promise<void>;
  /**
   * Makes new TLS handshakes use `tls`; connections already set up keep
   * their session. Rejects, with the old certificate still in force, when
   * the pair is invalid or the transport is not serving TLS.
   */
  reloadTls(tls: TlsPem): Promise<void>;
}

/** Starts a transport serving `app`. */
export type TransportFactory = (
  app: Servable,
  options: TransportOptions,
) => Transport;
