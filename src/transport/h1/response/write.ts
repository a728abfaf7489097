/**
 * Writing one response on an h1 connection: in a single write when its body
 * is known in full (encoded into a pooled buffer), else streamed.
 *
 * @module
 */

import { serializeFixed } from "./fixed.ts";
import {
  releaseBuffer,
  type Sink,
  takeBuffer,
  type WriteInfo,
} from "./head.ts";
import { writeStreamed } from "./streamed.ts";

/**
 * Writes `res` to `sink`; resolves with whether the connection may stay
 * open (see `serializeFixed` and `writeStreamed`).
 *
 * @throws whatever `sink.write` throws (the client went away).
 *
 * @example Usage
 * ```ts
 * import { writeResponse } from "./write.ts";
 * const chunks: Uint8Array[] = [];
 * const sink = { write: (b: Uint8Array) => { chunks.push(b); return Promise.resolve(); } };
 * const info = { head: false, version: 1 as const, keepAlive: true, now: Date.now(), buffer: null, extra: "", declaredLength: null, closeAsked: false };
 * await writeResponse(sink, new Response("ok"), info); // true
 * ```
 */
export async function writeResponse(
  sink: Sink,
  res: Response,
  info: WriteInfo,
): Promise<boolean> {
  const buffer = info.buffer = takeBuffer();
  const bytes = serializeFixed(res, info);
  if (bytes === undefined) {
    releaseBuffer(buffer);
    info.buffer = null;
    return await writeStreamed(sink, res, info);
  }
  try {
    await sink.write(bytes);
  } finally {
    releaseBuffer(buffer);
  }
  return info.keepAlive;
}
