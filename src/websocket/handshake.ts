/**
 * Checks a WebSocket opening handshake request (RFC 6455 section 4.2.1)
 * the same way on both transports, answering what is wrong with the exact
 * status: 426 for a plain request or an unsupported version, 405 for a
 * method other than GET, 400 for a bad `Connection` or key, 403 for a
 * refused `Origin`. It also picks the subprotocol.
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import { reportRejection } from "../context/internal.ts";
import { problem } from "../http/errors.ts";
import { isValidKey } from "../transport/h1/websocket/handshake.ts";
import type { ResolvedOptions } from "./options.ts";

/** An acceptable handshake. */
export interface Handshake {
  /** The client's `Sec-WebSocket-Key`. */
  key: string;
  /** The chosen subprotocol, or null for none. */
  protocol: string | null;
}

/** Whether the comma-separated `value` lists `token` (case-insensitive). */
function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  for (const part of value.split(",")) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

/**
 * Validates the handshake of `ctx`: the accepted key and subprotocol, or
 * the problem+json response refusing it.
 *
 * @example Usage
 * ```ts ignore
 * const hs = checkHandshake(ctx, resolveOptions());
 * if (hs instanceof Response) return hs;
 * ```
 */
export function checkHandshake(
  ctx: Context,
  options: ResolvedOptions,
): Handshake | Response {
  if (!hasToken(ctx.header("upgrade"), "websocket")) {
    return refuse(
      ctx,
      426,
      "This endpoint speaks WebSocket only: send a GET with Upgrade: websocket",
      { upgrade: "websocket" },
    );
  }
  if (ctx.method !== "GET") {
    return refuse(
      ctx,
      405,
      `A WebSocket handshake must use GET, not ${ctx.method}`,
      { allow: "GET" },
    );
  }
  if (!hasToken(ctx.header("connection"), "upgrade")) {
    return refuse(
      ctx,
      400,
      "A WebSocket handshake needs the upgrade token in Connection",
    );
  }
  const version = ctx.header("sec-websocket-version");
  if (version?.trim() !== "13") {
    return refuse(
      ctx,
      426,
      "Unsupported Sec-WebSocket-Version: this server speaks version 13",
      { upgrade: "websocket", "sec-websocket-version": "13" },
    );
  }
  const key = ctx.header("sec-websocket-key")?.trim() ?? "";
  if (!isValidKey(key)) {
    return refuse(
      ctx,
      400,
      "Sec-WebSocket-Key must be the base64 encoding of 16 bytes",
    );
  }
  const origin = ctx.header("origin");
  if (origin !== null && !originAllowed(origin, ctx.header("host"), options)) {
    return refuse(
      ctx,
      403,
      "Cross-origin WebSocket handshake refused: the Origin is not allowed",
    );
  }
  return { key, protocol: pickProtocol(ctx, options.protocols) };
}

/** Counts the refused handshake (reason `websocket_handshake`) and answers it. */
function refuse(
  ctx: Context,
  status: number,
  detail: string,
  headers?: HeadersInit,
): Response {
  reportRejection(ctx, "websocket_handshake", status, detail);
  return problem(status, detail, headers);
}

/** Same-origin with `host` (host and port), or listed, or every origin allowed. */
function originAllowed(
  origin: string,
  host: string | null,
  options: ResolvedOptions,
): boolean {
  const listed = options.origins;
  if (listed === null) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  if (listed.has(url.origin.toLowerCase())) return true;
  if (host === null) return false;
  try {
    // Parsed with the Origin's scheme so default ports compare equal.
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}

/** The first of `supported` the client offered, or null. */
function pickProtocol(
  ctx: Context,
  supported: readonly string[],
): string | null {
  if (supported.length === 0) return null;
  const offered = ctx.header("sec-websocket-protocol");
  if (offered === null) return null;
  const tokens = offered.split(",").map((t) => t.trim());
  for (const p of supported) if (tokens.includes(p)) return p;
  return null;
}
