/**
 * Checks what application code passes to `ws.close()` and `ws.send()`,
 * the same way on both transports.
 *
 * @module
 */

import { utf8Length } from "../internal/text.ts";
import { MAX_REASON_BYTES } from "../transport/h1/websocket/close.ts";

/**
 * Checks the arguments of `ws.close(code, reason)` and returns the code to
 * send: undefined for none, 1000 when only a reason is given.
 *
 * @throws {TypeError} when `code` is not 1000 or 3000–4999, or `reason` is
 * longer than 123 bytes of UTF-8.
 *
 * @example Usage
 * ```ts
 * import { checkClose } from "./arguments.ts";
 * checkClose(undefined, "bye"); // 1000
 * ```
 */
export function checkClose(
  code: number | undefined,
  reason: string | undefined,
): number | undefined {
  if (
    code !== undefined &&
    !(code === 1000 || (Number.isInteger(code) && code >= 3000 && code <= 4999))
  ) {
    throw new TypeError(
      `WebSocket close code must be 1000 or from 3000 to 4999, got ${
        String(code)
      }`,
    );
  }
  if (reason !== undefined) {
    const bytes = utf8Length(String(reason));
    if (bytes > MAX_REASON_BYTES) {
      throw new TypeError(
        `WebSocket close reason must be at most ${MAX_REASON_BYTES} bytes of UTF-8, got ${bytes}`,
      );
    }
    return code ?? 1000;
  }
  return code;
}

/** The bytes of a binary message given to `ws.send`. */
export function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof Uint8Array
    ? data
    : ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}
