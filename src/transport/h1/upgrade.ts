/**
 * The socket an h1 connection hands over after a `101 Switching Protocols`
 * response: bytes already read past the request head (and a read still
 * pending from the request loop) come first, then the raw connection,
 * which the new owner then reads and writes directly.
 *
 * @module
 */

import type { Conn } from "./conn.ts";
import type { UpgradedSocket } from "../contract.ts";
import type { Input } from "./input.ts";

/**
 * Wraps `conn` for the new protocol. `close` is the connection's own (so
 * closing releases its slot); `isClosed` tells reads to stop. Writes have
 * no timeout any more: the new owner bounds them (a WebSocket's
 * `maxBufferedBytes`).
 */
export function upgradedSocket(
  conn: Conn,
  input: Input,
  close: () => void,
  isClosed: () => boolean,
): UpgradedSocket {
  let rest = input.rest().slice();
  let pending = input.pending;
  // The read buffer goes back to the pool unless a read still fills it.
  if (pending === null) input.recycle();
  else input.lent = true;
  const buffered = async (buf: Uint8Array): Promise<number | null> => {
    if (rest.length === 0 && pending !== null) {
      const p = pending;
      pending = null;
      const ok = await p;
      rest = input.rest().slice();
      input.lent = true;
      if (!ok) return null;
    }
    if (rest.length > 0) {
      const n = Math.min(buf.length, rest.length);
      buf.set(rest.subarray(0, n));
      rest = rest.subarray(n);
      return n;
    }
    if (isClosed()) return null;
    return await conn.read(buf);
  };
  return {
    // Straight to the connection once the bytes read before are consumed.
    read: (buf) =>
      rest.length === 0 && pending === null && !isClosed()
        ? conn.read(buf)
        : buffered(buf),
    write: async (bytes) => {
      let off = await conn.write(bytes);
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    },
    close,
  };
}
