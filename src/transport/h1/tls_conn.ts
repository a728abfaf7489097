/**
 * Server-side TLS on a socket the engine owns. `Deno.listenTls` runs the
 * handshake inside Deno and keeps the socket of a handshake the engine gave
 * up on until the client sends a byte or leaves (measured on Deno 2.9.6:
 * silent clients held every descriptor past `tlsHandshakeTimeoutMs`). So
 * the engine accepts plain TCP with `Deno.listen` and runs TLS itself with
 * `node:tls` over that `Deno.Conn` (on Deno's native TCP handle when it can,
 * see `nativeSocket`; it holds a second descriptor per connection): closing
 * the connection releases its descriptors at once, whatever state the
 * handshake is in. The certificate
 * is chosen per handshake from {@linkcode Certificates} (SNI, reload).
 *
 * @module
 */

import { Duplex } from "node:stream";
import tls from "node:tls";
import type { Certificates } from "../certificates.ts";
import type { TlsInfo } from "../contract.ts";
import { nativeSocket } from "../../internal/deno.ts";
import type { TlsConn } from "./conn.ts";

/** Bytes read from the socket per read: a full TLS record and then some. */
const SOCKET_READ = 32 * 1024;
/** Most decrypted bytes buffered before the socket is paused. */
const READ_HIGH_WATER = 64 * 1024;

/**
 * The encrypted side as a JavaScript stream over `conn`, where Deno's
 * native handle is not available.
 */
function socketStream(conn: Deno.Conn): Duplex {
  return new Duplex({
    read() {
      const buf = new Uint8Array(SOCKET_READ);
      conn.read(buf).then(
        (n) => this.push(n === null ? null : buf.subarray(0, n)),
        (e) => this.destroy(e),
      );
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writeAll(conn, chunk).then(() => callback(), callback);
    },
    final(callback) {
      conn.closeWrite().then(() => callback(), callback);
    },
    destroy(error, callback) {
      try {
        conn.close();
      } catch { /* already closed */ }
      callback(error);
    },
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = await conn.write(bytes);
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/**
 * A server-side TLS connection over an accepted `Deno.Conn`.
 *
 * @example Usage
 * ```ts ignore
 * const conn = new NodeTlsConn(await listener.accept(), certificates);
 * const info = await conn.handshake();
 * ```
 */
export class NodeTlsConn implements TlsConn {
  readonly remoteAddr: Deno.Addr;
  #conn: Deno.Conn;
  #tls: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  /** The socket closed (either side), or {@linkcode NodeTlsConn.close} ran. */
  #closed = false;
  /** {@linkcode NodeTlsConn.close} ran: the descriptors are released. */
  #released = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  /** Writes waiting for a drain, failed when the connection closes. */
  #writes = new Set<(e: Error) => void>();

  /** Starts TLS on `conn`; the handshake runs as the client's bytes arrive. */
  constructor(conn: Deno.Conn, certificates: Certificates) {
    this.#conn = conn;
    this.remoteAddr = conn.remoteAddr;
    const t = new tls.TLSSocket(nativeSocket(conn) ?? socketStream(conn), {
      isServer: true,
      secureContext: certificates.current,
      ALPNProtocols: ["http/1.1"],
      SNICallback: (name, cb) => cb(null, certificates.forName(name)),
    });
    this.#tls = t;
    t.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= READ_HIGH_WATER) t.pause();
      this.#notify();
    });
    t.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    t.on("error", (e: Error) => {
      this.#error ??= e;
      this.#fail(e);
    });
    // The engine calls close() once a read ends or fails, which releases
    // the descriptors of a socket the client closed.
    t.on("close", () => this.#fail(new Deno.errors.BrokenPipe("Closed")));
  }

  /** Resolves with what was negotiated; rejects when the handshake fails. */
  handshake(): Promise<TlsInfo> {
    const t = this.#tls;
    return new Promise((resolve, reject) => {
      const fail = (e?: Error) => {
        cleanup();
        reject(e ?? new Deno.errors.ConnectionReset("TLS handshake ended"));
      };
      const done = () => {
        cleanup();
        const alpn = t.alpnProtocol;
        const name = (t as { servername?: unknown }).servername;
        resolve({
          version: t.getProtocol() ?? "unknown",
          alpnProtocol: typeof alpn === "string" ? alpn : null,
          serverName: typeof name === "string" ? name : null,
        });
      };
      const cleanup = () => {
        t.off("secure", done);
        t.off("error", fail);
        t.off("close", fail);
      };
      if (this.#closed) return fail();
      t.once("secure", done);
      t.once("error", fail);
      t.once("close", fail);
    });
  }

  /** Reads decrypted bytes into `buf`; null at the end. */
  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended || this.#closed) return null;
      if (this.#error !== null) throw this.#error;
      await new Promise<void>((r) => this.#wake = r);
    }
    const first = this.#chunks[0];
    const n = Math.min(buf.length, first.length);
    buf.set(first.subarray(0, n));
    if (n === first.length) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    if (this.#buffered < READ_HIGH_WATER && this.#tls.isPaused()) {
      this.#tls.resume();
    }
    return n;
  }

  /**
   * Encrypts and writes `bytes`. Resolves at once while the socket keeps
   * up, else once it drained: that is the engine's write backpressure.
   */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed || this.#error !== null) {
      return Promise.reject(
        this.#error ?? new Deno.errors.BrokenPipe("Connection closed"),
      );
    }
    if (this.#tls.write(bytes)) return Promise.resolve(bytes.length);
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => {
        this.#tls.off("drain", drained);
        reject(e);
      };
      const drained = () => {
        this.#writes.delete(fail);
        resolve(bytes.length);
      };
      this.#writes.add(fail);
      this.#tls.once("drain", drained);
    });
  }

  /** Sends TLS close_notify and FIN. */
  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#tls.end(resolve));
  }

  /** Closes now and releases the descriptors, even mid-handshake. */
  close(): void {
    if (this.#released) return;
    this.#released = true;
    this.#tls.destroy();
    try {
      this.#conn.close();
    } catch { /* the stream closed it already */ }
    this.#fail(new Deno.errors.BrokenPipe("Connection closed"));
  }

  /** Wakes a pending read and fails pending writes. */
  #fail(e: Error): void {
    this.#closed = true;
    for (const reject of this.#writes) reject(e);
    this.#writes.clear();
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
}
