/**
 * What every open WebSocket reports, on either transport: registration with
 * its App for graceful shutdown, the `palisade_websocket_*` metrics, and
 * the `onClosed` hook.
 *
 * Metrics (registered on first use per registry):
 * - `palisade_websocket_connections_active` (gauge)
 * - `palisade_websocket_messages_total{direction="in"|"out"}` (counter)
 * - `palisade_websocket_closes_total{code}` (counter; codes outside the
 *   registered 1000–1015 set are counted as `"other"`, so a client cannot
 *   grow the label set)
 *
 * @module
 */

import {
  metricsOf,
  type SocketClosed,
  trackSocket,
} from "../context/internal.ts";
import type { Context } from "../context/context.ts";
import type { TrackedSocket } from "../context/internal.ts";
import type { Counter, Gauge, Metrics } from "../observe/metrics.ts";
import type { ResolvedOptions } from "./options.ts";
import type { WebSocketClosedInfo } from "./types.ts";

interface Families {
  active: Gauge;
  messages: Counter;
  closes: Counter;
}

const FAMILIES = new WeakMap<Metrics, Families>();
const IN = { direction: "in" } as const;
const OUT = { direction: "out" } as const;

function familiesOf(metrics: Metrics): Families {
  let f = FAMILIES.get(metrics);
  if (f === undefined) {
    f = {
      active: metrics.gauge(
        "palisade_websocket_connections_active",
        "Open WebSocket connections.",
      ),
      messages: metrics.counter(
        "palisade_websocket_messages_total",
        "WebSocket messages received (in) and sent (out).",
        { labels: ["direction"] },
      ),
      closes: metrics.counter(
        "palisade_websocket_closes_total",
        "Closed WebSocket connections by close code.",
        { labels: ["code"] },
      ),
    };
    FAMILIES.set(metrics, f);
  }
  return f;
}

/** The label value for a close code: registered codes as is, else "other". */
export function codeLabel(code: number): string {
  return code >= 1000 && code <= 1015 ? String(code) : "other";
}

/** Message and byte counters of one socket. */
export interface Counts {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The observer of one open WebSocket: created when it opens, told about
 * messages, and closed once.
 *
 * @example Usage
 * ```ts ignore
 * const watch = new SocketWatch(ctx, { goingAway, terminate }, options);
 * watch.countIn();
 * watch.closed(1000, "", true, counts);
 * ```
 */
export class SocketWatch {
  #families: Families | undefined;
  #release: (closed: SocketClosed) => void;
  #start = performance.now();
  #onClosed: ResolvedOptions["onClosed"];
  #done = false;

  /** Registers `socket` with the App of `ctx` and counts it as active. */
  constructor(ctx: Context, socket: TrackedSocket, options: ResolvedOptions) {
    const metrics = metricsOf(ctx);
    this.#families = metrics === undefined ? undefined : familiesOf(metrics);
    this.#families?.active.inc();
    this.#onClosed = options.onClosed;
    this.#release = trackSocket(ctx, socket);
  }

  /** A message was received. */
  countIn(): void {
    this.#families?.messages.inc(IN);
  }

  /** A message was sent. */
  countOut(): void {
    this.#families?.messages.inc(OUT);
  }

  /** The socket closed: metrics, `onClosed`, and release from the App; once. */
  closed(
    code: number,
    reason: string,
    wasClean: boolean,
    counts: Counts,
  ): void {
    if (this.#done) return;
    this.#done = true;
    const f = this.#families;
    if (f !== undefined) {
      f.active.dec();
      f.closes.inc({ code: codeLabel(code) });
    }
    const onClosed = this.#onClosed;
    if (onClosed !== undefined) {
      const info: WebSocketClosedInfo = {
        durationMs: performance.now() - this.#start,
        messagesIn: counts.messagesIn,
        messagesOut: counts.messagesOut,
        bytesIn: counts.bytesIn,
        bytesOut: counts.bytesOut,
        code,
        reason,
        wasClean,
      };
      try {
        onClosed(info);
      } catch (error) {
        console.error("Palisade: the WebSocket onClosed hook threw", error);
      }
    }
    this.#release({
      durationMs: performance.now() - this.#start,
      messagesIn: counts.messagesIn,
      messagesOut: counts.messagesOut,
      bytesIn: counts.bytesIn,
      bytesOut: counts.bytesOut,
      code,
    });
  }
}
