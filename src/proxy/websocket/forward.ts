/**
 * Forwarding of a WebSocket upgrade request: an upstream is picked as for
 * HTTP, the proxy connects to it itself (TCP, or TLS for `https:`) and
 * sends the upgrade request, and reads the answer head within the proxy's
 * `timeoutMs` (504 when it does not come). A valid `101` opens a tunnel —
 * raw bytes on the h1 transport, relayed messages on the deno transport —
 * and the client gets a `101` with the upstream's `Sec-WebSocket-Accept`,
 * subprotocol and extensions; any other answer is relayed as it is, and a
 * broken one gets 502.
 *
 * @module
 */

import type { Context } from "../../context/context.ts";
import {
  fromDenoServe,
  trackSocket,
  upgradeOf,
} from "../../context/internal.ts";
import { HttpError } from "../../http/errors.ts";
import type { UpgradedSocket } from "../../transport/contract.ts";
import type { ProxyConfig } from "../config.ts";
import type { Exchange } from "../exchange.ts";
import { aborted, failureError, unavailableError } from "../failure.ts";
import type { Families } from "../metrics.ts";
import { targetOf } from "../target.ts";
import type { FailureCause, Upstream } from "../upstreams.ts";
import {
  BodyReader,
  bodyStream,
  copyEndToEnd,
  type Relay,
  relayOf,
} from "../wire/body.ts";
import { dial, type UpstreamConn, WireError } from "../wire/conn.ts";
import {
  endToEnd,
  HeadReader,
  type ResponseHead,
} from "../wire/response_head.ts";
import { Bridge } from "./bridge.ts";
import { badAcceptance, clientKey, upgradeRequest } from "./handshake.ts";
import { RawTunnel } from "./raw.ts";
import type { Tunnels } from "./tunnel.ts";

/** How long a transport gets to hand over the client after the 101. */
const HANDOVER_MS = 10_000;
/** Most interim (1xx) answers skipped before the real one. */
const MAX_INTERIM = 8;

/** What the forwarding needs of its proxy; the proxy implements it. */
export interface UpgradeHost {
  readonly config: ProxyConfig;
  readonly tunnels: Tunnels;
  /** Picks an upstream not in `tried`; null when none is available. */
  pick(tried: readonly Upstream[] | null): Upstream | null;
  /** How many upstreams the proxy has (for the 503 detail). */
  readonly upstreamCount: number;
  /** Starts a timed, counted attempt to `u`. */
  begin(
    u: Upstream,
    signal: AbortSignal,
    families: Families | undefined,
  ): Exchange;
  /** Counts the upstream's answer `status` for `ex`. */
  answered(ex: Exchange, status: number): void;
  /** Where `ctx`'s attempts are recorded; undefined when metrics are off. */
  families(ctx: Context): Families | undefined;
}

/** The client's answer, and whether its body is still being relayed. */
export interface Forwarded {
  response: Response;
  relaying: boolean;
}

/**
 * Forwards the WebSocket upgrade request of `ctx`.
 *
 * @throws {HttpError} 400/426 for a bad handshake, 501 outside `serve()`,
 * 502/503/504 by failure cause.
 */
