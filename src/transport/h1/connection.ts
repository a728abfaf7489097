/**
 * One HTTP/1.1 connection of the h1 engine: reads and parses requests,
 * hands each to the App, writes the responses in request order, and
 * enforces the connection-level rules (timeouts, keep-alive, pipelining,
 * early responses, `Expect: 100-continue`).
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
import type { ServeInfo } from "../contract.ts";
import {
  ParseError,
  type ParserLimits,
  type RequestHead,
  RequestParser,
} from "./parser/parser.ts";
import { parseProxyHeader, PROXY_V2_MAX_PAYLOAD } from "./proxy_protocol.ts";
import {
  problemBytes,
  releaseBuffer,
  serializeFixed,
  type Sink,
  takeBuffer,
  upgradeHead,
  type WriteInfo,
  writeStreamed,
} from "./response/writer.ts";
import type { UpgradedSocket } from "../contract.ts";
import { type BodyPump, H1Source } from "./source.ts";
import type { Sweeper, Timed } from "./sweeper.ts";

/** What a connection needs from the App: `Servable` plus optional counters. */
export interface H1App {
  /** Handles a parsed request. */
  handle(src: H1Source, info: ServeInfo): Response | Promise<Response>;
  /** Records a rejection made before or outside the App (`App#reject`). */
  reject?(reason: RejectReason, status: number, detail: string): void;
}

/** Settings shared by every connection of a listener. */
export interface ConnectionShared {
  /** The App serving requests. */
  readonly app: H1App;
  /** The shared coarse timer. */
  readonly sweeper: Sweeper;
  /** Limits of the request parser. */
  readonly limits: ParserLimits;
  /** See `H1Options.headerTimeoutMs`; 0 = none. */
  readonly headerTimeoutMs: number;
  /** See `H1Options.bodyTimeoutMs`; 0 = none. */
  readonly bodyTimeoutMs: number;
  /** See `H1Options.idleTimeoutMs`; 0 = none. */
  readonly idleTimeoutMs: number;
  /** See `H1Options.tlsHandshakeTimeoutMs`; 0 = none. */
  readonly tlsHandshakeTimeoutMs: number;
  /** See `H1Options.maxRequestsPerConnection`; 0 = unlimited. */
  readonly maxRequests: number;
  /** Expect a PROXY protocol header first. */
  readonly proxyProtocol: boolean;
  /** Whether connections are TLS (`handshake()` first; `https` URLs). */
  readonly tls: boolean;
  /** `host:port` of the listener, for requests without `Host` (HTTP/1.0). */
  readonly localHost: string;
  /** True once the listener is draining: finish the current request, then close. */
  draining: boolean;
  /**
   * Parsers and read buffers of closed connections, reused by new ones
   * (allocating typed arrays is what makes short connections expensive).
   */
  readonly spare: { parsers: RequestParser[]; buffers: Uint8Array[] };
}

/** Most request body bytes read and discarded after an early response. */
export const DISCARD_LIMIT = 64 * 1024;
/** How long a closing connection keeps reading (and dropping) before it closes, in ms. */
export const LINGER_MS = 1000;

const READ_SIZE = 4 * 1024;
/** Most spare parsers and read buffers a listener keeps. */
const SPARE_MAX = 512;
const BODY_READ_SIZE = 64 * 1024;
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
const EMPTY: Uint8Array = new Uint8Array(0);
const FALSE = Promise.resolve(false);

// What the deadline is for.
const T_NONE = 0;
const T_HANDSHAKE = 1;
const T_HEADER = 2;
const T_IDLE = 3;
const T_BODY = 4;
const T_LINGER = 5;
const T_WRITE = 6;

// State of the current request's body.
const B_DONE = 0;
const B_PENDING = 1;
const B_FAILED = 2;

function clientGone(): DOMException {
  return new DOMException("Client disconnected", "AbortError");
}

/**
 * A client connection served by the h1 engine. The listener creates it and
 * calls {@linkcode H1Connection.run}.
 *
 * @example Usage
 * ```ts ignore
 * const c = new H1Connection(conn, shared, (c) => connections.delete(c));
 * c.run();
 * ```
 */
