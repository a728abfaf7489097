/**
 * `upgradeWebSocket()`: one WebSocket API over both transports.
 *
 * No extension is negotiated; in particular not permessage-deflate
 * (RFC 7692), a decision made on reasoning rather than measurement: with
 * compression, the limits would bound compressed bytes while memory and
 * CPU scale with inflated ones (deflate expands up to about 1000:1, so a
 * 1 KiB frame can become a 1 MiB message, and `maxMessageBytes` would have
 * to be enforced inside a streaming inflater); every message would cost
 * inflate/deflate CPU on the server's one JavaScript thread, plus a
 * compression context per socket (tens of KiB with context takeover,
 * against a few KiB per idle socket now); and the messages WebSockets
 * mostly carry are small, where deflate gains little. A client offering
 * the extension gets no `Sec-WebSocket-Extensions` answer, so it must not
 * set RSV1; a frame that does is closed with 1002.
 *
 * @module
 */

import type { Context, Handler } from "../context/context.ts";
import { fromDenoServe, upgradeOf } from "../context/internal.ts";
import { problem } from "../http/errors.ts";
import { denoUpgrade } from "./deno.ts";
import { h1Upgrade } from "./h1.ts";
import { checkHandshake } from "./handshake.ts";
import { resolveOptions, type UpgradeWebSocketOptions } from "./options.ts";
import type { WSEvents } from "./types.ts";

/**
 * Returns a handler for a GET route that accepts WebSocket connections, in
 * the shape of Hono's `upgradeWebSocket`: `createEvents(ctx)` runs for each
 * handshake (throw an `HttpError` there to refuse it, e.g. without a
 * session) and returns the connection's event handlers.
 *
 * The handshake is checked before `createEvents` runs: a request without
 * `Upgrade: websocket` gets 426 (with `Upgrade: websocket`), a method other
 * than GET 405, a missing `Connection: upgrade` or a bad
 * `Sec-WebSocket-Key` 400, a version other than 13 426 (with
 * `Sec-WebSocket-Version: 13`), and a cross-site `Origin` 403 (see
 * `allowedOrigins`). Under `app.request()` (no server) a valid handshake
 * gets 501.
 *
 * On the h1 transport Palisade speaks RFC 6455 itself, with every limit
 * checked while parsing; on the deno transport it uses
 * `Deno.upgradeWebSocket` and applies the limits to what Deno delivers
 * (see {@linkcode UpgradeWebSocketOptions}). Every open socket is closed
 * with 1001 at graceful shutdown, which waits for the close handshakes
 * within its grace period. No extension (permessage-deflate) is
 * negotiated: compressed frames let a small input inflate into a large
 * message and cost CPU per byte on both sides, for little gain on the
 * small messages WebSockets mostly carry.
 *
 * @param createEvents Builds the event handlers for one connection; may be async.
 * @param options Limits, subprotocols, allowed origins and the close hook.
 * @throws {TypeError} naming the option when an option is invalid.
 *
 * @example Echo
 * ```ts
 * import { App } from "@palisade/server";
 * import { upgradeWebSocket } from "./upgrade.ts";
 * const app = new App();
 * app.get("/echo", upgradeWebSocket(() => ({
 *   onMessage(event, ws) {
 *     ws.send(event.data);
 *   },
 * }), { maxMessageBytes: 64 * 1024 }));
 * ```
 */
export function upgradeWebSocket(
  createEvents: (ctx: Context) => WSEvents | Promise<WSEvents>,
  options?: UpgradeWebSocketOptions,
): Handler {
  if (typeof createEvents !== "function") {
    throw new TypeError(
      `upgradeWebSocket needs a createEvents function, got ${
        String(createEvents)
      }`,
    );
  }
  const resolved = resolveOptions(options);
  return async (ctx) => {
    const handshake = checkHandshake(ctx, resolved);
    if (handshake instanceof Response) return handshake;
    const upgrade = upgradeOf(ctx);
    if (upgrade === undefined && !fromDenoServe(ctx)) {
      return problem(501, "WebSocket upgrade needs serve()");
    }
    const events = await createEvents(ctx);
    if (events === null || typeof events !== "object") {
      throw new TypeError(
        `upgradeWebSocket's createEvents must return an object of event handlers, got ${
          events === null ? "null" : typeof events
        }`,
      );
    }
    return upgrade !== undefined
      ? h1Upgrade(ctx, upgrade, events, resolved, handshake)
      : denoUpgrade(ctx, events, resolved, handshake);
  };
}
