/**
 * Building the access-log entries of requests: sizes in and out as far as
 * they are known, and the entries of requests refused before routing.
 *
 * @module
 */

import { problemJson } from "../http/errors.ts";
import type { RejectReason } from "../http/limits.ts";
import { bodyKind } from "../internal/deno.ts";
import { utf8Length } from "../internal/text.ts";
import type { AccessLogEntry } from "../observe/access_log.ts";
import type { RemoteAddr } from "../transport/contract.ts";
import type { Exchange } from "./exchange.ts";

const DIGITS = /^[0-9]{1,15}$/;

/** A `Content-Length` value as a number, or null. */
function lengthOf(value: string | null): number | null {
  return value !== null && DIGITS.test(value) ? Number(value) : null;
}

/** The entry of a request that went through the App. */
export function exchangeEntry(
  ex: Exchange,
  res: Response | null,
  durationMs: number,
  startedAt: number,
): AccessLogEntry {
  const ctx = ex.ctx;
  return {
    time: startedAt,
    requestId: ex.requestId,
    method: ctx.method,
    path: ex.rawPath,
    route: ctx.route,
    status: ex.status,
    durationMs,
    bytesIn: ex.bodyIfUsed?.bytesRead ??
      lengthOf(ex.header("content-length")),
    bytesOut: bytesOut(ex, res),
    client: ex.remote().hostname,
    userAgent: ex.header("user-agent"),
    reason: ex.reason,
  };
}

/** What is known of a request refused before routing. */
export interface RefusedRequest {
  method: string;
  target: string;
  remote: RemoteAddr;
  userAgent: string | null;
  requestId: string;
}

/** The entry of a request refused before routing (by the App or a transport). */
export function refusedEntry(
  reason: RejectReason,
  status: number,
  detail: string,
  r: RefusedRequest,
): AccessLogEntry {
  const q = r.target.indexOf("?");
  return {
    time: Date.now(),
    requestId: r.requestId,
    method: r.method,
    path: q === -1 ? r.target : r.target.slice(0, q),
    route: "",
    status,
    durationMs: 0,
    bytesIn: null,
    bytesOut: utf8Length(problemJson(status, detail)),
    client: r.remote.hostname,
    userAgent: r.userAgent,
    reason,
  };
}

/** Response body bytes, when known. */
function bytesOut(ex: Exchange, res: Response | null): number | null {
  if (res === null) return ex.streamBytes;
  const status = res.status;
  if (status === 204 || status === 304 || ex.headViaGet) return 0;
  const length = lengthOf(res.headers.get("content-length"));
  if (length !== null) return length;
  const sent = ex.sentValue;
  const text = ex.sentJson ? JSON.stringify(sent) : sent;
  if (typeof text === "string") return utf8Length(text);
  return bodyKind(res) === "none" ? 0 : null;
}
