/**
 * Streamed response bodies (`ctx.stream`, `ctx.sse`) that the server can end:
 * at the deadline, on graceful shutdown, or when the client goes away.
 *
 * @module
 */

const encoder = new TextEncoder();

/** What the App can do to an open streamed body. */
export interface StreamControl {
  /** Ends the body cleanly: the client sees a normal end of stream. */
  finish(reason: unknown): void;
}

/** Something `ctx.stream` can send: bytes or strings, sync or async. */
export type StreamSource =
  | ReadableStream<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? encoder.encode(chunk) : chunk;
}

/**
 * Wraps `source` in a pull-based byte stream (one chunk per pull, so a slow
 * client slows the producer) that calls `onEnd` exactly once when it ends for
 * any reason, and that `finish` ends cleanly.
 */
export function iterableBody(
  source: StreamSource,
  onEnd: (error?: unknown) => void,
): { body: ReadableStream<Uint8Array>; control: StreamControl } {
  const it = source instanceof ReadableStream
    ? source.values()[Symbol.asyncIterator]()
    : Symbol.asyncIterator in source
    ? source[Symbol.asyncIterator]()
    : (source as Iterable<Uint8Array | string>)[Symbol.iterator]();
  let ended = false;
  let ctl: ReadableStreamDefaultController<Uint8Array>;
  function end(error?: unknown): void {
    if (ended) return;
    ended = true;
    onEnd(error);
  }
  function stopSource(): void {
    try {
      const r = it.return?.();
      if (r instanceof Promise) r.catch(() => {});
    } catch { /* the producer's cleanup failed; nothing left to do */ }
  }
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
    },
    async pull(c) {
      try {
        const r = await it.next();
        if (ended) return;
        if (r.done) {
          c.close();
          end();
        } else c.enqueue(toBytes(r.value));
      } catch (e) {
        if (ended) return;
        c.error(e);
        end(e);
      }
    },
    cancel(reason) {
      stopSource();
      end(reason ?? new DOMException("Client went away", "AbortError"));
    },
  }, { highWaterMark: 0 });
  const control: StreamControl = {
    finish() {
      if (ended) return;
      stopSource();
      try {
        ctl.close();
      } catch { /* already closed */ }
      end();
    },
  };
  return { body, control };
}

/** One Server-Sent Event. */
export interface SseMessage {
  /** Event type; the client's `addEventListener(event, ...)` receives it. */
  event?: string;
  /** Payload; strings are sent as is (split on newlines), other values as JSON. */
  data?: unknown;
  /** Event id; the client sends it back as `Last-Event-ID` when reconnecting. */
  id?: string;
  /** Reconnection delay the client should use, in ms. */
  retry?: number;
}

/** The writer handed to a `ctx.sse` producer. */
export interface SseWriter {
  /** Sends one event; resolves when the client has room for more. */
  send(message: SseMessage): Promise<void>;
  /** Sends a comment line (ignored by clients; keeps proxies from timing out). */
  comment(text: string): Promise<void>;
  /**
   * Aborts when the stream must end: client gone (`AbortError`), deadline
   * (`TimeoutError`) or server shutdown. Stop producing when it aborts.
   */
  readonly signal: AbortSignal;
}

function clean(s: string, what: string): string {
  if (/[\r\n]/.test(s)) {
    throw new TypeError(`SSE ${what} must not contain CR or LF`);
  }
  return s;
}

/** Serialises one event in the text/event-stream format. */
export function formatSse(message: SseMessage): string {
  let out = "";
  if (message.event !== undefined) {
    out += `event: ${clean(message.event, "event")}\n`;
  }
  if (message.id !== undefined) out += `id: ${clean(message.id, "id")}\n`;
  if (message.retry !== undefined) {
    if (!Number.isSafeInteger(message.retry) || message.retry < 0) {
      throw new TypeError(
        `SSE retry must be a non-negative integer, got ${message.retry}`,
      );
    }
    out += `retry: ${message.retry}\n`;
  }
  if (message.data !== undefined) {
    const text = typeof message.data === "string"
      ? message.data
      : JSON.stringify(message.data);
    for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  }
  return out + "\n";
}

/**
 * Builds an SSE body driven by `producer`, with a heartbeat comment every
 * `heartbeatMs` (0 = none).
 */
export function sseBody(
  producer: (sse: SseWriter) => unknown,
  heartbeatMs: number,
  onEnd: (error?: unknown) => void,
): { body: ReadableStream<Uint8Array>; control: StreamControl } {
  const ac = new AbortController();
  let ended = false;
  let ctl: ReadableStreamDefaultController<Uint8Array>;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let waiters: (() => void)[] = [];
  function wake(): void {
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  }
  function end(error?: unknown): void {
    if (ended) return;
    ended = true;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    if (!ac.signal.aborted) {
      ac.abort(error ?? new DOMException("Stream ended", "AbortError"));
    }
    wake();
    onEnd(error);
  }
  function write(text: string): Promise<void> {
    if (ended) return Promise.resolve();
    ctl.enqueue(encoder.encode(text));
    if ((ctl.desiredSize ?? 1) > 0) return Promise.resolve();
    return new Promise((resolve) => waiters.push(resolve));
  }
  const writer: SseWriter = {
    send: (m) => write(formatSse(m)),
    comment: (t) => write(`: ${clean(t, "comment")}\n\n`),
    signal: ac.signal,
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
      if (heartbeatMs > 0) {
        heartbeat = setInterval(() => {
          if (!ended) ctl.enqueue(encoder.encode(":\n\n"));
        }, heartbeatMs);
      }
      queueMicrotask(async () => {
        try {
          await producer(writer);
          if (!ended) {
            ctl.close();
            end();
          }
        } catch (e) {
          if (ended) return;
          ctl.error(e);
          end(e);
        }
      });
    },
    pull() {
      wake();
    },
    cancel(reason) {
      end(reason ?? new DOMException("Client went away", "AbortError"));
    },
  }, { highWaterMark: 16 * 1024, size: (chunk) => chunk.byteLength });
  const control: StreamControl = {
    finish(reason) {
      if (ended) return;
      ac.abort(reason);
      try {
        ctl.close();
      } catch { /* already closed */ }
      end();
    },
  };
  return { body, control };
}
