/**
 * One HTTP/1.1 connection of the h1 engine: reads and parses requests,
 * hands each to the App, writes the responses in request order, and
 * enforces the connection-level rules (timeouts, keep-alive, pipelining,
 * early responses, protocol upgrades).
 *
 * Requests on a connection are served one at a time: the next pipelined
 * request is parsed only once the previous response is written, so
 * responses are in request order and a client cannot queue work without
 * bound. While a request without a body (or whose body was read) is being
 * handled, one read stays pending so a disconnect aborts its signal.
 *
 * @module
 */

import { HttpError, problem } from "../../http/errors.ts";
import type { RejectReason } from "../../http/limits.ts";
import type {
  RejectedRequest,
  ServeInfo,
  TlsHandshakeResult,
  TlsInfo,
  UpgradedSocket,
} from "../contract.ts";
import type { Conn, TlsConn } from "./conn.ts";
import { Input } from "./input.ts";
import {
  ParseError,
  type RequestHead,
  RequestParser,
} from "./parser/parser.ts";
import { readProxyHeader } from "./proxy_protocol.ts";
import { RequestBody } from "./request_body.ts";
import {
  newWriteInfo,
  problemBytes,
  type Sink,
  upgradeHead,
  type WriteInfo,
} from "./response/head.ts";
import { writeResponse } from "./response/write.ts";
import { H1Source } from "./source.ts";
import { upgradedSocket } from "./upgrade.ts";
import type { ListenerState } from "./listener_state.ts";
import type { Timed } from "./sweeper.ts";

/** How long a closing connection keeps reading (and dropping) before it closes, in ms. */
export const LINGER_MS = 1000;
/** Most bytes read and dropped while lingering before a close. */
const LINGER_BYTES = 64 * 1024;

/**
 * What the connection's one deadline is for: the TLS handshake, the first
 * byte-to-end of a head, the wait for a next request, the next bytes of a
 * body, a closing linger, or a response write.
 */
export type Timeout =
  | "none"
  | "handshake"
  | "header"
  | "idle"
  | "body"
  | "linger"
  | "write";

function clientGone(): DOMException {
  return new DOMException("Client disconnected", "AbortError");
}

/**
 * A client connection served by the h1 engine. The listener creates it and
 * calls {@linkcode H1Connection.run}.
 *
 * @example Usage
 * ```ts ignore
 * const c = new H1Connection(conn, state, (c) => connections.delete(c));
 * c.run();
 * ```
 */
export class H1Connection implements Timed, Sink {
  /** Epoch ms of the current deadline; 0 = none. Read by the sweeper. */
  deadline = 0;
  #timeout: Timeout = "none";
  #conn: Conn;
  /** What the TLS handshake negotiated; null on plain TCP or before it. */
  #tls: TlsInfo | null = null;
  /** When the running TLS handshake started (a place under maxTlsHandshakes); -1: none. */
  #handshakeAt = -1;
  #state: ListenerState;
  #onClose: (c: H1Connection) => void;
  #parser: RequestParser;
  #info: ServeInfo;
  readonly #input: Input;
  readonly #body: RequestBody;
  #closed = false;
  /** The connection was handed over after a 101 response. */
  #upgraded = false;
  #src: H1Source | null = null;
  #count = 0;
  /** No byte was fed to the parser since its last head (or ever). */
  #pristine = true;
  #writeInfo: WriteInfo = newWriteInfo();

