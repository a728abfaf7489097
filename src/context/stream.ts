/**
 * Response bodies the App can end: `ctx.stream`, `ctx.sse` and raw
 * `ReadableStream` bodies returned by handlers. Each reports its end once
 * and counts the bytes it delivered, and each can be ended by the App: an
 * SSE stream cleanly (the client sees a normal end), any other stream by
 * cutting it (an error, so the client sees an incomplete transfer).
 *
 * @module
 */

const encoder = new TextEncoder();

/** What the App can do to an open streamed body. */
export interface StreamControl {
  /** `"sse"` ends cleanly when the App ends it; the others are cut. */
  readonly kind: "sse" | "stream" | "raw";
  /** The body handed to the transport. */
  readonly body: ReadableStream<Uint8Array>;
  /** Bytes delivered to the transport so far. */
  readonly bytes: number;
  /** The body has ended (normally, cut, or cancelled by the reader). */
  readonly ended: boolean;
  /**
   * Ends the body: an SSE stream closes cleanly (its writer's signal aborts
   * with `reason`); any other stream is errored with `reason`, which aborts
   * the transfer on every transport.
   */
  end(reason: unknown): void;
}

/** Something `ctx.stream` can send: bytes or strings, sync or async. */
export type StreamSource =
  | ReadableStream<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

/** One result of pulling a body's source. */
interface Chunk {
  done?: boolean;
  value?: Uint8Array | string;
}

/** Called once when a body ends: no error for a normal end. */
export type StreamEnd = (error?: unknown) => void;

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? encoder.encode(chunk) : chunk;
}

/**
 * The error a cut stream is errored with: `reason` restated as "Response
 * stream cut: …" with a one-line stack, since `Deno.serve` prints the error
 * of every response body that fails.
 */
function cutError(reason: unknown): unknown {
  if (!(reason instanceof Error || reason instanceof DOMException)) {
    return reason;
  }
  const error = new DOMException(
    `Response stream cut: ${reason.message}`,
    reason.name,
  );
  Object.defineProperty(error, "stack", {
    value: `${error.name}: ${error.message}`,
  });
  return error;
}

function clientGone(): DOMException {
  return new DOMException("Client went away", "AbortError");
}

/**
 * A pull-based byte stream (one chunk per pull, so a slow client slows the
 * producer) over an iterator, calling `onEnd` exactly once.
 */
class PulledBody implements StreamControl {
  readonly kind: "stream" | "raw";
  readonly body: ReadableStream<Uint8Array>;
  bytes = 0;
  #ended = false;
  #ctl!: ReadableStreamDefaultController<Uint8Array>;
  #next: () => Promise<Chunk>;
  #stop: (reason: unknown) => void;
  #onEnd: StreamEnd;

  constructor(
    kind: "stream" | "raw",
    next: () => Promise<Chunk>,
    stop: (reason: unknown) => void,
    onEnd: StreamEnd,
  ) {
    this.kind = kind;
    this.#next = next;
    this.#stop = stop;
    this.#onEnd = onEnd;
    this.body = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#ctl = c;
      },
      pull: (c) => this.#pull(c),
      cancel: (reason) => {
        this.#stop(reason);
        this.#finish(reason ?? clientGone());
      },
    }, { highWaterMark: 0 });
  }

  get ended(): boolean {
    return this.#ended;
  }

  async #pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      const r = await this.#next();
      if (this.#ended) return;
      if (r.done) {
        c.close();
        this.#finish();
        return;
      }
      const bytes = toBytes(r.value!);
      this.bytes += bytes.length;
      c.enqueue(bytes);
    } catch (e) {
      if (this.#ended) return;
      c.error(e);
      this.#finish(e);
    }
  }

  end(reason: unknown): void {
    if (this.#ended) return;
    this.#stop(reason);
    try {
      this.#ctl.error(cutError(reason));
    } catch { /* already closed */ }
    this.#finish(reason);
  }

  #finish(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd(error);
  }
}

