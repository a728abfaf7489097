/**
 * What the App derives from a request before it has a Context: its request
 * id, and its client address behind trusted proxies.
 *
 * @module
 */

import { isValidRequestId, newRequestId } from "../http/request_id.ts";
import {
  resolveClientAddr,
  type TrustProxyOptions,
} from "../net/client_addr.ts";
import type {
  RemoteAddr,
  RequestSource,
  ServeInfo,
} from "../transport/contract.ts";

const UNKNOWN_PEER: RemoteAddr = { hostname: "", port: 0 };

/** The connection info of requests sent in process with `app.request()`. */
export const LOCAL_INFO: ServeInfo = Object.freeze({
  remoteAddr: Object.freeze({ hostname: "127.0.0.1", port: 0 }),
});

/** What the App knows of a request refused before routing. */
export interface EarlyRequest {
  req: Request | null;
  src: RequestSource | null;
  info: ServeInfo | undefined;
  method: string;
  path: string;
}

/** A header of `req` or `src` (lower-case `name`). */
export function headerOf(
  req: Request | null,
  src: RequestSource | null,
  name: string,
): string | null {
  return req !== null ? req.headers.get(name) : src!.header(name);
}

/** The valid incoming id in `idHeader`, or a new one. */
export function requestIdOf(
  idHeader: string,
  req: Request | null,
  src: RequestSource | null,
): string {
  const incoming = headerOf(req, src, idHeader);
  return incoming !== null && isValidRequestId(incoming)
    ? incoming
    : newRequestId();
}

/** The socket peer of `info`, or an unknown address. */
export function peerOf(info: ServeInfo | undefined): RemoteAddr {
  const peer = info?.remoteAddr;
  return peer && "hostname" in peer
    ? { hostname: peer.hostname, port: peer.port }
    : UNKNOWN_PEER;
}

/** The client address: `peer`, or the forwarded client when `peer` is trusted. */
export function clientOf(
  trust: TrustProxyOptions | undefined,
  peer: RemoteAddr,
  header: (name: string) => string | null,
): RemoteAddr {
  return trust === undefined ? peer : resolveClientAddr(peer, header, trust);
}
