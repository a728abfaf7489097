/**
 * What every connection of one h1 listener shares: the App, the resolved
 * settings (read-only), the coarse timer, and the little runtime state of
 * the listener (draining, reusable parsers and buffers).
 *
 * @module
 */

import type { RejectReason } from "../../http/limits.ts";
import type {
  RejectedRequest,
  ServeInfo,
  TlsHandshakeResult,
} from "../contract.ts";
import type { H1Settings } from "./options.ts";
import type { RequestParser } from "./parser/parser.ts";
import type { H1Source } from "./source.ts";
import type { Sweeper } from "./sweeper.ts";

/** What a connection needs from the App: `Servable` plus optional counters. */
export interface H1App {
  /** Handles a parsed request. */
  handle(src: H1Source, info: ServeInfo): Response | Promise<Response>;
  /**
   * Records a rejection made before or outside the App (`App#reject`);
   * returns the request id to echo.
   */
  reject?(
    reason: RejectReason,
    status: number,
    detail: string,
    request?: RejectedRequest,
  ): string | undefined;
}

/** See the module doc. */
export interface ListenerState {
  /** The App serving requests. */
  readonly app: H1App;
  /** Validated options, the same object for every connection. */
  readonly settings: H1Settings;
  /** The shared coarse timer. */
  readonly sweeper: Sweeper;
  /** Whether connections are TLS (`handshake()` first; `https` URLs). */
  readonly tls: boolean;
  /**
   * A connection's TLS handshake ended (called once per TLS connection):
   * frees its place under `maxTlsHandshakes` and counts it.
   */
  handshakeEnded(result: TlsHandshakeResult, seconds: number): void;
  /** The App's request-id header, lower case; false when ids are off. */
  readonly idHeader: string | false;
  /** `host:port` of the listener, for requests without `Host` (HTTP/1.0). */
  readonly localHost: string;
  /** True once the listener is draining: finish the current request, then close. */
  draining: boolean;
  /**
   * Parsers and read buffers of closed connections, reused by new ones
   * (allocating typed arrays is what makes short connections expensive),
   * at most `max` of each.
   */
  readonly spare: {
    readonly parsers: RequestParser[];
    readonly buffers: Uint8Array[];
    readonly max: number;
  };
}
