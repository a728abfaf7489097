/**
 * Requests refused before they reach routing: the App's own early answers
 * (bad path, URL and header limits, overload) and the refusals a transport
 * made before any request existed. Each gets a request id and an
 * access-log line; the caller has counted the rejection.
 *
 * @module
 */

import { problem } from "../http/errors.ts";
import type { RejectReason } from "../http/limits.ts";
import { newRequestId } from "../http/request_id.ts";
import type { RejectedRequest, RemoteAddr } from "../transport/contract.ts";
import { refusedEntry } from "./access_entry.ts";
import type { Observer } from "./observer.ts";
import type { AppSettings } from "./options.ts";
import {
  clientOf,
  type EarlyRequest,
  headerOf,
  peerOf,
  requestIdOf,
} from "./request_info.ts";

/** What a refusal needs of its App. */
export interface RefusalContext {
  readonly settings: AppSettings;
  draining(): boolean;
  observer(): Observer;
}

const UNKNOWN_PEER: RemoteAddr = { hostname: "", port: 0 };
/** Rejections of connections, not requests: counted, but no access-log line. */
const CONNECTION_REASONS: ReadonlySet<RejectReason> = new Set([
  "connection_limit",
  "tls_handshake",
]);

/** The problem+json answer of a request refused before routing, logged. */
export function earlyAnswer(
  app: RefusalContext,
  reason: RejectReason,
  status: number,
  detail: string,
  request: EarlyRequest,
  headers?: HeadersInit,
): Response {
  const res = problem(status, detail, headers);
  const { idHeader, trust } = app.settings;
  let requestId = "";
  if (idHeader !== false) {
    requestId = requestIdOf(idHeader, request.req, request.src);
    res.headers.set(idHeader, requestId);
  }
  if (app.draining()) res.headers.set("connection", "close");
  const observer = app.observer();
  if (observer.logging) {
    const header = (n: string): string | null =>
      headerOf(request.req, request.src, n);
    observer.log(
      refusedEntry(reason, status, detail, {
        method: request.method,
        target: request.path,
        remote: clientOf(trust, peerOf(request.info), header),
        userAgent: header("user-agent"),
        requestId,
      }),
      null,
    );
  }
  return res;
}

/**
 * Logs a refusal made by a transport before any request existed, with a
 * new request id (the head may not have been read), which is returned for
 * the transport to echo; undefined for connection refusals or ids off.
 */
export function refusedByTransport(
  app: RefusalContext,
  reason: RejectReason,
  status: number,
  detail: string,
  request: RejectedRequest | undefined,
): string | undefined {
  if (CONNECTION_REASONS.has(reason)) return undefined;
  const requestId = app.settings.idHeader === false ? "" : newRequestId();
  const observer = app.observer();
  if (observer.logging) {
    observer.log(
      refusedEntry(reason, status, detail, {
        method: request?.method ?? "",
        target: request?.target ?? "",
        remote: request?.remote ?? UNKNOWN_PEER,
        userAgent: request?.userAgent ?? null,
        requestId,
      }),
      null,
    );
  }
  return requestId === "" ? undefined : requestId;
}
