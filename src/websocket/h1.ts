/**
 * `upgradeWebSocket()` on the h1 transport: Palisade's own RFC 6455
 * implementation (`src/transport/h1/websocket/`) over the connection the
 * h1 engine hands over after the 101 response.
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import type { TrackedSocket } from "../context/internal.ts";
import type { UpgradedSocket } from "../transport/contract.ts";
import { CloseCode } from "../transport/h1/websocket/close.ts";
import { acceptKey } from "../transport/h1/websocket/handshake.ts";
import {
  type SessionEvents,
  WebSocketSession,
} from "../transport/h1/websocket/session.ts";
import { bytesOf, checkClose } from "./arguments.ts";
import { dispatch } from "./dispatch.ts";
import type { Handshake } from "./handshake.ts";
import { SocketWatch } from "./observe.ts";
import type { ResolvedOptions } from "./options.ts";
import type { WSContext, WSEvents, WSReadyState } from "./types.ts";

const OPEN_EVENT = { type: "open" } as const;
const GOING_AWAY = "Server shutting down";

/** The `WSContext` of an h1 WebSocket. */
class H1WebSocket implements WSContext {
  readonly protocol: string;
  #session: WebSocketSession | null = null;
  #watch: SocketWatch | null = null;

  constructor(protocol: string) {
    this.protocol = protocol;
  }

  attach(session: WebSocketSession, watch: SocketWatch): void {
    this.#session = session;
    this.#watch = watch;
  }

  send(data: string | ArrayBuffer | Uint8Array): void {
    const s = this.#session;
    if (s === null || s.state !== "open") return;
    if (typeof data === "string") s.sendText(data);
    else s.sendBinary(bytesOf(data));
    this.#watch!.countOut();
  }

  close(code?: number, reason?: string): void {
    const c = checkClose(code, reason);
    this.#session?.close(c, reason ?? "");
  }

  ping(): void {
    this.#session?.ping();
  }

  get readyState(): WSReadyState {
    const state = this.#session?.state;
    return state === undefined
      ? 0
      : state === "open"
      ? 1
      : state === "closing"
      ? 2
      : 3;
  }

  get bufferedAmount(): number {
    return this.#session?.bufferedAmount ?? 0;
  }

  get raw(): undefined {
    return undefined;
  }
}

/**
 * Connects a session to the application's events and to the App (metrics,
 * shutdown). A class rather than closures, so that nothing that lives as
 * long as the socket keeps the request's Context reachable.
 */
class H1Link implements SessionEvents, TrackedSocket {
  readonly ws: H1WebSocket;
  readonly session: WebSocketSession;
  #events: WSEvents;
  #watch: SocketWatch;

  constructor(
    ctx: Context,
    socket: UpgradedSocket,
    events: WSEvents,
    options: ResolvedOptions,
    protocol: string,
  ) {
    this.ws = new H1WebSocket(protocol);
    this.#events = events;
    this.session = new WebSocketSession(socket, this, options);
    this.#watch = new SocketWatch(ctx, this, options);
    this.ws.attach(this.session, this.#watch);
  }

  message(data: string | ArrayBuffer): Promise<void> | undefined {
    this.#watch.countIn();
    return dispatch(
      this.#events,
      "onMessage",
      { type: "message", data },
      this.ws,
    );
  }

  error(message: string): void {
    dispatch(this.#events, "onError", { type: "error", message }, this.ws);
  }

  close(code: number, reason: string, wasClean: boolean): void {
    this.#watch.closed(code, reason, wasClean, this.session.stats);
    dispatch(
      this.#events,
      "onClose",
      { type: "close", code, reason, wasClean },
      this.ws,
    );
  }

  goingAway(): void {
    this.session.close(CloseCode.goingAway, GOING_AWAY);
  }

  terminate(): void {
    this.session.terminate();
  }
}

/**
 * Asks the h1 engine for the connection of `ctx` and returns the 101
 * response; the session starts once the engine has written it.
 *
 * @example Usage
 * ```ts ignore
 * return h1Upgrade(ctx, upgrade, events, options, handshake);
 * ```
 */
export function h1Upgrade(
  ctx: Context,
  upgrade: (onSocket: (socket: UpgradedSocket) => void) => void,
  events: WSEvents,
  options: ResolvedOptions,
  handshake: Handshake,
): Response {
  const protocol = handshake.protocol ?? "";
  upgrade((socket) => {
    const link = new H1Link(ctx, socket, events, options, protocol);
    dispatch(events, "onOpen", OPEN_EVENT, link.ws);
    link.session.start();
  });
  const headers: Record<string, string> = {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-accept": acceptKey(handshake.key),
  };
  if (handshake.protocol !== null) {
    headers["sec-websocket-protocol"] = handshake.protocol;
  }
  return new Response(null, { status: 101, headers });
}