  /** Wraps an accepted connection; `onClose` runs once when it closes. */
  constructor(
    conn: Conn,
    state: ListenerState,
    onClose: (c: H1Connection) => void,
  ) {
    this.#conn = conn;
    this.#state = state;
    this.#onClose = onClose;
    this.#parser = state.spare.parsers.pop() ??
      new RequestParser(state.settings.limits);
    this.#info = { remoteAddr: conn.remoteAddr as Deno.NetAddr };
    this.#input = new Input(conn, state.spare, () => this.#onEof());
    this.#body = new RequestBody({
      input: this.#input,
      parser: this.#parser,
      armBody: () => this.#arm("body", state.settings.bodyTimeoutMs),
      disarm: () => this.#disarm(),
      write: (bytes) => this.write(bytes),
      reject: (reason, status, detail) => this.#reject(reason, status, detail),
    });
    state.sweeper.add(this);
  }

  /** Whether the connection is between requests (no byte of a next one received). */
  get idle(): boolean {
    return this.#src === null && !this.#input.hasBytes && this.#parser.idle;
  }

  /**
   * Serves requests until the connection closes; never rejects. The common
   * path (a complete head in one read, a response with a known body) runs
   * in this one async function, with parsing and serialising done
   * synchronously, to keep promise hops per request to the two I/O ops.
   */
  async run(): Promise<void> {
    const state = this.#state;
    const settings = state.settings;
    const parser = this.#parser;
    const input = this.#input;
    const body = this.#body;
    const info = this.#writeInfo;
    try {
      if (!(await this.#start())) return;
      for (;;) {
        // Read until a request head is complete.
        let head: RequestHead;
        for (;;) {
          if (input.hasBytes) {
            let ev;
            try {
              ev = parser.next(input.chunk, input.pos);
            } catch (e) {
              await this.#refuse(e);
              return;
            }
            input.pos = parser.offset;
            if (ev === "head") {
              head = parser.head!;
              this.#pristine = true; // the parser reset its head scanner
              break;
            }
            this.#pristine = false;
            // "more": a head has started but is not complete.
            if (this.#timeout !== "header" && !parser.idle) {
              this.#arm("header", settings.headerTimeoutMs);
            }
          }
          if (state.draining && parser.idle) return;
          if (!(await input.read())) return;
        }
        this.#disarm();

        // Hand it to the App.
        this.#count++;
        const src = new H1Source(head, body, this.#tls, state.localHost);
        this.#src = src;
        body.begin(src);
        let res: Response;
        try {
          const r = state.app.handle(src, this.#info);
          if (r instanceof Promise) {
            // While the App works, read ahead: the next request, or the EOF
            // of a client that left (which aborts the signal, see #onEof).
            if (body.state === "done" && !input.hasBytes) input.read();
            res = await r;
          } else res = r;
        } catch {
          res = problem(500);
        }
        if (this.#closed) {
          res.body?.cancel().catch(() => {});
          return;
        }
        if (res.status === 101) {
          const onSocket = src.onUpgrade;
          if (onSocket !== null && body.state === "done" && !state.draining) {
            await this.#handOver(res, onSocket);
            return;
          }
          res.body?.cancel().catch(() => {});
          res = state.draining
            ? problem(503, "Server is shutting down")
            : problem(500);
        }

        // Write the response.
        info.head = head.method === "HEAD";
        info.version = head.version;
        info.keepAlive = head.keepAlive && !state.draining && !input.eof &&
          (settings.maxRequests === 0 || this.#count < settings.maxRequests) &&
          (body.state === "done" || body.mayDiscard(head));
        info.now = state.sweeper.now;
        info.extra = src.extra;
        let keep: boolean;
        try {
          keep = await writeResponse(this, res, info);
        } catch {
          src.abort(clientGone());
          return;
        }

        // Settle the request body, then wait for the next request.
        this.#src = null;
        body.finish();
        if (body.state !== "done") {
          if (body.state === "failed") return;
          // Answered before the body was read: discard a little, else close.
          if (!keep || !(await body.discard(head))) {
            await this.#linger();
            return;
          }
        }
        if (!keep || state.draining || this.#closed) return;
        this.#arm("idle", settings.idleTimeoutMs);
      }
    } catch {
      // Unexpected failure of this connection: close it, keep the server.
    } finally {
      if (!this.#upgraded) {
        this.#close();
        this.#recycle();
      }
    }
  }

  /** Arms the connection's one deadline for `kind`, `ms` from now (0 = none). */
  #arm(kind: Timeout, ms: number): void {
    this.#timeout = kind;
    this.deadline = this.#state.sweeper.after(ms);
  }

  /** Clears the deadline. */
  #disarm(): void {
    this.#timeout = "none";
    this.deadline = 0;
  }

  /** Gives a clean parser (and an unused read buffer) to the next connection. */
  #recycle(buffer = true): void {
    const spare = this.#state.spare;
    if (
      this.#pristine && this.#parser.idle && spare.parsers.length < spare.max
    ) {
      spare.parsers.push(this.#parser);
    }
    if (buffer) this.#input.recycle();
  }

  /** Closes the connection if between requests; a handed-over one is its owner's. */
  closeIfIdle(): void {
    if (!this.#upgraded && this.idle) this.#close();
  }

  /** Closes the connection now; a request in flight sees its signal abort. */
  forceClose(): void {
    this.#close();
  }

  /** Sweeper callback: a deadline passed. */
  onDeadline(): void {
    const kind = this.#timeout;
    this.#disarm();
    const settings = this.#state.settings;
    switch (kind) {
      case "handshake":
        this.#handshakeEnded("timeout");
        this.#reject(
          "tls_handshake",
          408,
          `TLS handshake not completed within the tlsHandshakeTimeoutMs of ${settings.tlsHandshakeTimeoutMs} ms`,
        );
        this.#close();
        return;
      case "header": {
        if (this.#parser.idle && !this.#input.hasBytes) {
          this.#close(); // nothing received: close quietly like an idle connection
          return;
        }
        const detail =
          `Request head not received within the headerTimeoutMs of ${settings.headerTimeoutMs} ms`;
        const id = this.#reject("header_timeout", 408, detail);
        this.#sendAndClose(problemBytes(408, detail, id));
        return;
      }
      case "body": {
        if (this.#src === null) {
          this.#close(); // discarding after the response: give up
          return;
        }
        const detail =
          `Request body stalled for longer than the bodyTimeoutMs of ${settings.bodyTimeoutMs} ms`;
        this.#reject("body_timeout", 408, detail);
        this.#body.fail(
          new HttpError(408, detail, { reason: "body_timeout" }),
        );
        return;
      }
      default:
        this.#close();
    }
  }

  /**
   * Writes all of `bytes` (the response writer's sink). A client that takes
   * longer than `bodyTimeoutMs` to accept them is disconnected (slow read).
   */
  async write(bytes: Uint8Array): Promise<void> {
    const timed = this.#timeout === "none";
    if (timed) this.#arm("write", this.#state.settings.bodyTimeoutMs);
    const conn = this.#conn;
    let off = await conn.write(bytes);
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    if (timed && this.#timeout === "write") this.#disarm();
  }

  async #start(): Promise<boolean> {
    const state = this.#state;
    const settings = state.settings;
    if (state.tls) {
      this.#handshakeAt = performance.now();
      this.#arm("handshake", settings.tlsHandshakeTimeoutMs);
      try {
        this.#tls = await (this.#conn as TlsConn).handshake();
        this.#handshakeEnded("ok");
      } catch (e) {
        if (this.#handshakeAt !== -1) {
          this.#handshakeEnded("failed");
          this.#reject(
            "tls_handshake",
            400,
            `TLS handshake failed: ${(e as Error).message}`,
          );
        }
        return false;
      }
      if (this.#closed) return false;
    }
    this.#arm("header", settings.headerTimeoutMs);
    if (!settings.proxyProtocol) return true;
    try {
      const client = await readProxyHeader(this.#input);
      if (client) this.#info = { remoteAddr: client };
      return client !== false;
    } catch (e) {
      this.#reject("bad_request", 400, (e as Error).message);
      return false;
    }
  }

  /** Reports the end of the TLS handshake to the listener, once. */
  #handshakeEnded(result: TlsHandshakeResult): void {
    if (this.#handshakeAt === -1) return;
    const seconds = (performance.now() - this.#handshakeAt) / 1000;
    this.#handshakeAt = -1;
    this.#state.handshakeEnded(result, seconds);
  }

  /**
   * Writes the 101 head and hands the connection to `onSocket`: the parser,
   * the timeouts and the read buffer are no longer used by this connection,
   * which stays counted until the socket is closed.
   */
  async #handOver(
    res: Response,
    onSocket: (socket: UpgradedSocket) => void,
  ): Promise<void> {
    try {
      await this.write(
        upgradeHead(res, this.#state.sweeper.now, this.#src?.extra),
      );
    } catch {
      return; // #close runs in run()'s finally
    }
    if (this.#closed) return;
    this.#upgraded = true;
    this.#src = null;
    this.#disarm();
    this.#state.sweeper.delete(this);
    this.#recycle(false); // the socket gives the read buffer back itself
    const socket = upgradedSocket(
      this.#conn,
      this.#input,
      () => this.#close(),
      () => this.#closed,
    );
    try {
      onSocket(socket);
    } catch {
      this.#close();
    }
  }

  /**
   * Before closing a connection whose client may still be sending: stop
   * writing (FIN), then read and drop at most 64 KiB for at most
   * {@linkcode LINGER_MS}, so the client reads the response instead of a
   * reset.
   */
  async #linger(): Promise<void> {
    const input = this.#input;
    if (this.#closed || input.eof) return;
    try {
      await this.#conn.closeWrite();
    } catch {
      return;
    }
    this.#arm("linger", LINGER_MS);
    await input.skip(LINGER_BYTES);
  }

  /** Answers a parse error before any request exists, then closes. */
  async #refuse(e: unknown): Promise<void> {
    if (!(e instanceof ParseError)) throw e;
    const id = this.#reject(e.reason, e.status, e.message);
    const sent = await this.write(problemBytes(e.status, e.message, id))
      .then(() => true, () => false);
    if (sent) await this.#linger();
  }

  /** Writes `bytes` then closes; used from the sweeper. */
  async #sendAndClose(bytes: Uint8Array): Promise<void> {
    await this.write(bytes).catch(() => {}); // the client may be gone
    this.#close();
  }

  #onEof(): void {
    // A request being handled with its body read: the client is gone.
    if (this.#src !== null && this.#body.state === "done") {
      this.#src.abort(clientGone());
    }
  }

  /**
   * Reports a rejection to the App; returns the request-id line to put in
   * the answer ("" when ids are off).
   */
  #reject(reason: RejectReason, status: number, detail: string): string {
    const src = this.#src;
    const request: RejectedRequest = {
      remote: this.#info.remoteAddr as Deno.NetAddr,
    };
    if (src !== null) {
      request.method = src.method;
      request.target = src.target;
      request.userAgent = src.header("user-agent");
    }
    let id: string | undefined;
    try {
      id = this.#state.app.reject?.(reason, status, detail, request);
    } catch { /* a failing hook must not break the connection */ }
    const idHeader = this.#state.idHeader;
    return id === undefined || idHeader === false
      ? ""
      : idHeader + ": " + id + "\r\n";
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handshakeEnded("failed"); // closed mid-handshake by a shutdown
    this.#disarm();
    this.#input.close();
    this.#state.sweeper.delete(this);
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    const src = this.#src;
    if (src !== null) {
      src.abort(clientGone());
      if (this.#body.state === "pending") this.#body.fail(clientGone());
    }
    this.#onClose(this);
  }
}