export class H1Connection implements Timed, BodyPump, Sink {
  /** Epoch ms of the current deadline; 0 = none. Read by the sweeper. */
  deadline = 0;
  #timeout = T_NONE;
  #conn: Deno.Conn;
  #shared: ConnectionShared;
  #onClose: (c: H1Connection) => void;
  #parser: RequestParser;
  #info: ServeInfo;
  #buf: Uint8Array = EMPTY;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  #lent = true;
  /** The one pending read, mapped by `#onRead`. */
  #reading: Promise<boolean> | null = null;
  #eof = false;
  #closed = false;
  /** The connection was handed over after a 101 response. */
  #upgraded = false;
  #src: H1Source | null = null;
  #body = B_DONE;
  #bodyRead = 0;
  #bodyCtl: ReadableStreamDefaultController<Uint8Array> | null = null;
  #bodyCancelled = false;
  #sentContinue = false;
  #count = 0;
  /** No byte was fed to the parser since its last head (or ever). */
  #pristine = true;
  #writeInfo: WriteInfo = {
    head: false,
    version: 1,
    keepAlive: true,
    now: 0,
    buffer: null,
  };

  /** Wraps an accepted connection; `onClose` runs once when it closes. */
  constructor(
    conn: Deno.Conn,
    shared: ConnectionShared,
    onClose: (c: H1Connection) => void,
  ) {
    this.#conn = conn;
    this.#shared = shared;
    this.#onClose = onClose;
    this.#parser = shared.spare.parsers.pop() ??
      new RequestParser(shared.limits);
    this.#info = { remoteAddr: conn.remoteAddr as Deno.NetAddr };
    shared.sweeper.add(this);
  }

  /** Whether the connection is between requests (no byte of a next one received). */
  get idle(): boolean {
    return this.#src === null && this.#pos >= this.#chunk.length &&
      this.#parser.idle;
  }

  /**
   * Serves requests until the connection closes; never rejects. The common
   * path (a complete head in one read, a response with a known body) runs
   * in this one async function, with parsing and serialising done
   * synchronously, to keep promise hops per request to the two I/O ops.
   */
  async run(): Promise<void> {
    const s = this.#shared;
    const parser = this.#parser;
    const info = this.#writeInfo;
    try {
      if (!(await this.#start())) return;
      for (;;) {
        // Read until a request head is complete.
        let head: RequestHead;
        for (;;) {
          if (this.#pos < this.#chunk.length) {
            let ev;
            try {
              ev = parser.next(this.#chunk, this.#pos);
            } catch (e) {
              await this.#refuse(e);
              return;
            }
            this.#pos = parser.offset;
            if (ev === "head") {
              head = parser.head!;
              this.#pristine = true; // the parser reset its head scanner
              break;
            }
            this.#pristine = false;
            // "more": a head has started but is not complete.
            if (this.#timeout !== T_HEADER && !parser.idle) {
              this.#timeout = T_HEADER;
              this.deadline = s.sweeper.after(s.headerTimeoutMs);
            }
          }
          if (s.draining && parser.idle) return;
          if (!(await this.#read())) return;
        }
        this.deadline = 0;
        this.#timeout = T_NONE;

        // Hand it to the App.
        const src = this.#begin(head);
        let res: Response;
        try {
          const r = s.app.handle(src, this.#info);
          if (r instanceof Promise) {
            // While the App works, read ahead: the next request, or the EOF
            // of a client that left (which aborts the signal, see #onEof).
            if (this.#body === B_DONE && this.#pos >= this.#chunk.length) {
              this.#read();
            }
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
          if (onSocket !== null && this.#body === B_DONE && !s.draining) {
            await this.#handOver(res, onSocket);
            return;
          }
          res.body?.cancel().catch(() => {});
          res = problem(500);
        }

        // Write the response.
        info.head = head.method === "HEAD";
        info.version = head.version;
        info.keepAlive = head.keepAlive && !s.draining && !this.#eof &&
          (s.maxRequests === 0 || this.#count < s.maxRequests) &&
          (this.#body === B_DONE || this.#mayDiscard(head));
        info.now = s.sweeper.now;
        let keep: boolean;
        const buffer = info.buffer = takeBuffer();
        try {
          const bytes = serializeFixed(res, info);
          if (bytes !== undefined) {
            keep = info.keepAlive;
            this.#timeout = T_WRITE;
            this.deadline = s.sweeper.after(s.bodyTimeoutMs);
            const n = await this.#conn.write(bytes);
            if (n < bytes.length) await this.#writeFrom(bytes, n);
            if (this.#timeout === T_WRITE) {
              this.#timeout = T_NONE;
              this.deadline = 0;
            }
            releaseBuffer(buffer);
          } else {
            releaseBuffer(buffer);
            keep = await writeStreamed(this, res, info);
          }
        } catch {
          src.abort(clientGone());
          return;
        }

        // Settle the request body, then wait for the next request.
        this.#src = null;
        this.#bodyCtl = null;
        if (this.#body !== B_DONE) {
          if (this.#body === B_FAILED) return;
          // Answered before the body was read: discard a little, else close.
          if (!keep || !(await this.#discard(head))) {
            await this.#linger();
            return;
          }
        }
        if (!keep || s.draining || this.#closed) return;
        this.#timeout = T_IDLE;
        this.deadline = s.sweeper.after(s.idleTimeoutMs);
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

  /**
   * Writes the 101 head and hands the connection to `onSocket`: the parser,
   * the timeouts and the read buffer are no longer used by this connection,
   * which stays counted until the socket is closed.
   */
  async #handOver(
    res: Response,
    onSocket: (socket: UpgradedSocket) => void,
  ): Promise<void> {
    this.#timeout = T_WRITE;
    this.deadline = this.#shared.sweeper.after(this.#shared.bodyTimeoutMs);
    try {
      await this.write(upgradeHead(res, this.#shared.sweeper.now));
    } catch {
      return; // #close runs in run()'s finally
    }
    if (this.#closed) return;
    this.#upgraded = true;
    this.#src = null;
    this.deadline = 0;
    this.#timeout = T_NONE;
    this.#shared.sweeper.delete(this);
    const lent = this.#lent;
    this.#lent = true; // the read buffer now belongs to the socket
    let rest = this.#chunk.subarray(this.#pos).slice();
    let pending = this.#reading;
    // Parser and read buffer are free for other connections (the buffer
    // unless body bytes were handed out from it or a read is pending into it).
    const spare = this.#shared.spare;
    if (
      this.#pristine && this.#parser.idle && spare.parsers.length < SPARE_MAX
    ) {
      spare.parsers.push(this.#parser);
    }
    if (
      !lent && pending === null && this.#buf.length === READ_SIZE &&
      spare.buffers.length < SPARE_MAX
    ) {
      spare.buffers.push(this.#buf);
    }
    if (pending === null) this.#buf = this.#chunk = EMPTY;
    const conn = this.#conn;
    const buffered = async (buf: Uint8Array): Promise<number | null> => {
      if (rest.length === 0 && pending !== null) {
        const p = pending;
        pending = null;
        const ok = await p;
        rest = this.#chunk.subarray(this.#pos).slice();
        this.#buf = this.#chunk = EMPTY;
        if (!ok) return null;
      }
      if (rest.length > 0) {
        const n = Math.min(buf.length, rest.length);
        buf.set(rest.subarray(0, n));
        rest = rest.subarray(n);
        return n;
      }
      if (this.#closed) return null;
      return await conn.read(buf);
    };
    const socket: UpgradedSocket = {
      // Straight to the connection once the bytes read before are consumed.
      read: (buf) =>
        rest.length === 0 && pending === null && !this.#closed
          ? conn.read(buf)
          : buffered(buf),
      // No write timeout after the handover: the new owner bounds writes.
      write: (bytes) =>
        conn.write(bytes).then((n) =>
          n < bytes.length ? this.#writeFrom(bytes, n) : undefined
        ),
      close: () => this.#close(),
    };
    try {
      onSocket(socket);
    } catch {
      this.#close();
    }
  }

  /** Gives a clean parser and an unused read buffer to the next connection. */
  #recycle(): void {
    const spare = this.#shared.spare;
    if (
      this.#pristine && this.#parser.idle && spare.parsers.length < SPARE_MAX
    ) {
      spare.parsers.push(this.#parser);
    }
    if (
      !this.#lent && this.#reading === null &&
      this.#buf.length === READ_SIZE && spare.buffers.length < SPARE_MAX
    ) {
      spare.buffers.push(this.#buf);
    }
    this.#lent = true; // this connection must not touch either again
  }

  /**
   * Closes the connection now if it is between requests (graceful
   * shutdown). A handed-over connection is left to its new owner, which
   * closes it (a WebSocket's close handshake).
   */
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
    this.deadline = 0;
    this.#timeout = T_NONE;
    const s = this.#shared;
    switch (kind) {
      case T_HANDSHAKE:
        this.#reject(
          "tls_handshake",
          408,
          `TLS handshake not completed within the tlsHandshakeTimeoutMs of ${s.tlsHandshakeTimeoutMs} ms`,
        );
        this.#close();
        return;
      case T_HEADER: {
        if (this.#parser.idle && this.#pos >= this.#chunk.length) {
          this.#close(); // nothing received: close quietly like an idle connection
          return;
        }
        const detail =
          `Request head not received within the headerTimeoutMs of ${s.headerTimeoutMs} ms`;
        this.#reject("header_timeout", 408, detail);
        this.#sendAndClose(problemBytes(408, detail));
        return;
      }
      case T_BODY: {
        if (this.#src === null) {
          this.#close(); // discarding after the response: give up
          return;
        }
        const detail =
          `Request body stalled for longer than the bodyTimeoutMs of ${s.bodyTimeoutMs} ms`;
        this.#reject("body_timeout", 408, detail);
        this.#failBody(new HttpError(408, detail));
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
    const timed = this.#timeout === T_NONE;
    if (timed) {
      this.#timeout = T_WRITE;
      this.deadline = this.#shared.sweeper.after(this.#shared.bodyTimeoutMs);
    }
    const n = await this.#conn.write(bytes);
    if (n < bytes.length) await this.#writeFrom(bytes, n);
    if (timed && this.#timeout === T_WRITE) {
      this.#timeout = T_NONE;
      this.deadline = 0;
    }
  }

  async #writeFrom(bytes: Uint8Array, off: number): Promise<void> {
    const conn = this.#conn;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
  }

  // ---- body pump (called by the request body stream) ----

  /** Delivers the next body bytes of `src` to `ctl`. */
  async pullBody(
    src: H1Source,
    ctl: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    if (src !== this.#src || this.#body !== B_PENDING || this.#bodyCancelled) {
      ctl.error(
        new HttpError(
          400,
          "Request body is no longer readable: the response was sent",
        ),
      );
      return;
    }
    if (src.head.expectContinue && !this.#sentContinue) {
      // The App wants the body: now the client may send it.
      this.#sentContinue = true;
      try {
        await this.write(CONTINUE);
      } catch {
        this.#failBody(clientGone());
        return;
      }
      if (!this.#pulling(src)) return;
    }
    const parser = this.#parser;
    const s = this.#shared;
    for (;;) {
      // Called even with no bytes left: the end of a body may need none.
      {
        let ev;
        try {
          ev = parser.next(this.#chunk, this.#pos);
        } catch (e) {
          this.#bodyCtl = ctl;
          this.#failBody(this.#bodyError(e));
          return;
        }
        this.#pos = parser.offset;
        if (ev === "data") {
          const data = parser.data;
          this.#lent = true;
          this.#bodyRead += data.length;
          ctl.enqueue(data);
          return;
        }
        if (ev === "end") {
          this.#body = B_DONE;
          ctl.close();
          // Watch for a disconnect while the App works on the request.
          if (this.#pos >= this.#chunk.length) this.#read();
          return;
        }
      }
      this.#bodyCtl = ctl;
      this.#timeout = T_BODY;
      this.deadline = s.sweeper.after(s.bodyTimeoutMs);
      const ok = await this.#read();
      if (!this.#pulling(src)) return;
      this.deadline = 0;
      this.#timeout = T_NONE;
      this.#bodyCtl = null;
      if (!ok) {
        const head = src.head;
        const detail = head.chunked
          ? "Connection closed before the chunked request body was complete"
          : `Request body ended after ${this.#bodyRead} of the ${head.contentLength} bytes declared by Content-Length`;
        this.#bodyCtl = ctl;
        this.#reject("body_incomplete", 400, detail);
        this.#failBody(new HttpError(400, detail));
        return;
      }
    }
  }

  /** The App will not read the rest of the body of `src`. */
  cancelBody(src: H1Source): void {
    if (src !== this.#src) return;
    this.#bodyCancelled = true;
    this.#bodyCtl = null;
    if (this.#timeout === T_BODY) {
      this.deadline = 0;
      this.#timeout = T_NONE;
    }
  }

  /** Whether a pull for `src` may go on after an await. */
  #pulling(src: H1Source): boolean {
    return src === this.#src && this.#body === B_PENDING &&
      !this.#bodyCancelled;
  }

  // ---- the request loop ----

  async #start(): Promise<boolean> {
    const s = this.#shared;
    if (s.tls) {
      this.#timeout = T_HANDSHAKE;
      this.deadline = s.sweeper.after(s.tlsHandshakeTimeoutMs);
      try {
        await (this.#conn as Deno.TlsConn).handshake();
      } catch {
        if (!this.#closed) {
          this.#reject("tls_handshake", 400, "TLS handshake failed");
        }
        return false;
      }
      if (this.#closed) return false;
    }
    this.#timeout = T_HEADER;
    this.deadline = s.sweeper.after(s.headerTimeoutMs);
    if (s.proxyProtocol) return await this.#readProxyHeader();
    return true;
  }

  async #readProxyHeader(): Promise<boolean> {
    let acc: Uint8Array = EMPTY;
    for (;;) {
      if (!(await this.#read())) return false;
      const got = this.#chunk;
      if (acc.length === 0) acc = got;
      else {
        const joined = new Uint8Array(acc.length + got.length);
        joined.set(acc);
        joined.set(got, acc.length);
        acc = joined;
      }
      this.#pos = got.length;
      let header;
      try {
        header = parseProxyHeader(acc);
      } catch (e) {
        this.#reject("bad_request", 400, (e as Error).message);
        return false;
      }
      if (header !== null) {
        if (header.client !== null) this.#info = { remoteAddr: header.client };
        // The bytes after the header are the start of the first request.
        this.#chunk = acc.subarray(header.length);
        this.#pos = 0;
        this.#lent = true; // `acc` may be the read buffer: do not reuse it
        return true;
      }
      if (acc === got) {
        acc = got.slice(); // keep it: the read buffer is reused
      }
      if (acc.length > 16 + PROXY_V2_MAX_PAYLOAD) return false;
    }
  }

  /** Starts serving `head`: the source, the body state, the disconnect watch. */
  #begin(head: RequestHead): H1Source {
    const s = this.#shared;
    this.#count++;
    const src = new H1Source(head, this, s.tls ? "https" : "http", s.localHost);
    this.#src = src;
    this.#bodyRead = 0;
    this.#bodyCancelled = false;
    this.#sentContinue = false;
    if (head.chunked || head.contentLength > 0) this.#body = B_PENDING;
    else {
      this.#body = B_DONE;
      const parser = this.#parser;
      parser.next(this.#chunk, this.#pos); // "end" of a bodyless request
      this.#pos = parser.offset;
    }
    return src;
  }

  /** Whether the unread rest of the body could be discarded to keep the connection. */
  #mayDiscard(head: RequestHead): boolean {
    if (this.#body === B_FAILED) return false;
    if (head.expectContinue && !this.#sentContinue) return false;
    return head.chunked ||
      head.contentLength - this.#bodyRead <= DISCARD_LIMIT;
  }

  /**
   * Reads and drops the rest of a request body the App did not read, at
   * most {@linkcode DISCARD_LIMIT} bytes; false when the connection must
   * close instead.
   */
  async #discard(head: RequestHead): Promise<boolean> {
    if (!this.#mayDiscard(head)) return false;
    const parser = this.#parser;
    const s = this.#shared;
    let budget = DISCARD_LIMIT;
    for (;;) {
      {
        let ev;
        try {
          ev = parser.next(this.#chunk, this.#pos);
        } catch {
          return false;
        }
        this.#pos = parser.offset;
        if (ev === "data") {
          budget -= parser.data.length;
          if (budget < 0) return false;
          continue;
        }
        if (ev === "end") {
          this.#body = B_DONE;
          return true;
        }
      }
      this.#timeout = T_BODY;
      this.deadline = s.sweeper.after(s.bodyTimeoutMs);
      const ok = await this.#read();
      this.deadline = 0;
      this.#timeout = T_NONE;
      if (!ok) return false;
    }
  }

  /**
   * Before closing a connection whose client may still be sending: stop
   * writing (FIN), then read and drop at most {@linkcode DISCARD_LIMIT}
   * bytes for at most {@linkcode LINGER_MS}, so the client reads the
   * response instead of a reset.
   */
  async #linger(): Promise<void> {
    if (this.#closed || this.#eof) return;
    try {
      await this.#conn.closeWrite();
    } catch {
      return;
    }
    this.#timeout = T_LINGER;
    this.deadline = this.#shared.sweeper.after(LINGER_MS);
    let budget = DISCARD_LIMIT;
    this.#pos = this.#chunk.length;
    while (budget > 0 && !this.#closed) {
      if (!(await this.#read())) return;
      budget -= this.#chunk.length;
      this.#pos = this.#chunk.length;
    }
  }

  /** Answers a parse error before any request exists, then closes. */
  async #refuse(e: unknown): Promise<void> {
    if (!(e instanceof ParseError)) throw e;
    this.#reject(e.reason, e.status, e.message);
    try {
      await this.write(problemBytes(e.status, e.message));
    } catch {
      return;
    }
    await this.#linger();
  }

  /** Writes `bytes` then closes; used from the sweeper. */
  async #sendAndClose(bytes: Uint8Array): Promise<void> {
    try {
      await this.write(bytes);
    } catch { /* the client is gone */ }
    this.#close();
  }

  // ---- helpers ----

  /** Starts (or joins) the one pending read; resolves false at EOF or error. */
  #read(): Promise<boolean> {
    if (this.#reading !== null) return this.#reading;
    if (this.#eof || this.#closed) return FALSE;
    if (this.#lent) {
      this.#buf = this.#body === B_PENDING
        ? new Uint8Array(BODY_READ_SIZE)
        : this.#shared.spare.buffers.pop() ?? new Uint8Array(READ_SIZE);
      this.#lent = false;
    }
    return this.#reading = this.#conn.read(this.#buf).then(
      this.#onRead,
      this.#onReadError,
    );
  }

  #onRead = (n: number | null): boolean => {
    this.#reading = null;
    if (n === null) return this.#onEof();
    this.#chunk = this.#buf.subarray(0, n);
    this.#pos = 0;
    return true;
  };

  #onReadError = (): boolean => {
    this.#reading = null;
    return this.#onEof();
  };

  #onEof(): false {
    this.#eof = true;
    // A request being handled with its body read: the client is gone.
    if (this.#src !== null && this.#body === B_DONE) {
      this.#src.abort(clientGone());
    }
    return false;
  }

  /** Maps a body parse failure to the error the App sees, and reports it. */
  #bodyError(e: unknown): HttpError {
    if (e instanceof ParseError) {
      this.#reject(e.reason, e.status, e.message);
      return new HttpError(e.status, e.message);
    }
    this.#reject("bad_request", 400, "Request body is malformed");
    return new HttpError(400, "Request body is malformed");
  }

  /** Errors the body stream of the current request with `error`. */
  #failBody(error: unknown): void {
    this.#body = B_FAILED;
    const ctl = this.#bodyCtl;
    this.#bodyCtl = null;
    this.deadline = 0;
    this.#timeout = T_NONE;
    if (ctl !== null) {
      try {
        ctl.error(error);
      } catch { /* already closed or errored */ }
    }
  }

  #reject(reason: RejectReason, status: number, detail: string): void {
    try {
      this.#shared.app.reject?.(reason, status, detail);
    } catch { /* a failing hook must not break the connection */ }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.deadline = 0;
    this.#shared.sweeper.delete(this);
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    const src = this.#src;
    if (src !== null) {
      src.abort(clientGone());
      if (this.#body === B_PENDING) this.#failBody(clientGone());
    }
    this.#onClose(this);
  }
}
