/**
 * WebSockets on both transports: {@linkcode upgradeWebSocket} and its
 * types. Re-exported by the package root.
 *
 * @module
 */

export { upgradeWebSocket } from "./upgrade.ts";
export type { UpgradeWebSocketOptions } from "./options.ts";
export type {
  WebSocketClosedInfo,
  WSCloseEvent,
  WSContext,
  WSErrorEvent,
  WSEvents,
  WSMessageEvent,
  WSOpenEvent,
  WSReadyState,
} from "./types.ts";
