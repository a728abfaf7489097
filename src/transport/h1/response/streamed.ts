/**
 * Writes a Response whose body is a stream: framing by the Response's own
 * `Content-Length` when it has one, chunked otherwise (close-delimited for
 * HTTP/1.0), one chunk read and written at a time (write backpressure: the
 * body is never buffered), and a body that fails or ends short leaves the
 * transfer visibly incomplete.
 *
 * @module
 */

import {
  connectionLine,
  encodeMessage,
  headLines,
  type Sink,
  type WriteInfo,
} from "./head.ts";

const encoder = new TextEncoder();
const noop = (): void => {};
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/**
 * Writes `res` (a streamed body; see `serializeFixed` for the others) to
 * `sink` and resolves with whether the connection may stay open: false when
 * `info.keepAlive` is false, when the Response says `Connection: close`,
 * when the body is close-delimited (HTTP/1.0), or when the body failed or
 * did not match its declared `Content-Length` (the client then sees an
 * incomplete transfer: no last chunk, or fewer bytes than declared).
 * `Transfer-Encoding`, `Connection` and `Keep-Alive` from the Response are
 * replaced by the writer's own. A `date` header is added unless present.
 *
 * @throws whatever `sink.write` throws (the client went away); the response
 * body is cancelled first, with an `AbortError`.
 *
 * @example Usage
 * ```ts ignore
 * const keep = await writeStreamed(sink, res, info);
 * ```
 */
export async function writeStreamed(
  sink: Sink,
  res: Response,
  info: WriteInfo,
): Promise<boolean> {
  let head = headLines(res, info);
  const status = res.status;
  let keep = info.keepAlive && !info.closeAsked;
  const userLength = info.declaredLength;
  const v0 = info.version === 0;
  const body = res.body!;
  if (info.head || status === 204 || status === 304) {
    body.cancel().catch(noop);
    if (userLength !== null && status !== 204) {
      head += "content-length: " + userLength + "\r\n";
    }
    head += connectionLine(keep, v0) + "\r\n";
    await sink.write(encodeMessage(head, null, 0, null));
    return keep;
  }
  let declared = -1;
  if (userLength !== null && /^[0-9]{1,15}$/.test(userLength)) {
    declared = Number(userLength);
  }
  const chunked = declared < 0 && !v0;
  if (declared >= 0) head += "content-length: " + declared + "\r\n";
  else if (chunked) head += "transfer-encoding: chunked\r\n";
  else keep = false; // HTTP/1.0: the end of the body is the end of the connection
  head += connectionLine(keep, v0) + "\r\n";

  const reader = body.getReader();
  try {
    await sink.write(encodeMessage(head, null, 0, null));
    let sent = 0;
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch {
        return false; // the body failed: the client sees a cut-short body
      }
      if (r.done) break;
      const chunk = r.value;
      if (!(chunk instanceof Uint8Array)) {
        reader.cancel(new TypeError("Response body chunk is not a Uint8Array"))
          .catch(noop);
        return false;
      }
      const n = chunk.length;
      if (n === 0) continue;
      if (declared >= 0) {
        if (sent + n > declared) {
          // Longer than declared: send what was promised, then close.
          await sink.write(chunk.subarray(0, declared - sent));
          reader.cancel().catch(noop);
          return false;
        }
        sent += n;
        await sink.write(chunk);
      } else if (chunked) {
        await writeChunk(sink, chunk);
      } else {
        await sink.write(chunk);
      }
    }
    if (declared >= 0) return keep && sent === declared;
    if (chunked) await sink.write(LAST_CHUNK);
    return keep;
  } catch (error) {
    // The write failed: the client is gone (or too slow and cut off).
    reader.cancel(new DOMException("Client disconnected", "AbortError"))
      .catch(noop);
    throw error;
  }
}

async function writeChunk(sink: Sink, chunk: Uint8Array): Promise<void> {
  const prefix = chunk.length.toString(16) + "\r\n";
  if (chunk.length <= 16 * 1024) {
    const out = new Uint8Array(prefix.length + chunk.length + 2);
    encoder.encodeInto(prefix, out);
    out.set(chunk, prefix.length);
    out[out.length - 2] = 0x0d;
    out[out.length - 1] = 0x0a;
    await sink.write(out);
    return;
  }
  await sink.write(encoder.encode(prefix));
  await sink.write(chunk);
  await sink.write(CRLF);
}
