/**
 * `upgradeWebSocket()` on the deno transport: `Deno.upgradeWebSocket`,
 * with Palisade's limits applied where Deno leaves them open.
 *
 * What differs from h1, because Deno owns the protocol here:
 * - `maxMessageBytes` is checked after Deno assembled the message: Deno
 *   buffers each whole message first, up to its own cap (fastwebsockets'
 *   default of 64 MiB, which Deno 2.9 does not change; measured on 2.9.6,
 *   a 64 MiB message already fails with "Frame too large" and the
 *   connection is dropped without a close code). `maxFrameBytes` does not
 *   apply. A message over `maxMessageBytes` is dropped and the socket
 *   closed with 1009.
 * - Silence detection is Deno's `idleTimeout` (set to twice
 *   `idleTimeoutMs`, in seconds: Deno pings after half of it and closes
 *   with 1001 when no answer follows); `ws.ping()` does nothing.
 * - Messages are dispatched as Deno reads them: there is no read pause
 *   for pending async handlers.
 * - Deno has no way to drop a connection without a close handshake: a slow
 *   reader gets close 1008 queued behind its unread data, and `terminate()`
 *   (end of the shutdown grace) sends close 1001, reports the socket closed
 *   (1006) and stops tracking it, leaving the TCP connection to Deno.
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import { utf8Length } from "../internal/text.ts";
import { CloseCode } from "../transport/h1/websocket/close.ts";
import { bytesOf, checkClose } from "./arguments.ts";
import { dispatch } from "./dispatch.ts";
import type { Handshake } from "./handshake.ts";
import { type Counts, SocketWatch } from "./observe.ts";
import type { ResolvedOptions } from "./options.ts";
import type {
  WSCloseEvent,
  WSContext,
  WSEvents,
  WSReadyState,
} from "./types.ts";

const OPEN_EVENT = { type: "open" } as const;
const GOING_AWAY = "Server shutting down";

/** The `WSContext` of a Deno WebSocket. */
class DenoWebSocket implements WSContext {
  readonly protocol: string;
  readonly counts: Counts = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  /** Set when Palisade ended the socket: the close to report instead of Deno's. */
  failure: WSCloseEvent | null = null;
  closed = false;
  watch: SocketWatch | null = null;
  #socket: WebSocket;
  #events: WSEvents;
  #maxBuffered: number;

  constructor(
    socket: WebSocket,
    events: WSEvents,
    protocol: string,
    maxBuffered: number,
  ) {
    this.#socket = socket;
    this.#events = events;
    this.protocol = protocol;
    this.#maxBuffered = maxBuffered;
  }

  send(data: string | ArrayBuffer | Uint8Array): void {
    const socket = this.#socket;
    if (this.closed || socket.readyState !== 1) return;
    const counts = this.counts;
    if (typeof data === "string") {
      socket.send(data);
      counts.bytesOut += utf8Length(data);
    } else {
      const bytes = bytesOf(data);
      socket.send(bytes);
      counts.bytesOut += bytes.length;
    }
    counts.messagesOut++;
    this.watch?.countOut();
    if (socket.bufferedAmount > this.#maxBuffered) {
      this.fail(
        CloseCode.policy,
        `Slow reader: more than the maxBufferedBytes of ${this.#maxBuffered} buffered`,
      );
    }
  }

  close(code?: number, reason?: string): void {
    const c = checkClose(code, reason);
    if (this.closed) return;
    this.#socket.close(c, reason);
  }

  ping(): void {}

  get readyState(): WSReadyState {
    return this.closed ? 3 : this.#socket.readyState as WSReadyState;
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  get raw(): WebSocket {
    return this.#socket;
  }

  /** Reports `reason`, closes with `code` and remembers it as the close to report. */
  fail(code: number, reason: string): void {
    if (this.failure !== null || this.closed) return;
    this.failure = { type: "close", code, reason, wasClean: false };
    dispatch(this.#events, "onError", { type: "error", message: reason }, this);
    try {
      this.#socket.close(code, reason);
    } catch { /* already closing */ }
  }
}

/**
 * Upgrades `ctx` with `Deno.upgradeWebSocket` and returns Deno's 101
 * response, wiring the socket's events to `events`.
 *
 * @example Usage
 * ```ts ignore
 * return denoUpgrade(ctx, events, options, handshake);
 * ```
 */
export function denoUpgrade(
  ctx: Context,
  events: WSEvents,
  options: ResolvedOptions,
  handshake: Handshake,
): Response {
  const { socket, response } = Deno.upgradeWebSocket(ctx.req, {
    idleTimeout: (2 * options.idleTimeoutMs) / 1000,
  });
  // Set here rather than through Deno's `protocol` option, which only
  // matches offers separated by exactly ", ".
  if (handshake.protocol !== null) {
    response.headers.set("sec-websocket-protocol", handshake.protocol);
  }
  socket.binaryType = "arraybuffer";
  const ws = new DenoWebSocket(
    socket,
    events,
    handshake.protocol ?? "",
    options.maxBufferedBytes,
  );
  const maxMessage = options.maxMessageBytes;

  const finish = (event: WSCloseEvent): void => {
    if (ws.closed) return;
    ws.closed = true;
    ws.watch?.closed(event.code, event.reason, event.wasClean, ws.counts);
    dispatch(events, "onClose", event, ws);
  };

  // Only this binding is captured, and cleared at open: closures that live
  // as long as the socket must not keep the request's Context reachable.
  let origin: Context | null = ctx;
  socket.onopen = () => {
    const from = origin!;
    origin = null;
    ws.watch = new SocketWatch(from, {
      goingAway: () => {
        if (socket.readyState === 1) {
          socket.close(CloseCode.goingAway, GOING_AWAY);
        }
      },
      terminate: () => {
        try {
          socket.close(CloseCode.goingAway, GOING_AWAY);
        } catch { /* already closing */ }
        finish({
          type: "close",
          code: CloseCode.abnormal,
          reason: "",
          wasClean: false,
        });
      },
    }, options);
    dispatch(events, "onOpen", OPEN_EVENT, ws);
  };
  socket.onmessage = (e: MessageEvent) => {
    if (ws.closed || ws.failure !== null) return;
    const data = e.data as string | ArrayBuffer;
    const bytes = typeof data === "string" ? utf8Length(data) : data.byteLength;
    if (bytes > maxMessage) {
      ws.fail(
        CloseCode.tooBig,
        `Message exceeds the maxMessageBytes limit of ${maxMessage}`,
      );
      return;
    }
    ws.counts.messagesIn++;
    ws.counts.bytesIn += bytes;
    ws.watch?.countIn();
    dispatch(events, "onMessage", { type: "message", data }, ws);
  };
  socket.onerror = (e: Event) => {
    if (ws.closed) return;
    const message = (e as ErrorEvent).message || "WebSocket error";
    dispatch(events, "onError", { type: "error", message }, ws);
  };
  socket.onclose = (e: CloseEvent) => {
    finish(
      ws.failure ??
        { type: "close", code: e.code, reason: e.reason, wasClean: e.wasClean },
    );
  };
  return response;
}
