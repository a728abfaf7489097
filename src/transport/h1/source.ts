/**
 * The {@linkcode RequestSource} the h1 engine hands the App: method, target
 * and headers served straight from the parsed head, with the `Headers`, the
 * body stream, the abort signal and the `Request` built only when asked for.
 *
 * @module
 */

import type { RequestHead } from "./parser/parser.ts";
import type { RequestSource, TlsInfo, UpgradedSocket } from "../contract.ts";

/** Where an {@linkcode H1Source} pulls its body from: its connection. */
export interface BodyPump {
  /** Delivers the next body bytes (or the end, or an error) to `controller`. */
  pullBody(
    src: H1Source,
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> | void;
  /** The App will not read more of the body of `src`. */
  cancelBody(src: H1Source): void;
}

/**
 * One request parsed by the h1 engine, seen by the App through the
 * {@linkcode RequestSource} interface.
 *
 * @example Usage
 * ```ts ignore
 * const src = new H1Source(parser.head!, connection, null, "127.0.0.1:8000");
 * app.handle(src, info);
 * ```
 */
export class H1Source implements RequestSource {
  /** Request method token. */
  readonly method: string;
  /** Request target (origin form, or as the parser normalised it). */
  readonly target: string;
  /** The parsed head. */
  readonly head: RequestHead;
  /** `"https"` on TLS connections. */
  readonly scheme: "http" | "https";
  /** What the connection's TLS handshake negotiated; null on plain TCP. */
  readonly tls: TlsInfo | null;
  #pump: BodyPump;
  #fallbackHost: string;
  #headers: Headers | undefined;
  #body: ReadableStream<Uint8Array> | null | undefined;
  #ac: AbortController | undefined;
  /** Header lines the App added for the response (`appendHeader`). */
  extra = "";
  /** The handler's upgrade callback, if it asked for the connection. */
  onUpgrade: ((socket: UpgradedSocket) => void) | null = null;

  /**
   * Wraps `head`; body bytes come from `pump`. `tls` (null on plain TCP)
   * gives the scheme; it and `fallbackHost` (the listener's address) build
   * the URL of {@linkcode H1Source.toRequest} when the request has no
   * `Host` (HTTP/1.0).
   */
  constructor(
    head: RequestHead,
    pump: BodyPump,
    tls: TlsInfo | null,
    fallbackHost: string,
  ) {
    this.head = head;
    this.method = head.method;
    this.target = head.target;
    this.#pump = pump;
    this.tls = tls;
    this.scheme = tls === null ? "http" : "https";
    this.#fallbackHost = fallbackHost;
  }

  /** Whether the request has a body (a `Content-Length` over 0, or chunked). */
  get hasBody(): boolean {
    return this.head.chunked || this.head.contentLength > 0;
  }

  /**
   * Value of header `name` (lower case), repeated fields joined by `", "`;
   * null when absent. A repeated `Content-Length` (the parser allows only
   * identical copies) reads as one value.
   */
  header(name: string): string | null {
    const h = this.head.headers;
    let out: string | null = null;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i] === name) {
        if (out === null) out = h[i + 1];
        else if (name === "content-length") break;
        else out += ", " + h[i + 1];
      }
    }
    return out;
  }

  /** The fields as parsed; see `RequestSource.fieldList`. */
  get fieldList(): readonly string[] {
    return this.head.headers;
  }

  /** All header fields as `Headers`, built on first access. */
  get headers(): Headers {
    return this.#headers ??= new Headers(this.#pairs());
  }

  /** The fields as `[name, value]` pairs, one `Content-Length` kept. */
  #pairs(): [string, string][] {
    const h = this.head.headers;
    const out: [string, string][] = [];
    let length = false;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i];
      if (name === "content-length") {
        if (length) continue; // identical copies: keep one
        length = true;
      }
      out.push([name, h[i + 1]]);
    }
    return out;
  }

  /** The body as a pull-based stream (backpressure reaches the socket), or null. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === undefined) {
      if (!this.hasBody) this.#body = null;
      else {
        const pump = this.#pump;
        this.#body = new ReadableStream<Uint8Array>({
          pull: (c) => pump.pullBody(this, c),
          cancel: () => pump.cancelBody(this),
        }, { highWaterMark: 0 });
      }
    }
    return this.#body;
  }

  /** Adds a response header line the engine writes; see `RequestSource.appendHeader`. */
  appendHeader(name: string, value: string): void {
    this.extra += name + ": " + value + "\r\n";
  }

  /** Asks for the connection after a 101 response; see `RequestSource.upgrade`. */
  upgrade(onSocket: (socket: UpgradedSocket) => void): void {
    this.onUpgrade = onSocket;
  }

  /** Aborts with an `AbortError` when the client disconnects. */
  get signal(): AbortSignal {
    return (this.#ac ??= new AbortController()).signal;
  }

  /** Aborts the signal with `reason` (the connection calls it). */
  abort(reason: unknown): void {
    const ac = this.#ac ??= new AbortController();
    if (!ac.signal.aborted) ac.abort(reason);
  }

  /** Builds a standard `Request` with the same method, URL, headers, body and signal. */
  toRequest(): Request {
    const host = this.head.host || this.#fallbackHost;
    const target = this.target.charCodeAt(0) === 0x2f ? this.target : "/";
    const body = this.body;
    // Pairs, not `this.headers`: Deno copies a Headers object into a
    // Request about twice as slowly (measured).
    const init: RequestInit & { duplex?: "half" } = {
      method: this.method,
      headers: this.#headers ?? this.#pairs(),
      signal: this.signal,
    };
    if (body !== null && this.method !== "GET" && this.method !== "HEAD") {
      // A Request refuses a body on GET and HEAD; such a body stays readable
      // through the source.
      init.body = body;
      init.duplex = "half";
    }
    return new Request(this.scheme + "://" + host + target, init);
  }
}
