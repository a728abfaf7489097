/**
 * A connection the proxy opened to an upstream (TCP, or TLS for `https:`
 * upstreams), with its read buffer: what the WebSocket handshake, the
 * tunnels and the HTTP/1.1 upstream client read and write.
 *
 * @module
 */

import { encodeHead } from "./request_head.ts";

/** Why an upstream exchange failed, as the `cause` metric label. */
export type FailureCause = "connect" | "reset" | "timeout" | "protocol";

/** Where a connection goes: what dialing needs of an upstream. */
export interface Endpoint {
  /** Whether it is an `https:` upstream. */
  readonly tls: boolean;
  /** Host name or address. */
  readonly hostname: string;
  /** Port. */
  readonly port: number;
}

/** Size of a connection's read buffer; a response head must fit in it. */
export const READ_BUFFER_BYTES = 16 * 1024;
/** A request head and a body read whole up to this size go out in one write. */
export const WRITE_BUFFER_BYTES = 16 * 1024;

const encoder = new TextEncoder();

/**
 * Why an upstream exchange over a proxy-owned connection failed, as data:
 * the failure cause the proxy counts and answers with.
 */
export class WireError extends Error {
  /** The failure cause: `connect`, `reset`, `timeout` or `protocol`. */
  readonly failure: FailureCause;

  /** Creates an error of `failure` explained by `message`. */
  constructor(failure: FailureCause, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WireError";
    this.failure = failure;
  }
}

/** A connection to an upstream and the bytes read from it but not consumed. */
export class UpstreamConn {
  /** The socket. */
  readonly conn: Deno.Conn;
  /** Read buffer: unread bytes are `buf[start, end)`. */
  buf: Uint8Array = new Uint8Array(READ_BUFFER_BYTES);
  /** Start of the unread bytes. */
  start = 0;
  /** End of the unread bytes. */
  end = 0;
  /** Whether `close()` was called. */
  closed = false;
  /**
   * A read issued while the connection sat idle in its pool (into
   * `buf[0, …)`, nothing buffered): the next {@linkcode UpstreamConn.fill}
   * takes its result, so watching an idle connection costs no extra read.
   */
  pending: Promise<number | null> | null = null;
  /** Whether it served a request before (its pool handed it out again). */
  reused = false;
  #wbuf: Uint8Array | null = null;

  /** Wraps `conn`, a connection to an upstream. */
  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Number of unread bytes in the buffer. */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Reads more bytes into the buffer (moving the unread ones to its start
   * first when it is full): false at the end of the stream.
   *
   * @throws {WireError} `reset` when the connection failed or was closed.
   */
  async fill(): Promise<boolean> {
    if (this.start === this.end) this.start = this.end = 0;
    else if (this.end === this.buf.length) {
      if (this.start === 0) {
        throw new WireError("protocol", "Read buffer full");
      }
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    let n: number | null;
    try {
      const pending = this.pending;
      if (pending !== null) {
        this.pending = null;
        n = await pending;
      } else n = await this.conn.read(this.buf.subarray(this.end));
    } catch (error) {
      throw new WireError("reset", "The upstream connection failed", {
        cause: error,
      });
    }
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /**
   * Writes all of `bytes`.
   *
   * @throws {WireError} `reset` when the connection failed or was closed.
   */
  async write(bytes: Uint8Array): Promise<void> {
    try {
      let off = await this.conn.write(bytes);
      while (off < bytes.length) {
        off += await this.conn.write(bytes.subarray(off));
      }
    } catch (error) {
      throw new WireError("reset", "The upstream connection failed", {
        cause: error,
      });
    }
  }

  /**
   * Writes `text` (a head of Latin-1 chars) and then `tail`, in one write
   * through the connection's reusable write buffer when they fit in
   * {@linkcode WRITE_BUFFER_BYTES}.
   *
   * @throws {WireError} `reset` when the connection failed or was closed.
   */
  async writeHead(text: string, tail: Uint8Array | null): Promise<void> {
    const need = text.length + (tail === null ? 0 : tail.length);
    if (need <= WRITE_BUFFER_BYTES) {
      if (this.#wbuf === null || this.#wbuf.length < need) {
        this.#wbuf = new Uint8Array(Math.max(need, 4096));
      }
      const buf = this.#wbuf;
      const r = encoder.encodeInto(text, buf);
      // Written as is only while every char was ASCII (one byte each).
      if (r.read === text.length && r.written === text.length) {
        if (tail !== null) buf.set(tail, text.length);
        return await this.write(buf.subarray(0, need));
      }
    }
    await this.write(encodeHead(text));
    if (tail !== null) await this.write(tail);
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
}

/**
 * Opens a connection to `u` (TLS for an `https:` upstream, verified against
 * the system's and Deno's trust roots plus `caCerts`). An abort of `signal` during the
 * connect rejects with its reason and closes whatever got connected.
 *
 * @throws {WireError} `connect` when the connection could not be made.
 */
export async function dial(
  u: Endpoint,
  signal: AbortSignal,
  caCerts: string[],
): Promise<UpstreamConn> {
  signal.throwIfAborted();
  let conn: Deno.Conn;
  try {
    if (u.tls) {
      // connectTls takes no signal: an abort abandons it, and the late
      // connection is closed below.
      const tls = Deno.connectTls({
        hostname: u.hostname,
        port: u.port,
        caCerts,
      });
      conn = await abortable(tls, signal);
    } else {
      const tcp = await Deno.connect({
        hostname: u.hostname,
        port: u.port,
        signal,
      });
      tcp.setNoDelay(true);
      conn = tcp;
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new WireError("connect", "Could not connect to the upstream server", {
      cause: error,
    });
  }
  return new UpstreamConn(conn);
}

/** `p`, or the abort reason of `signal`; a connection made late is closed. */
function abortable(
  p: Promise<Deno.Conn>,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      p.then((c) => c.close(), () => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then((c) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) c.close();
      else resolve(c);
    }, (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
  });
}
