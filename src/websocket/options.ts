/**
 * Options of `upgradeWebSocket()` and their validation, done once per
 * route at factory time.
 *
 * @module
 */

import { Heartbeat } from "../transport/h1/websocket/heartbeat.ts";
import type { WebSocketClosedInfo } from "./types.ts";
import { func } from "../internal/validate.ts";

/** Options of `upgradeWebSocket()`. */
export interface UpgradeWebSocketOptions {
  /**
   * Largest message accepted from the client, in bytes (all fragments of a
   * message together; UTF-8 bytes for text). A bigger one closes the
   * connection with 1009. On h1 the limit is checked against each frame
   * header, before its payload is read. On the deno transport Deno
   * assembles a whole message before Palisade sees it (up to Deno's own cap
   * of 64 MiB, fastwebsockets' default, which Deno 2.9 does not change), so
   * the bound is checked after the message was buffered.
   *
   * @default {1048576} (1 MiB)
   */
  maxMessageBytes?: number;
  /**
   * Largest single frame payload accepted, in bytes; a frame header
   * declaring more closes the connection with 1009 before any of its
   * payload is read. h1 only: Deno does not expose frames.
   *
   * @default {maxMessageBytes}
   */
  maxFrameBytes?: number;
  /**
   * After this long without a byte from the client, in ms, the server
   * pings it; if nothing (no pong, no message) arrives within as long
   * again, the connection is dropped (`onClose` with 1006 on h1; the deno
   * transport sends close 1001 and reports what Deno reports). Pings keep
   * proxies and NAT mappings that time out idle connections (nginx: 60 s)
   * from cutting a quiet but healthy socket. 0 = no pings and no timeout.
   * On the deno transport this sets Deno's `idleTimeout` to twice this
   * value, in seconds (Deno pings after half of it).
   *
   * @default {30000}
   */
  idleTimeoutMs?: number;
  /**
   * Subprotocols the server speaks, in order of preference. The first of
   * them that the client offered in `Sec-WebSocket-Protocol` is chosen and
   * echoed; when the client offered none of them (or none at all), no
   * `Sec-WebSocket-Protocol` is sent and `ws.protocol` is `""` (a browser
   * that asked for a subprotocol then fails the connection itself).
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Origins (`"https://app.example"`) allowed to open WebSockets besides
   * the server's own, against cross-site WebSocket hijacking: browsers
   * send cookies with a cross-site WebSocket handshake, so a page on
   * another site could otherwise talk to this endpoint as the user. A
   * request whose `Origin` is neither same-origin nor listed gets 403.
   * Same-origin means the `Origin`'s host and port equal the request's
   * `Host` (the scheme is not compared, since TLS is often terminated by a
   * proxy; behind a proxy that rewrites `Host`, list the public origin).
   * Requests without `Origin` (non-browser clients) are allowed: they
   * carry no ambient browser credentials. `"*"` allows every origin.
   *
   * @default {[]} (same-origin only)
   */
  allowedOrigins?: readonly string[] | "*";
  /**
   * Most bytes waiting to be written to a client before it is dropped as a
   * slow reader (close 1008), so a client that does not read cannot make
   * the server buffer without bound. Checked when a message has to queue
   * behind one still being written: one message larger than this, sent to
   * a client that keeps up, is fine, but a burst of sends in one go counts
   * whole (pace big bursts with `ws.bufferedAmount`). On the deno
   * transport it is checked against `WebSocket.bufferedAmount` after each
   * send.
   *
   * @default {1048576} (1 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * Called once for every WebSocket when it closes, with its duration,
   * counters and close code: the hook for an access-log line. Errors it
   * throws are reported with `console.error`.
   *
   * @default {undefined}
   */
  onClosed?: (info: WebSocketClosedInfo) => void;
}

/** Options after validation; internal. */
export interface ResolvedOptions {
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly maxBufferedBytes: number;
  readonly idleTimeoutMs: number;
  readonly protocols: readonly string[];
  /** Lower-case serialized origins; null = every origin. */
  readonly origins: ReadonlySet<string> | null;
  readonly onClosed: ((info: WebSocketClosedInfo) => void) | undefined;
  /** The shared ping timer of the route's h1 sessions; null without idle timeout. */
  readonly heartbeat: Heartbeat | null;
}

const MIB = 1024 * 1024;
/** Longest timer delay `setInterval` accepts, in ms. */
const MAX_DELAY_MS = 2_147_483_647;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function positiveInt(name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
    throw new TypeError(
      `Option ${name} must be a positive integer, got ${String(v)}`,
    );
  }
  return v;
}

/**
 * Validates `options` and fills in the defaults.
 *
 * @throws {TypeError} naming the option and value when one is invalid.
 *
 * @example Usage
 * ```ts
 * import { resolveOptions } from "./options.ts";
 * resolveOptions({ maxMessageBytes: 4096 }).maxFrameBytes; // 4096
 * ```
 */
export function resolveOptions(
  options: UpgradeWebSocketOptions = {},
): ResolvedOptions {
  const maxMessageBytes = positiveInt(
    "maxMessageBytes",
    options.maxMessageBytes,
    MIB,
  );
  const maxFrameBytes = positiveInt(
    "maxFrameBytes",
    options.maxFrameBytes,
    maxMessageBytes,
  );
  const maxBufferedBytes = positiveInt(
    "maxBufferedBytes",
    options.maxBufferedBytes,
    MIB,
  );
  const idle = options.idleTimeoutMs ?? 30_000;
  if (
    typeof idle !== "number" || !Number.isSafeInteger(idle) || idle < 0 ||
    idle > MAX_DELAY_MS
  ) {
    throw new TypeError(
      `Option idleTimeoutMs must be an integer from 0 to ${MAX_DELAY_MS}, got ${
        String(idle)
      }`,
    );
  }
  const protocols = options.protocols ?? [];
  if (!Array.isArray(protocols)) {
    throw new TypeError(
      `Option protocols must be an array of tokens, got ${String(protocols)}`,
    );
  }
  for (const p of protocols) {
    if (typeof p !== "string" || !TOKEN.test(p)) {
      throw new TypeError(
        `Option protocols must hold subprotocol tokens, got ${String(p)}`,
      );
    }
  }
  const onClosed = options.onClosed;
  if (onClosed !== undefined) func("onClosed", onClosed);
  return {
    maxMessageBytes,
    maxFrameBytes,
    maxBufferedBytes,
    idleTimeoutMs: idle,
    protocols: [...protocols],
    origins: resolveOrigins(options.allowedOrigins ?? []),
    onClosed,
    heartbeat: idle === 0 ? null : new Heartbeat(idle),
  };
}

function resolveOrigins(
  allowed: readonly string[] | "*",
): ReadonlySet<string> | null {
  if (allowed === "*") return null;
  if (!Array.isArray(allowed)) {
    throw new TypeError(
      `Option allowedOrigins must be "*" or an array of origins, got ${
        String(allowed)
      }`,
    );
  }
  const set = new Set<string>();
  for (const entry of allowed) {
    let origin: string | undefined;
    try {
      const url = new URL(String(entry));
      if (
        (url.protocol === "http:" || url.protocol === "https:") &&
        url.pathname === "/" && url.search === "" && url.hash === "" &&
        url.username === "" && url.password === "" &&
        !String(entry).endsWith("/")
      ) {
        origin = url.origin;
      }
    } catch { /* reported below */ }
    if (origin === undefined) {
      throw new TypeError(
        `Option allowedOrigins must hold origins like "https://app.example", got ${
          String(entry)
        }`,
      );
    }
    set.add(origin.toLowerCase());
  }
  return set;
}
