/**
 * The observers of an App's requests: metrics, the hooks and the access
 * log, each called so that a hook that throws is reported and ignored,
 * never failing a request or ending the process. Each costs nothing when
 * unset.
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import type { RejectReason } from "../http/limits.ts";
import type { AccessLogEntry } from "../observe/access_log.ts";
import type { Metrics } from "../observe/metrics.ts";
import { exchangeEntry } from "./access_entry.ts";
import type { Exchange } from "./exchange.ts";
import type { AppSettings } from "./options.ts";

/** Epoch ms at which `performance.now()` was 0. */
const TIME_ORIGIN = performance.timeOrigin;

/** See the module doc. */
export class Observer {
  /** Where requests are recorded; undefined when metrics are off. */
  readonly metrics: Metrics | undefined;
  readonly #settings: AppSettings;

  constructor(settings: AppSettings, metrics: Metrics) {
    this.#settings = settings;
    this.metrics = settings.record ? metrics : undefined;
  }

  /** Whether an access log is installed. */
  get logging(): boolean {
    return this.#settings.accessLog !== undefined;
  }

  /**
   * Sends `error` to `onError`, or to `console.error` when no hook is set or
   * the hook itself throws.
   */
  reportError(error: unknown, ctx: Context | null): void {
    const onError = this.#settings.hooks.onError;
    if (onError !== undefined) {
      try {
        onError(error, ctx);
        return;
      } catch (hookError) {
        console.error("Palisade: the onError hook threw", hookError);
      }
    }
    console.error("Palisade: unhandled error in a request", error);
  }

  /** A request was routed: counts it active and calls `onRequest`. */
  started(ctx: Context): void {
    if (this.metrics !== undefined) this.metrics.active++;
    const onRequest = this.#settings.hooks.onRequest;
    if (onRequest !== undefined) {
      try {
        onRequest(ctx);
      } catch (e) {
        this.reportError(e, ctx);
      }
    }
  }

  /** A request finished with `res` (null: a streamed body ended). */
  finished(ex: Exchange, res: Response | null): void {
    const { hooks, accessLog } = this.#settings;
    const onResponse = hooks.onResponse;
    const metrics = this.metrics;
    if (
      metrics === undefined && onResponse === undefined &&
      accessLog === undefined
    ) return;
    const durationMs = performance.now() - ex.start;
    const ctx = ex.ctx;
    const status = ex.status;
    if (metrics !== undefined) {
      metrics.active--;
      metrics.record(ctx.method, ctx.route, status, durationMs / 1000);
    }
    if (onResponse !== undefined) {
      try {
        onResponse(ctx, res ?? new Response(null, { status }), {
          durationMs,
        });
      } catch (e) {
        this.reportError(e, ctx);
      }
    }
    if (accessLog !== undefined) {
      this.log(exchangeEntry(ex, res, durationMs, TIME_ORIGIN + ex.start), ctx);
    }
  }

  /** Counts a rejection and reports it to `onReject`. */
  reject(
    reason: RejectReason,
    status: number,
    detail: string,
    ctx: Context | null,
  ): void {
    this.metrics?.reject(reason);
    const onReject = this.#settings.hooks.onReject;
    if (onReject !== undefined) {
      try {
        onReject({ reason, status, detail, ctx });
      } catch (e) {
        this.reportError(e, ctx);
      }
    }
  }

  /** Counts a request shed before routing in `palisade_shed_total{reason}`. */
  shed(reason: string): void {
    this.metrics?.counter(
      "palisade_shed_total",
      "Requests shed before they reached a handler, by reason.",
      { labels: ["reason"] },
    ).inc({ reason });
  }

  /** Writes an access-log entry. */
  log(entry: AccessLogEntry, ctx: Context | null): void {
    try {
      this.#settings.accessLog?.(entry);
    } catch (e) {
      this.reportError(e, ctx);
    }
  }
}
