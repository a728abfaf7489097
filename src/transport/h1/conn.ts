/**
 * What the h1 engine needs of a connection: a `Deno.Conn` for plain TCP,
 * or the engine's own TLS connection (see `tls_conn.ts`), whose handshake
 * it runs and can abandon.
 *
 * @module
 */

import type { TlsInfo } from "../contract.ts";

/** A connection the engine reads and writes; `Deno.Conn` is one. */
export interface Conn {
  /** The peer's address. */
  readonly remoteAddr: Deno.Addr;
  /** Reads into `buf`: the count, or null at the end. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Writes from `bytes`: the count written (maybe fewer). */
  write(bytes: Uint8Array): Promise<number>;
  /** Stops writing (FIN), keeps reading. */
  closeWrite(): Promise<void>;
  /** Closes now; its descriptor is released at once. */
  close(): void;
}

/** A connection whose TLS handshake the engine runs. */
export interface TlsConn extends Conn {
  /** Runs the handshake; rejects when it fails or the socket closes. */
  handshake(): Promise<TlsInfo>;
}