/**
 * Wraps `source` for `ctx.stream`: one chunk per pull; strings are UTF-8
 * encoded; the iterator's `return()` runs when the stream ends early.
 */
export function iterableBody(
  source: StreamSource,
  onEnd: StreamEnd,
): StreamControl {
  const it = source instanceof ReadableStream
    ? source.values()[Symbol.asyncIterator]()
    : Symbol.asyncIterator in source
    ? source[Symbol.asyncIterator]()
    : (source as Iterable<Uint8Array | string>)[Symbol.iterator]();
  return new PulledBody(
    "stream",
    async () => await it.next(),
    () => {
      try {
        const r = it.return?.();
        if (r instanceof Promise) r.catch(() => {});
      } catch { /* the producer's cleanup failed; nothing left to do */ }
    },
    onEnd,
  );
}

/**
 * Wraps a raw `ReadableStream` body returned by a handler, so the App knows
 * when its last byte was handed to the transport and can cut it at the
 * deadline or a forced shutdown.
 */
export function rawBody(
  source: ReadableStream<Uint8Array>,
  onEnd: StreamEnd,
): StreamControl {
  const reader = source.getReader();
  return new PulledBody(
    "raw",
    () => reader.read(),
    (reason) => reader.cancel(reason).catch(() => {}),
    onEnd,
  );
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

/** An SSE body driven by a producer; ended cleanly by the App. */
class SseBody implements StreamControl {
  readonly kind = "sse" as const;
  readonly body: ReadableStream<Uint8Array>;
  bytes = 0;
  #ac = new AbortController();
  #ended = false;
  #ctl!: ReadableStreamDefaultController<Uint8Array>;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #waiters: (() => void)[] = [];
  #onEnd: StreamEnd;

  constructor(
    producer: (sse: SseWriter) => unknown,
    heartbeatMs: number,
    onEnd: StreamEnd,
  ) {
    this.#onEnd = onEnd;
    const writer: SseWriter = {
      send: (m) => this.#write(formatSse(m)),
      comment: (t) => this.#write(`: ${clean(t, "comment")}\n\n`),
      signal: this.#ac.signal,
    };
    this.body = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#ctl = c;
        if (heartbeatMs > 0) {
          this.#heartbeat = setInterval(() => {
            if (!this.#ended) this.#enqueue(":\n\n");
          }, heartbeatMs);
        }
        queueMicrotask(async () => {
          try {
            await producer(writer);
            if (!this.#ended) {
              this.#ctl.close();
              this.#finish();
            }
          } catch (e) {
            if (this.#ended) return;
            this.#ctl.error(e);
            this.#finish(e);
          }
        });
      },
      pull: () => this.#wake(),
      cancel: (reason) => this.#finish(reason ?? clientGone()),
    }, { highWaterMark: 16 * 1024, size: (chunk) => chunk.byteLength });
  }

  get ended(): boolean {
    return this.#ended;
  }

  end(reason: unknown): void {
    if (this.#ended) return;
    this.#ac.abort(reason);
    try {
      this.#ctl.close();
    } catch { /* already closed */ }
    this.#finish();
  }

  #enqueue(text: string): void {
    const bytes = encoder.encode(text);
    this.bytes += bytes.length;
    this.#ctl.enqueue(bytes);
  }

  #write(text: string): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#enqueue(text);
    if ((this.#ctl.desiredSize ?? 1) > 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
  }

  #finish(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    if (!this.#ac.signal.aborted) {
      this.#ac.abort(error ?? new DOMException("Stream ended", "AbortError"));
    }
    this.#wake();
    this.#onEnd(error);
  }
}

/**
 * Builds an SSE body driven by `producer`, with a heartbeat comment every
 * `heartbeatMs` (0 = none).
 */
export function sseBody(
  producer: (sse: SseWriter) => unknown,
  heartbeatMs: number,
  onEnd: StreamEnd,
): StreamControl {
  return new SseBody(producer, heartbeatMs, onEnd);
}
