/**
 * File bodies: a byte range of a file read straight into one buffer when it
 * is small, or streamed from disk with backpressure when it is not. The
 * file handle is closed on every path: end, error, cancel (client gone),
 * and a stream that is never read never opens it.
 *
 * @module
 */

/** Largest body read at once, synchronously, into one buffer. */
export const SMALL_FILE_BYTES = 64 * 1024;
/**
 * Size of each read of a streamed file. 256 KiB reads cost a third of the
 * CPU per MiB of 64 KiB reads (fewer thread-pool round trips and socket
 * writes: measured in `bench/static_load.ts`); one such buffer is alive
 * per transfer, since the next read waits for the consumer.
 */
export const STREAM_CHUNK_BYTES = 256 * 1024;

async function openAt(path: string, start: number): Promise<Deno.FsFile> {
  const file = await Deno.open(path, { read: true });
  if (start > 0) {
    try {
      await file.seek(start, Deno.SeekMode.Start);
    } catch (error) {
      file.close();
      throw error;
    }
  }
  return file;
}

/**
 * Reads up to `length` bytes of `path` from `start` (at most
 * {@linkcode SMALL_FILE_BYTES}) into one buffer and closes the file, with
 * synchronous calls. The result is shorter than `length` when the file
 * shrank since it was sized; it is never longer (a file that grew is read
 * only up to `length`).
 */
export function readSmall(
  path: string,
  start: number,
  length: number,
): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(length);
  if (length === 0) return buf;
  using file = Deno.openSync(path, { read: true });
  if (start > 0) file.seekSync(start, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < length) {
    const n = file.readSync(buf.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

/** The error a stream ends with when its file shrank during the send. */
export class FileShrankError extends Error {
  /** Creates the error for `path`, naming how many bytes were promised. */
  constructor(path: string, sent: number, promised: number) {
    super(
      `File ${path} ended after ${sent} of the ${promised} bytes promised`,
    );
    this.name = "FileShrankError";
  }
}

/**
 * Streams `length` bytes of `path` from `start`. The file is opened on the
 * first read (so a response nobody reads, such as a HEAD answer, never
 * opens it), each read waits for the consumer (`highWaterMark` 0), and the
 * stream never yields more than `length` bytes: a file that grew is cut at
 * `length`, one that shrank errors the stream with {@linkcode
 * FileShrankError} so the transport cuts the transfer short instead of
 * sending a body shorter than its `Content-Length`.
 */
export function fileStream(
  path: string,
  start: number,
  length: number,
): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | null = null;
  let remaining = length;
  let done = false;
  const close = (): void => {
    done = true;
    if (file !== null) {
      const f = file;
      file = null;
      try {
        f.close();
      } catch { /* already closed */ }
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      try {
        if (file === null) {
          const opened = await openAt(path, start);
          if (done) { // cancelled while opening
            opened.close();
            return;
          }
          file = opened;
        }
        const buf = new Uint8Array(Math.min(STREAM_CHUNK_BYTES, remaining));
        const n = await file.read(buf);
        if (done) return;
        if (n === null) {
          close();
          controller.error(
            new FileShrankError(path, length - remaining, length),
          );
          return;
        }
        remaining -= n;
        controller.enqueue(n === buf.length ? buf : buf.subarray(0, n));
        if (remaining === 0) {
          close();
          controller.close();
        }
      } catch (error) {
        const cancelled = done;
        close();
        if (!cancelled) controller.error(error);
      }
    },
    cancel(): void {
      close();
    },
  }, { highWaterMark: 0 });
}
