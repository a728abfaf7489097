/**
 * Serialises a Response whose body is known in full (none, or a string or
 * bytes given to `new Response`) into one buffer, so it goes out in one
 * write: status line, headers, `Content-Length`, body; no body for HEAD,
 * 204 and 304.
 *
 * @module
 */

import {
  bodyKind,
  type FastResponse,
  takeFastResponse,
  takeStaticBody,
} from "../../../internal/deno.ts";
import { utf8Length } from "../../../internal/text.ts";
import {
  connectionLine,
  dateHeader,
  encodeMessage,
  headLines,
  statusLine,
  type WriteInfo,
} from "./head.ts";

const encoder = new TextEncoder();

/**
 * Serialises `res` into one buffer when its body is known in full (no body,
 * or a string or bytes given to `new Response`), so it goes out in one
 * write; returns undefined when the body is a stream (use
 * {@linkcode writeStreamed}). Sets `info.keepAlive` to whether the
 * connection may stay open after it.
 *
 * @example Usage
 * ```ts
 * import { serializeFixed } from "./fixed.ts";
 * const info = { head: false, version: 1 as const, keepAlive: true, now: Date.now(), buffer: null, extra: "", declaredLength: null, closeAsked: false };
 * const bytes = serializeFixed(new Response("ok"), info)!;
 * new TextDecoder().decode(bytes).endsWith("\r\n\r\nok"); // true
 * ```
 */
export function serializeFixed(
  res: Response,
  info: WriteInfo,
): Uint8Array | undefined {
  const fast = takeFastResponse(res);
  if (fast !== null) return serializeFast(fast, info);
  if (bodyKind(res) === "stream") return undefined;
  let head = headLines(res, info);
  const fixed = takeStaticBody(res);
  const status = res.status;
  const keep = info.keepAlive && !info.closeAsked;
  info.keepAlive = keep;
  const v0 = info.version === 0;
  if (info.head || status === 204 || status === 304) {
    // HEAD and 304 may carry the length the full response would have.
    if (status !== 204) {
      if (info.declaredLength !== null) {
        head += "content-length: " + info.declaredLength + "\r\n";
      } else if (info.head && fixed !== undefined) {
        head += "content-length: " +
          (typeof fixed === "string" ? utf8Length(fixed) : fixed.length) +
          "\r\n";
      }
    }
    head += connectionLine(keep, v0) + "\r\n";
    return encodeMessage(head, null, 0, info.buffer);
  }
  if (fixed === undefined) {
    head += "content-length: 0\r\n" + connectionLine(keep, v0) + "\r\n";
    return encodeMessage(head, null, 0, info.buffer);
  }
  if (typeof fixed === "string" && fixed.length > 4096) {
    // A large string: encode it once and send the bytes.
    const bytes = encoder.encode(fixed);
    head += "content-length: " + bytes.length + "\r\n" +
      connectionLine(keep, v0) + "\r\n";
    return encodeMessage(head, bytes, bytes.length, null);
  }
  const length = typeof fixed === "string" ? utf8Length(fixed) : fixed.length;
  head += "content-length: " + length + "\r\n" + connectionLine(keep, v0) +
    "\r\n";
  return encodeMessage(head, fixed, length, info.buffer);
}

/** The last large string body and its encoding, reused while it repeats. */
let lastText = "";
let lastBytes: Uint8Array = new Uint8Array(0);

/**
 * Serialises a Response Deno keeps in its fast form (see
 * `takeFastResponse`): its head is built from the status and the content
 * type without a `Headers` object.
 */
function serializeFast(fast: FastResponse, info: WriteInfo): Uint8Array {
  const { status, body, contentType } = fast;
  info.declaredLength = null;
  info.closeAsked = false;
  let head = statusLine(status);
  if (contentType !== null) head += "content-type: " + contentType + "\r\n";
  head += info.extra + dateHeader(info.now);
  const tail = connectionLine(info.keepAlive, info.version === 0) + "\r\n";
  if (typeof body === "string" && body.length > 4096) {
    // A large string: encode it once, and reuse the bytes while the same
    // string is sent again (a constant page or payload).
    if (body !== lastText) {
      lastBytes = encoder.encode(body);
      lastText = body;
    }
    const bytes = lastBytes;
    head += "content-length: " + bytes.length + "\r\n" + tail;
    return encodeMessage(
      head,
      info.head ? null : bytes,
      info.head ? 0 : bytes.length,
      null,
    );
  }
  const length = typeof body === "string" ? utf8Length(body) : body.length;
  head += "content-length: " + length + "\r\n" + tail;
  if (info.head || status === 204 || status === 304) {
    return encodeMessage(head, null, 0, info.buffer);
  }
  return encodeMessage(head, body, length, info.buffer);
}
