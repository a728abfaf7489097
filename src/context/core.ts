/**
 * What a Context reads from and reports to the request it belongs to. The
 * App's per-request exchange implements it; the Context keeps it in a
 * private field, so none of it is reachable from the public object.
 *
 * @module
 */

import type { Body } from "../body/body.ts";
import type { Cookies } from "./cookies.ts";
import type { Limits, RejectReason } from "../http/limits.ts";
import type { Metrics } from "../observe/metrics.ts";
import type {
  RemoteAddr,
  RequestSource,
  ServeInfo,
} from "../transport/contract.ts";
import type { StreamControl } from "./stream.ts";

/**
 * A long-lived connection taken over from a request (a WebSocket), which
 * the App ends at shutdown.
 */
export interface TrackedSocket {
  /** Graceful shutdown began: start a clean close (WebSocket: 1001). */
  goingAway(): void;
  /** The grace period ran out: close now. */
  terminate(): void;
}

/** What a taken-over socket carried, reported when it closed. */
export interface SocketClosed {
  /** Milliseconds the socket was open. */
  readonly durationMs: number;
  /** Messages received and sent. */
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Payload bytes received and sent. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** The close code. */
  readonly code: number;
}

/** The request behind a Context; see the module doc. */
export interface RequestCore {
  /** The `Request`, when the transport made one (`Deno.serve`, `app.request`). */
  readonly req: Request | null;
  /** The transport's parsed request, when it made no `Request` (h1). */
  readonly src: RequestSource | null;
  /** The transport's connection info. */
  readonly info: ServeInfo | undefined;
  /** The raw query string, without `?`. */
  readonly query: string;
  /** The limits of the matched route. */
  readonly limits: Readonly<Limits>;
  /** The request id; `""` when ids are off. */
  readonly requestId: string;
  /** Epoch ms of the deadline; `Infinity` for none. */
  readonly deadline: number;
  /** The App's metrics registry, undefined when metrics are off. */
  readonly metrics: Metrics | undefined;
  /** The standard `Request`, built from `src` on first use. */
  request(): Request;
  /** The request's cookies and the response's, created on first use. */
  cookies(): Cookies;
  /** The limited body readers, created on first use. */
  body(): Body;
  /** The request's abort signal, created on first use. */
  signal(): AbortSignal;
  /** The client address after trusted proxies, computed on first use. */
  remote(): RemoteAddr;
  /** A helper built a body of `value` (`json`: it is the value to serialise). */
  sent(value: unknown, json: boolean): void;
  /** `ctx.stream` or `ctx.sse` built a body the App can end. */
  streaming(control: StreamControl): void;
  /** A body built by `ctx.stream` / `ctx.sse` ended (with `error` unless normally). */
  streamEnded(control: StreamControl, error?: unknown): void;
  /** Counts a rejection detected while handling (a limit, a bad query). */
  reject(reason: RejectReason, status: number, detail: string): void;
  /**
   * Registers a socket taken over from this request; returns its release,
   * to call once it closed with what it carried (for the access log).
   */
  track(socket: TrackedSocket): (closed: SocketClosed) => void;
  /** Whether `Deno.serve` delivered this request (not `app.request()`). */
  readonly fromDenoServe: boolean;
}
