/**
 * The body sent upstream. Read through `ctx.body`, so the route's
 * `bodyBytes` limit applies. A body whose declared `Content-Length` is at
 * most {@linkcode REPLAY_BYTES} is read first, so a failed connect can be
 * retried with it; any other body is streamed as it arrives, with
 * backpressure, and cannot be sent twice.
 *
 * @module
 */

import type { Context } from "../context/context.ts";

/** Largest declared body read before sending, so it can be retried: 64 KiB. */
export const REPLAY_BYTES = 64 * 1024;

/** The request body as the proxy sends it. */
export interface OutgoingBody {
  /** What `fetch` gets as `body`. */
  readonly init: BodyInit | null;
  /** Whether it can be sent again to another upstream. */
  readonly replayable: boolean;
  /** The error the client's body failed with (e.g. `HttpError` 413), if any. */
  readonly error: unknown;
}

const NONE: OutgoingBody = Object.freeze({
  init: null,
  replayable: true,
  error: undefined,
});

/** A streamed body that remembers how the client's side failed. */
class StreamedBody implements OutgoingBody {
  readonly init: ReadableStream<Uint8Array>;
  readonly replayable = false;
  error: unknown = undefined;

  constructor(source: ReadableStream<Uint8Array>) {
    const reader = source.getReader();
    this.init = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (error) {
          this.error = error;
          controller.error(error);
          return;
        }
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
  }
}

/**
 * Prepares the body of `ctx` for the upstream. GET and HEAD requests send
 * none (fetch cannot), nor does a request that declares none.
 *
 * @throws {HttpError} 413 or 400 from `ctx.body` (declared length over the
 * limit, invalid, or a short body).
 */
export async function outgoingBody(ctx: Context): Promise<OutgoingBody> {
  const method = ctx.method;
  if (method === "GET" || method === "HEAD") return NONE;
  const length = ctx.header("content-length");
  if (ctx.header("transfer-encoding") === null) {
    if (length === null || length === "0") return NONE;
    const n = Number(length);
    if (n <= REPLAY_BYTES) {
      // bytes() validates the declared length against the limit itself.
      return {
        // A Uint8Array from ctx.body is backed by a plain ArrayBuffer.
        init: (await ctx.body.bytes()) as Uint8Array<ArrayBuffer>,
        replayable: true,
        error: undefined,
      };
    }
  }
  return new StreamedBody(ctx.body.stream());
}
