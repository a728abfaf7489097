/**
 * The types `upgradeWebSocket()` hands to application code: the socket
 * (`WSContext`), the events and their handlers, in the shape of Hono's
 * WebSocket helper so handlers port between the two.
 *
 * @module
 */

/**
 * The state of a WebSocket, numbered like `WebSocket.readyState`: 0
 * connecting, 1 open, 2 closing, 3 closed.
 */
export type WSReadyState = 0 | 1 | 2 | 3;

/** Passed to `onOpen` once the connection is open. */
export interface WSOpenEvent {
  /** Always `"open"`. */
  readonly type: "open";
}

/** A message received from the client, passed to `onMessage`. */
export interface WSMessageEvent {
  /** Always `"message"`. */
  readonly type: "message";
  /**
   * The message: a string for a text message, an `ArrayBuffer` (of its
   * own) for a binary one, on both transports.
   */
  readonly data: string | ArrayBuffer;
}

/** Passed to `onClose` once the connection is closed. */
export interface WSCloseEvent {
  /** Always `"close"`. */
  readonly type: "close";
  /**
   * The close code: the one in the client's close frame for a clean close
   * (1005 when it had none), the code the server failed the connection
   * with (1002, 1007, 1008, 1009), or 1006 when the connection ended
   * without a close handshake.
   */
  readonly code: number;
  /** The close reason, `""` when none. */
  readonly reason: string;
  /** Whether both sides exchanged close frames before TCP closed. */
  readonly wasClean: boolean;
}

/** Passed to `onError` when the connection fails; `onClose` follows. */
export interface WSErrorEvent {
  /** Always `"error"`. */
  readonly type: "error";
  /** What went wrong, e.g. `"Text message is not valid UTF-8"`. */
  readonly message: string;
}

/** One side of an open WebSocket, passed to every event handler. */
export interface WSContext {
  /**
   * Sends a text (`string`) or binary message. Ignored unless the socket is
   * open (`readyState` 1). A client that reads too slowly for the buffered
   * bytes to stay within `maxBufferedBytes` is disconnected with 1008.
   */
  send(data: string | ArrayBuffer | Uint8Array): void;
  /**
   * Starts the close handshake. `code` must be 1000 or 3000–4999 and
   * `reason` at most 123 bytes of UTF-8, else a `TypeError` is thrown.
   * Without either, the close frame carries no code (the client sees
   * 1005); a reason without a code sends 1000.
   */
  close(code?: number, reason?: string): void;
  /**
   * Sends a ping on the h1 transport (the client answers with a pong).
   * On the deno transport it does nothing: Deno sends its own pings
   * according to `idleTimeoutMs`.
   */
  ping(): void;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: WSReadyState;
  /** The negotiated subprotocol, `""` when none. */
  readonly protocol: string;
  /** Bytes of sent messages not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** The Deno `WebSocket` on the deno transport; undefined on h1. */
  readonly raw: WebSocket | undefined;
}

/**
 * The handlers of one connection, returned by `createEvents(ctx)`. All are
 * optional and may be async; an error a handler throws (or a promise it
 * rejects) is reported with `console.error` and never closes the
 * connection or crashes the process.
 */
export interface WSEvents {
  /** The connection is open; `ws.send` may be called from here on. */
  onOpen?(event: WSOpenEvent, ws: WSContext): void | Promise<void>;
  /** A message arrived. */
  onMessage?(event: WSMessageEvent, ws: WSContext): void | Promise<void>;
  /** The connection is closed; called once, last. */
  onClose?(event: WSCloseEvent, ws: WSContext): void | Promise<void>;
  /** The connection failed (protocol error, too big, slow reader, ping timeout). */
  onError?(event: WSErrorEvent, ws: WSContext): void | Promise<void>;
}

/** What `onClosed` receives when a WebSocket closes, for an access log line. */
export interface WebSocketClosedInfo {
  /** Milliseconds from open to close. */
  durationMs: number;
  /** Messages received from the client. */
  messagesIn: number;
  /** Messages sent to the client. */
  messagesOut: number;
  /** Payload bytes received (UTF-8 bytes for text). */
  bytesIn: number;
  /** Payload bytes sent (UTF-8 bytes for text). */
  bytesOut: number;
  /** The close code, as in {@linkcode WSCloseEvent.code}. */
  code: number;
  /** The close reason, `""` when none. */
  reason: string;
  /** Whether the close handshake completed. */
  wasClean: boolean;
}
