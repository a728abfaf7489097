/**
 * Decoding of request bodies sent with `Content-Encoding: gzip | deflate`,
 * counting decoded bytes against the body limit (gzip bombs stop at it).
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import type { RejectReason } from "../http/limits.ts";

/** A request content coding {@linkcode decodeBody} can decode. */
export type BodyCoding = "gzip" | "deflate";

/** Options of {@linkcode decodeBody}. */
export interface DecodeBodyOptions {
  /**
   * Most decoded bytes, usually the route's `bodyBytes` limit; a positive
   * integer. The stream errors with 413 instead of delivering a chunk that
   * would pass it, and cancels the source.
   */
  limit: number;
  /**
   * Codings accepted. Default `["gzip", "deflate"]`; an empty list accepts
   * none (every coding is answered 415).
   */
  allowed?: readonly BodyCoding[];
  /**
   * Called once per rejection, when it is detected, with the reason, the
   * status and the detail (as `Body`'s `onReject`). Must not throw.
   */
  onReject?: (reason: RejectReason, status: number, detail: string) => void;
}

const CODINGS: readonly BodyCoding[] = ["gzip", "deflate"];
/**
 * Most and fewest compressed bytes handed to the decoder at a time. Deflate
 * expands at most about 1032:1: a slice is sized so that one step yields
 * little more than the bytes still allowed (at most 8 MiB, at least ~256
 * KiB) before the limit is checked, however large the client's chunks.
 */
const MAX_SLICE = 8192;
const MIN_SLICE = 256;
const MAX_RATIO = 1032;
const ADLER_MOD = 65521;
const ADLER_BLOCK = 5552; // most bytes before the sums can overflow 2^31

function noop(): void {}

function adler32(adler: number, bytes: Uint8Array): number {
  let a = adler & 0xffff;
  let b = adler >>> 16;
  for (let i = 0; i < bytes.length;) {
    const end = Math.min(i + ADLER_BLOCK, bytes.length);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= ADLER_MOD;
    b %= ADLER_MOD;
  }
  return (b * 65536 + a) >>> 0;
}

function clip(s: string): string {
  return s.length > 64 ? s.slice(0, 64) + "…" : s;
}

/**
 * Decodes a request body sent with `Content-Encoding`, counting decoded
 * bytes against `limit`.
 *
 * `contentEncoding` is the request's `Content-Encoding` value: `gzip`
 * (also `x-gzip`) or `deflate` (the zlib format, RFC 9110 §8.4.1.2), case
 * insensitive; null, empty or `identity` return `stream` unchanged. Throws
 * at once, before reading, {@linkcode HttpError} 415 for a coding that is
 * not supported or not `allowed`, or for more than one coding (`gzip,
 * gzip`); the error carries `Accept-Encoding` with the allowed codings
 * (RFC 9110 §15.5.16).
 *
 * The returned stream errors with 413 ("Request body exceeds the bodyBytes
 * limit of N bytes after decoding") instead of delivering a chunk that
 * would pass `limit`, and cancels `stream` so the client stops being read;
 * it errors with 400 for corrupt or truncated data (including a truncated
 * deflate body, which Deno 2.9.6's `DecompressionStream` would end
 * silently: its Adler-32 trailer is checked here) and for data after the
 * end of the compressed stream. An error of `stream` itself (such as the
 * 413 of a raw limit) is passed through as it is. Decoding pulls from
 * `stream` only as fast as the result is read, a few KiB at a time, so
 * memory stays bounded whatever the compression ratio.
 *
 * @throws {HttpError} 415 for an unsupported, disallowed or repeated coding.
 * @throws {TypeError} for an invalid `limit` or `allowed`.
 *
 * @example Usage
 * ```ts
 * import { decodeBody } from "./encoding.ts";
 * const gz = new Blob(["hello"]).stream().pipeThrough(new CompressionStream("gzip"));
 * const text = await new Response(decodeBody(gz, "gzip", { limit: 1024 })).text();
 * text; // "hello"
 * ```
 */
