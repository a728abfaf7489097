/**
 * What Palisade's own middleware and modules may reach behind a Context
 * (the App's metrics, validated values, the transport's handover, the
 * App's socket registry, its rejection counter). Internal: never exported
 * from an entry point, so none of it is part of the user's toolkit.
 *
 * @module
 */

import type { RejectReason } from "../http/limits.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { UpgradedSocket } from "../transport/contract.ts";
import {
  type Context,
  coreOf,
  storeValid,
  type ValidTarget,
} from "./context.ts";
import type { SocketClosed, TrackedSocket } from "./core.ts";

export type { SocketClosed, TrackedSocket } from "./core.ts";

/** Stores a validated value for `ctx.valid(target)`; for `validate()`. */
export function setValid(
  ctx: Context,
  target: ValidTarget,
  value: unknown,
): void {
  storeValid(ctx, target, value);
}

/**
 * The request's header fields as `Headers`, without building a `Request`
 * on transports that did not make one (the h1 engine); for middleware that
 * needs every field (the reverse proxy).
 */
export function requestHeaders(ctx: Context): Headers {
  const core = coreOf(ctx);
  return core.req !== null ? core.req.headers : core.src!.headers;
}

/**
 * The request's header fields as `[lowerName, value, ...]` when the
 * transport kept them so (the h1 engine), else null (use
 * {@linkcode requestHeaders}); for the reverse proxy's per-request copy.
 */
export function requestFieldList(ctx: Context): readonly string[] | null {
  const core = coreOf(ctx);
  return core.req === null ? core.src!.fieldList ?? null : null;
}

/** The request's scheme, without building `ctx.url`. */
export function requestScheme(ctx: Context): "http" | "https" {
  const core = coreOf(ctx);
  if (core.src !== null) return core.src.scheme;
  return core.req!.url.startsWith("https:") ? "https" : "http";
}

/** The raw query string of the request, without `?` (`""` for none). */
export function rawQuery(ctx: Context): string {
  return coreOf(ctx).query;
}

/** The metrics registry of the App serving `ctx`, if it records metrics. */
export function metricsOf(ctx: Context): Metrics | undefined {
  return coreOf(ctx).metrics;
}

/**
 * The transport's connection handover for `ctx` (h1 engine), or undefined
 * when the request came from `Deno.serve`, `app.request()` or another
 * transport that cannot hand its connection over.
 */
export function upgradeOf(
  ctx: Context,
): ((onSocket: (socket: UpgradedSocket) => void) => void) | undefined {
  const src = coreOf(ctx).src;
  return src?.upgrade === undefined ? undefined : src.upgrade.bind(src);
}

/**
 * Registers a long-lived socket taken over from `ctx` with its App, for
 * graceful shutdown; returns the function to call once it closed.
 */
export function trackSocket(
  ctx: Context,
  socket: TrackedSocket,
): (closed: SocketClosed) => void {
  return coreOf(ctx).track(socket);
}

/** Whether `Deno.serve` delivered the request of `ctx` (so `Deno.upgradeWebSocket` works). */
export function fromDenoServe(ctx: Context): boolean {
  return coreOf(ctx).fromDenoServe;
}

/**
 * Counts a refusal made by Palisade's own middleware (a WebSocket handshake
 * refused) and reports it to `onReject`, like the App's own rejections.
 */
export function reportRejection(
  ctx: Context,
  reason: RejectReason,
  status: number,
  detail: string,
): void {
  coreOf(ctx).reject(reason, status, detail);
}
