/**
 * The socket an h1 connection hands over after a `101 Switching Protocols`
 * response: bytes already read past the request head (and a read still
 * pending from the request loop) come first, then the raw connection.
 *
 * @module
 */

import type { UpgradedSocket } from "../contract.ts";
import type { Input } from "./input.ts";

/**
 * Wraps `conn` for the new protocol. `write` and `close` are the
 * connection's own (so closing releases its slot); `isClosed` tells reads
 * to stop.
 */
export function upgradedSocket(
  conn: Deno.Conn,
  input: Input,
  write: (bytes: Uint8Array) => Promise<void>,
  close: () => void,
  isClosed: () => boolean,
): UpgradedSocket {
  input.lent = true; // the read buffer now belongs to the socket
  let rest = input.rest().slice();
  let pending = input.pending;
  return {
    read: async (buf) => {
      if (rest.length === 0 && pending !== null) {
        const p = pending;
        pending = null;
        if (!(await p)) return null;
        rest = input.rest().slice();
      }
      if (rest.length > 0) {
        const n = Math.min(buf.length, rest.length);
        buf.set(rest.subarray(0, n));
        rest = rest.subarray(n);
        return n;
      }
      if (isClosed()) return null;
      return await conn.read(buf);
    },
    write,
    close,
  };
}
