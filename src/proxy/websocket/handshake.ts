/**
 * The two halves of a proxied WebSocket opening handshake: checking the
 * client's request (RFC 6455 §4.2.1, the same statuses as
 * `upgradeWebSocket()` except that `Origin` is the upstream's business),
 * writing the upgrade request upstream with the proxy's header rules, and
 * checking the upstream's `101` (§4.1: `Upgrade`, `Connection`, the
 * `Sec-WebSocket-Accept` of the key sent, a subprotocol the client offered).
 *
 * @module
 */

import type { Context } from "../../context/context.ts";
import { reportRejection } from "../../context/internal.ts";
import { HttpError } from "../../http/errors.ts";
import {
  acceptKey,
  isValidKey,
} from "../../transport/h1/websocket/handshake.ts";
import type { ProxyConfig } from "../config.ts";
import { requestHeaders } from "../request_headers.ts";
import { type Target, upstreamUrl } from "../target.ts";
import type { Upstream } from "../upstreams.ts";
import { encodeRequestHead } from "../wire/request_head.ts";
import {
  fieldValue,
  hasToken,
  type ResponseHead,
} from "../wire/response_head.ts";

/**
 * The client's `Sec-WebSocket-Key` when its handshake is acceptable.
 *
 * @throws {HttpError} 400 for a method other than GET, a missing
 * `Connection: upgrade` or a bad key; 426 for a version other than 13.
 */
export function clientKey(ctx: Context): string {
  if (ctx.method !== "GET") {
    refuse(ctx, 400, `A WebSocket handshake must use GET, not ${ctx.method}`);
  }
  if (!hasToken(ctx.header("connection"), "upgrade")) {
    refuse(
      ctx,
      400,
      "A WebSocket handshake needs the upgrade token in Connection",
    );
  }
  if (ctx.header("sec-websocket-version")?.trim() !== "13") {
    refuse(
      ctx,
      426,
      "Unsupported Sec-WebSocket-Version: this proxy forwards version 13",
      { upgrade: "websocket", "sec-websocket-version": "13" },
    );
  }
  const key = ctx.header("sec-websocket-key")?.trim() ?? "";
  if (!isValidKey(key)) {
    refuse(
      ctx,
      400,
      "Sec-WebSocket-Key must be the base64 encoding of 16 bytes",
    );
  }
  return key;
}

function refuse(
  ctx: Context,
  status: number,
  detail: string,
  headers?: HeadersInit,
): never {
  reportRejection(ctx, "websocket_handshake", status, detail);
  throw new HttpError(status, detail, { headers });
}

/**
 * The upgrade request for `u`: the client's end-to-end fields under the
 * proxy's rules (hop-by-hop ones removed, forwarding fields, `Host` by
 * `preserveHost`), then `Connection: upgrade` and `Upgrade: websocket`.
 * The client's `Sec-WebSocket-*` fields pass, except that a bridge (the
 * deno transport, where the proxy speaks the protocol on both sides)
 * offers no extension.
 */
export function upgradeRequest(
  ctx: Context,
  u: Upstream,
  config: ProxyConfig,
  target: Target,
  bridge: boolean,
): Uint8Array {
  const fields = requestHeaders(ctx, config.forwarded);
  const host = config.preserveHost ? ctx.header("host") : null;
  const out: [string, string][] = [["host", host ?? u.host]];
  // requestHeaders asks for identity encoding first; an upgrade has no body.
  for (let i = 1; i < fields.length; i++) {
    const f = fields[i];
    if (bridge && f[0] === "sec-websocket-extensions") continue;
    out.push(f);
  }
  out.push(["connection", "upgrade"], ["upgrade", "websocket"]);
  return encodeRequestHead("GET", upstreamUrl("", u.base, target), out);
}

/**
 * What is wrong with the upstream's `101` answer to a request with `key`
 * from `ctx`, or null when it is a valid WebSocket acceptance.
 */
export function badAcceptance(
  head: ResponseHead,
  key: string,
  ctx: Context,
  bridge: boolean,
): string | null {
  const f = head.fields;
  if (!hasToken(fieldValue(f, "upgrade"), "websocket")) {
    return "no Upgrade: websocket";
  }
  if (!hasToken(fieldValue(f, "connection"), "upgrade")) {
    return "no Connection: upgrade";
  }
  if (fieldValue(f, "sec-websocket-accept")?.trim() !== acceptKey(key)) {
    return "wrong Sec-WebSocket-Accept";
  }
  const protocol = fieldValue(f, "sec-websocket-protocol");
  if (
    protocol !== null &&
    !(ctx.header("sec-websocket-protocol") ?? "").split(",").some((p) =>
      p.trim() === protocol.trim()
    )
  ) {
    return "a subprotocol the client did not offer";
  }
  if (bridge && fieldValue(f, "sec-websocket-extensions") !== null) {
    return "an extension that was not offered";
  }
  return null;
}
