/**
 * The body stream of a client response: counts bytes against
 * `maxResponseBytes`, turns read failures into the client's errors, and
 * tells the call when the body is finished (read to the end, failed or
 * cancelled) so its timer and signal listeners go.
 *
 * @module
 */

/**
 * Largest declared, unencoded body read in one piece rather than chunk by
 * chunk: one native read instead of a JS read per chunk (measured: the
 * chunked path doubles the cost of a 2 kB exchange; `bench/client_bench.ts`).
 */
export const COLLECT_MAX_BYTES = 64 * 1024;

/** How {@linkcode limitBody} reports and fails. */
export interface LimitBodyOptions {
  /** Most bytes; 0 = no limit. */
  max: number;
  /**
   * Read the body with one native read, delivered as one chunk. Only for a
   * body whose `Content-Length` is declared, unencoded and at most
   * {@linkcode COLLECT_MAX_BYTES}: HTTP framing then bounds what is read.
   */
  collect: boolean;
  /** The error when more than `max` bytes arrive. */
  tooLarge: () => unknown;
  /** Maps a read failure of the source to the error readers see. */
  mapError: (error: unknown) => unknown;
  /** Called once when the body is finished, however it ends. */
  onEnd: () => void;
}

/** Wraps the body of `source` in a stream that enforces `options.max`. */
export function limitBody(
  source: Response,
  options: LimitBodyOptions,
): ReadableStream<Uint8Array> {
  const { max, onEnd } = options;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  const fail = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    error: unknown,
  ) => {
    end();
    controller.error(error);
  };
  if (options.collect) {
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        let bytes: Uint8Array;
        try {
          bytes = await source.bytes();
        } catch (e) {
          return fail(controller, options.mapError(e));
        }
        if (max > 0 && bytes.byteLength > max) {
          return fail(controller, options.tooLarge());
        }
        end();
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      },
      cancel(reason) {
        end();
        return source.body?.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }
  const reader = source.body!.getReader();
  let total = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        return fail(controller, options.mapError(e));
      }
      if (chunk.done) {
        end();
        controller.close();
        return;
      }
      total += chunk.value.byteLength;
      if (max > 0 && total > max) {
        const error = options.tooLarge();
        reader.cancel(error).catch(() => {});
        return fail(controller, error);
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