export async function forwardUpgrade(
  host: UpgradeHost,
  ctx: Context,
): Promise<Forwarded> {
  const upgrade = upgradeOf(ctx);
  const bridge = upgrade === undefined;
  if (bridge && !fromDenoServe(ctx)) {
    throw new HttpError(501, "WebSocket forwarding needs serve()");
  }
  const key = clientKey(ctx);
  const config = host.config;
  const target = targetOf(ctx, config.rewritePath);
  const families = host.families(ctx);
  const signal = ctx.signal;
  let u = host.pick(null);
  if (u === null) throw unavailableError(host.upstreamCount);
  let tried: Upstream[] | null = null;
  for (let attempt = 0;; attempt++) {
    if (signal.aborted) throw aborted(signal);
    const ex = host.begin(u, signal, families);
    let c: UpstreamConn | null = null;
    let head: ResponseHead;
    try {
      c = await dial(u, ex.signal, config.caCerts);
      ex.conn = c; // an abort (timeout, client gone) closes it
      if (ex.aborted) c.close();
      await c.write(upgradeRequest(ctx, u, config, target, bridge));
      const reader = new HeadReader();
      let interim = 0;
      do {
        head = await reader.read(c);
      } while (
        head.status < 200 && head.status !== 101 && ++interim < MAX_INTERIM
      );
      if (head.status < 200 && head.status !== 101) {
        throw new WireError("protocol", "Too many interim responses");
      }
    } catch (error) {
      c?.close();
      if (!ex.timedOut && signal.aborted) {
        ex.end(null);
        throw aborted(signal);
      }
      const cause: FailureCause = ex.timedOut
        ? "timeout"
        : error instanceof WireError
        ? error.failure
        : "protocol";
      ex.end(cause);
      if (cause === "connect" && attempt < config.retries) {
        (tried ??= []).push(u);
        const next = host.pick(tried);
        if (next !== null) {
          u = next;
          continue;
        }
      }
      throw failureError(cause, config.timeoutMs);
    } finally {
      ex.conn = null;
    }
    if (head.status !== 101) {
      host.answered(ex, head.status);
      return relayAnswer(ex, c, head);
    }
    const wrong = badAcceptance(head, key, ctx, bridge);
    if (wrong !== null) {
      c.close();
      ex.end("protocol");
      throw new HttpError(
        502,
        `The upstream server sent an invalid WebSocket handshake answer: ${wrong}`,
      );
    }
    host.answered(ex, 101);
    ex.end(null);
    const response = bridge
      ? openBridge(host, ctx, c, u, head, families)
      : openTunnel(host, ctx, c, u, head, families, upgrade);
    return { response, relaying: false };
  }
}

/** The h1 transport: a byte tunnel once the engine hands the client over. */
function openTunnel(
  host: UpgradeHost,
  ctx: Context,
  c: UpstreamConn,
  u: Upstream,
  head: ResponseHead,
  families: Families | undefined,
  upgrade: (onSocket: (socket: UpgradedSocket) => void) => void,
): Response {
  const tunnel = new RawTunnel(host.tunnels, c, u, families);
  tunnel.expectOpen(HANDOVER_MS);
  upgrade((socket) => {
    tunnel.opened();
    tunnel.tracked(trackSocket(ctx, tunnel));
    tunnel.start(socket);
  });
  const headers = endToEnd(head.fields);
  headers.push(["upgrade", "websocket"], ["connection", "Upgrade"]);
  return new Response(null, { status: 101, headers });
}

/** The deno transport: Deno's WebSocket to the client, bridged to `c`. */
function openBridge(
  host: UpgradeHost,
  ctx: Context,
  c: UpstreamConn,
  u: Upstream,
  head: ResponseHead,
  families: Families | undefined,
): Response {
  const ws = host.config.websocket;
  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(ctx.req, {
      // Deno pings a client silent for half of this, and closes it when no
      // pong follows within the other half.
      idleTimeout: ws.idleTimeoutMs === 0
        ? 0
        : Math.max(1, Math.ceil((2 * ws.idleTimeoutMs) / 1000)),
    });
  } catch (error) {
    c.close();
    throw new HttpError(400, "The WebSocket handshake could not be completed", {
      cause: error,
    });
  }
  const tunnel = new Bridge(host.tunnels, c, u, families, upgraded.socket, ws);
  tunnel.expectOpen(HANDOVER_MS);
  tunnel.tracked(trackSocket(ctx, tunnel));
  const headers = upgraded.response.headers;
  for (const [name, value] of endToEnd(head.fields)) {
    // Deno computed the same accept value from the same key.
    if (name !== "sec-websocket-accept") headers.append(name, value);
  }
  return upgraded.response;
}

/** Relays an upstream's refusal (any answer but 101), body streamed. */
function relayAnswer(
  ex: Exchange,
  c: UpstreamConn,
  head: ResponseHead,
): Forwarded {
  let reader: BodyReader;
  let relay: Relay;
  const answer = (body: BodyInit | null): Response => {
    const res = new Response(body, { status: head.status });
    copyEndToEnd(head.fields, relay.named, res.headers);
    return res;
  };
  try {
    relay = relayOf(head, "GET");
    if (relay.framing.kind === "none") {
      c.close();
      ex.end(null);
      return { response: answer(null), relaying: false };
    }
    reader = new BodyReader(c, relay.framing);
  } catch (error) {
    c.close();
    ex.end("protocol");
    if (!(error instanceof WireError)) throw error;
    throw failureError("protocol", 0);
  }
  ex.conn = c; // cut at timeoutMs
  const body = bodyStream(reader, c, () => c.close());
  ex.relaying = true;
  return { response: answer(ex.relay(body)), relaying: true };
}