export function decodeBody(
  stream: ReadableStream<Uint8Array>,
  contentEncoding: string | null,
  options: DecodeBodyOptions,
): ReadableStream<Uint8Array> {
  const { limit, onReject } = options;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TypeError(
      `Option limit must be a positive integer, got ${String(limit)}`,
    );
  }
  const allowed = options.allowed ?? CODINGS;
  if (!Array.isArray(allowed) || !allowed.every((c) => CODINGS.includes(c))) {
    throw new TypeError(
      'Option allowed must be an array of "gzip" and "deflate"',
    );
  }
  const reject = (
    reason: RejectReason,
    status: number,
    detail: string,
    headers?: HeadersInit,
  ): HttpError => {
    onReject?.(reason, status, detail);
    return new HttpError(status, detail, { headers, reason });
  };

  const codings = (contentEncoding ?? "").split(",").map((c) =>
    c.trim().toLowerCase()
  ).filter((c) => c !== "");
  if (
    codings.length === 0 || (codings.length === 1 && codings[0] === "identity")
  ) {
    return stream;
  }
  const accepted = {
    "accept-encoding": allowed.length > 0 ? allowed.join(", ") : "identity",
  };
  if (codings.length > 1) {
    throw reject(
      "unsupported_media_type",
      415,
      `Request Content-Encoding lists more than one coding (${
        clip(codings.join(", "))
      }); only one is decoded`,
      accepted,
    );
  }
  const coding = codings[0] === "x-gzip" ? "gzip" : codings[0];
  if (!(allowed as readonly string[]).includes(coding)) {
    const what = CODINGS.includes(coding as BodyCoding)
      ? "is not accepted here"
      : "is not supported";
    throw reject(
      "unsupported_media_type",
      415,
      `Request Content-Encoding ${clip(coding)} ${what}`,
      accepted,
    );
  }
  return decoded(stream, coding as BodyCoding, limit, reject);
}

function decoded(
  stream: ReadableStream<Uint8Array>,
  coding: BodyCoding,
  limit: number,
  reject: (reason: RejectReason, status: number, detail: string) => HttpError,
): ReadableStream<Uint8Array> {
  const source = stream.getReader();
  let sourceError: unknown = undefined;
  let pending: Uint8Array<ArrayBuffer> | null = null;
  // deflate: the last 4 compressed bytes (the Adler-32 trailer) and a count.
  const deflate = coding === "deflate";
  const tail = new Uint8Array(4);
  let compressed = 0;
  let total = 0; // decoded bytes delivered

  // Request bodies are never backed by a SharedArrayBuffer.
  const sliced = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull: async (controller): Promise<void> => {
      while (pending === null || pending.length === 0) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await source.read();
        } catch (error) {
          sourceError = error;
          controller.error(error);
          return;
        }
        if (result.done) {
          controller.close();
          return;
        }
        pending = result.value as Uint8Array<ArrayBuffer>;
      }
      const size = Math.min(
        MAX_SLICE,
        Math.max(MIN_SLICE, Math.ceil((limit - total) / MAX_RATIO)),
      );
      const piece = pending.length > size ? pending.subarray(0, size) : pending;
      pending = piece === pending ? null : pending.subarray(size);
      if (deflate) {
        for (let i = Math.max(0, piece.length - 4); i < piece.length; i++) {
          tail.copyWithin(0, 1);
          tail[3] = piece[i];
        }
        compressed += piece.length;
      }
      controller.enqueue(piece);
    },
    cancel: (reason): Promise<void> => source.cancel(reason),
  }, { highWaterMark: 0 });

  const output = sliced.pipeThrough(new DecompressionStream(coding))
    .getReader();
  const corrupt = (): HttpError =>
    reject(
      "bad_request",
      400,
      `Request body is not valid ${coding} data (corrupt or truncated)`,
    );
  // Cancel the source at once: through the pipe it would take a few turns.
  const stop = (reason: unknown): void => {
    source.cancel(reason).catch(noop);
    output.cancel(reason).catch(noop);
  };
  let adler = 1;
  return new ReadableStream<Uint8Array>({
    pull: async (controller): Promise<void> => {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await output.read();
      } catch {
        controller.error(sourceError ?? corrupt());
        stop(undefined);
        return;
      }
      if (result.done) {
        const trailer = ((tail[0] << 24) | (tail[1] << 16) | (tail[2] << 8) |
          tail[3]) >>> 0;
        if (deflate && (compressed < 6 || trailer !== adler)) {
          controller.error(corrupt());
        } else controller.close();
        return;
      }
      const chunk = result.value;
      if (total + chunk.length > limit) {
        const error = reject(
          "body_too_large",
          413,
          `Request body exceeds the bodyBytes limit of ${limit} bytes after decoding`,
        );
        controller.error(error);
        stop(error);
        return;
      }
      total += chunk.length;
      if (deflate) adler = adler32(adler, chunk);
      controller.enqueue(chunk);
    },
    cancel: (reason): void => stop(reason),
  }, { highWaterMark: 0 });
}
