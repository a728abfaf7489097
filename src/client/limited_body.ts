/**
 * The body stream of a client response: counts bytes against
 * `maxResponseBytes`, turns read failures into the client's errors, and
 * tells the call when the body is finished (read to the end, failed or
 * cancelled) so its timer and signal listeners go.
 *
 * @module
 */

/** How {@linkcode limitBody} reports and fails. */
export interface LimitBodyOptions {
  /** Most bytes; 0 = no limit. */
  max: number;
  /** The error when more than `max` bytes arrive. */
  tooLarge: () => unknown;
  /** Maps a read failure of the source to the error readers see. */
  mapError: (error: unknown) => unknown;
  /** Called once when the body is finished, however it ends. */
  onEnd: () => void;
}

/** Wraps `source` in a stream that enforces `options.max`. */
export function limitBody(
  source: ReadableStream<Uint8Array>,
  options: LimitBodyOptions,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const { max, onEnd } = options;
  let total = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        const error = options.mapError(e);
        end();
        controller.error(error);
        return;
      }
      if (chunk.done) {
        end();
        controller.close();
        return;
      }
      total += chunk.value.byteLength;
      if (max > 0 && total > max) {
        const error = options.tooLarge();
        end();
        reader.cancel(error).catch(() => {});
        controller.error(error);
        return;
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
