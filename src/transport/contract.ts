/**
 * Types shared by the App and the transports. Transports depend on these, not
 * on the App or the router.
 *
 * @module
 */

import type { Limits, RejectReason } from "../http/limits.ts";

/** Address of the peer of a connection. */
export interface RemoteAddr {
  /** IP address of the client (or of the trusted proxy's client). */
  hostname: string;
  /** Source port of the client, 0 when unknown. */
  port: number;
}

/** What the TLS handshake of a connection negotiated (`ctx.tls`). */
export interface TlsInfo {
  /** The protocol version: `"TLSv1.2"` or `"TLSv1.3"`. */
  readonly version: string;
  /** The ALPN protocol agreed, e.g. `"http/1.1"`; null when none was. */
  readonly alpnProtocol: string | null;
  /** The server name the client asked for (SNI); null when it sent none. */
  readonly serverName: string | null;
}

/**
 * What a transport tells the App about a request besides the request itself.
 * Compatible with the second argument `Deno.serve` passes to its handler.
 */
export interface ServeInfo {
  /** The address of the client connection. */
  remoteAddr: Deno.NetAddr | { hostname: string; port: number };
}

/**
 * A parsed request handed to the App by a transport that can avoid building a
 * `Request` (the h1 engine). The transport has already enforced `urlBytes`,
 * `headerBytes` and `headerCount`.
 */
export interface RequestSource {
  /** Request method token, e.g. `"GET"`. */
  readonly method: string;
  /** `"https"` when the connection is TLS, else `"http"`. */
  readonly scheme: "http" | "https";
  /** Request target in origin form: path and optional query, e.g. `"/a?b=1"`. */
  readonly target: string;
  /** What the connection's TLS handshake negotiated; null on plain TCP. */
  readonly tls?: TlsInfo | null;
  /** Value of a header (lower-case `name`), several values joined by `", "`; null when absent. */
  header(name: string): string | null;
  /** All header fields; may be built on first access. */
  readonly headers: Headers;
  /**
   * Present on transports that parse heads themselves (the h1 engine): the
   * header fields as parsed, `[lowerName, value, ...]` in order, for
   * Palisade's own modules that copy every field (the reverse proxy)
   * without building `Headers`. A repeated `Content-Length` appears as
   * often as it was sent (the parser allows only identical copies).
   */
  readonly fieldList?: readonly string[];
  /** The request body, or null when the request has none. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Aborts with an `AbortError` when the client disconnects. */
  readonly signal: AbortSignal;
  /** Builds a standard `Request` for this source; called at most once. */
  toRequest(): Request;
  /**
   * Present on transports that can hand their connection over after a
   * `101 Switching Protocols` response (the h1 engine). Registers
   * `onSocket`, called once the 101 head has been written; the handler must
   * then return a Response with status 101 and the upgrade headers.
   */
  upgrade?(onSocket: (socket: UpgradedSocket) => void): void;
  /**
   * Present on transports that write response heads themselves (the h1
   * engine): adds a header line to the response to this request without
   * touching the Response's `Headers` (which would cost building them).
   * `name` must be a token and `value` a valid field value: the App passes
   * only values it validated (request ids, `Set-Cookie` lines).
   */
  appendHeader?(name: string, value: string): void;
}

/**
 * A connection handed over by a transport after a 101 response: raw bytes in
 * both directions. The transport's timeouts no longer apply; the connection
 * still counts against `maxConnections` until closed.
 */
export interface UpgradedSocket {
  /** Reads into `buf`: the number of bytes read, or null at the end. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Writes all of `bytes`; rejects when the connection is gone. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the connection; safe to call twice. */
  close(): void;
}

/** What a transport knew of a request it refused before handing it over. */
export interface RejectedRequest {
  /** Request method, when the request line was read. */
  method?: string;
  /** Request target, when the request line was read. */
  target?: string;
  /** The client's address. */
  remote?: RemoteAddr;
  /** The `User-Agent` header, when the head was read. */
  userAgent?: string | null;
}

/** A fetch-style handler: what `Deno.serve` calls. */
export type FetchHandler = (
  req: Request,
  info?: ServeInfo,
) => Response | Promise<Response>;

/** Connection counters a transport reports (`palisade_connections_*`). */
export interface ConnectionMetrics {
  /** An accepted connection opened. */
  connectionOpened(): void;
  /** An accepted connection closed. */
  connectionClosed(): void;
  /**
   * A transport failed to accept a connection (out of file descriptors):
   * it backs off and accepts again.
   */
  acceptFailed?(transport: string): void;
  /**
   * A TLS handshake ended: completed (`"ok"`), failed, timed out, or was
   * refused because `maxTlsHandshakes` were in progress; `seconds` from
   * accept to its end (0 for a refusal).
   */
  tlsHandshake?(result: TlsHandshakeResult, seconds: number): void;
}

/** How a TLS handshake ended (`palisade_tls_handshakes_total{result}`). */
export type TlsHandshakeResult = "ok" | "failed" | "timeout" | "refused";

/**
 * The surface of an App that transports and `serve()` use. `App` implements it.
 */
export interface Servable {
  /** Standard fetch handler. */
  fetch(req: Request, info?: ServeInfo): Response | Promise<Response>;
  /** Handles a transport-parsed request without building a `Request` first. */
  handle(src: RequestSource, info: ServeInfo): Response | Promise<Response>;
  /** The App-wide limits; a transport enforces the URL and header ones itself. */
  readonly limits?: Readonly<Limits>;
  /** The request-id header a transport echoes on its own answers; false: none. */
  readonly requestIdHeader?: string | false;
  /**
   * Counts a rejection made before any request existed, reports it to the
   * hooks and writes its access-log line; `request` is what the transport
   * knew of the refused request. Returns the request id the refusal was
   * logged with, for the transport to echo (undefined when ids are off).
   */
  reject?(
    reason: RejectReason,
    status: number,
    detail: string,
    request?: RejectedRequest,
  ): string | undefined;
  /** Where a transport counts connections. */
  readonly metrics?: ConnectionMetrics;
}
