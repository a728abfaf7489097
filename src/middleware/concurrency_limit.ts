/**
 * `concurrencyLimit()`: a cap on the requests in flight through a route or
 * prefix, with a bounded queue, shedding the excess with 503.
 *
 * @module
 */

import { metricsOf } from "../context/internal.ts";
import type { Context, Middleware } from "../context/context.ts";
import { problem } from "../http/errors.ts";
import type { Counter, Metrics } from "../observe/metrics.ts";
import { Gate, ShedError, type ShedReason } from "../internal/gate.ts";

/** Options of {@linkcode concurrencyLimit}. */
export interface ConcurrencyLimitOptions {
  /**
   * Most requests handled at once through this middleware. Required; a
   * positive integer. Over it a request waits in the queue, or is answered
   * 503 when the queue is full.
   */
  max: number;
  /**
   * Most requests waiting for a slot, first come first served. 0: no
   * queue, over `max` is answered 503 at once.
   *
   * @default {0}
   */
  queue?: number;
  /**
   * Most ms a request waits in the queue before it is answered 503; 0 = no
   * limit of its own. The request deadline applies either way: a queued
   * request whose `ctx.signal` aborts (deadline, client gone, shutdown)
   * leaves the queue and the App answers it as usual.
   *
   * @default {1000}
   */
  queueTimeoutMs?: number;
  /**
   * `Retry-After` of the 503, in seconds: a hint, since load cannot be
   * predicted. 0 = no `Retry-After`.
   *
   * @default {1}
   */
  retryAfterSec?: number;
}

const families = new WeakMap<Metrics, Counter>();

function shedCounter(metrics: Metrics): Counter {
  let c = families.get(metrics);
  if (c === undefined) {
    c = metrics.counter(
      "palisade_shed_total",
      "Requests shed before they reached a handler, by reason.",
      { labels: ["reason"] },
    );
    families.set(metrics, c);
  }
  return c;
}

const LABELS: Record<ShedReason, { reason: ShedReason }> = {
  queue_full: Object.freeze({ reason: "queue_full" }),
  queue_timeout: Object.freeze({ reason: "queue_timeout" }),
};

/**
 * Caps the requests in flight through the routes it guards (one cap shared
 * by every route it is mounted on), so a slow dependency cannot pile up
 * unbounded work: admitted requests keep their latency, the excess is shed
 * fast. Over `max`, requests wait in a bounded FIFO queue; a full queue or a
 * wait over `queueTimeoutMs` gets 503 `application/problem+json` with
 * `Retry-After`, counted in `palisade_shed_total{reason}` (`queue_full`,
 * `queue_timeout`).
 *
 * A request holds its slot until the response is complete for a
 * non-streamed response — until `next()` resolves or throws. A streamed
 * body (`ctx.stream`, `ctx.sse`, a `ReadableStream`) releases the slot when
 * its head is ready, not when the stream ends: long-lived streams are
 * bounded by `maxConnections` and their own limits, not by this one.
 *
 * @throws {TypeError} when an option is invalid, naming it.
 *
 * @example Ten reports at a time, ten more may wait half a second
 * ```ts
 * import { App } from "@palisade/server";
 * import { concurrencyLimit } from "@palisade/server/middleware";
 * const app = new App();
 * app.use("/reports", concurrencyLimit({ max: 10, queue: 10, queueTimeoutMs: 500 }));
 * ```
 */
export function concurrencyLimit(options: ConcurrencyLimitOptions): Middleware {
  const queue = options?.queue ?? 0;
  const gate = new Gate({
    max: options?.max,
    queue,
    queueTimeoutMs: options.queueTimeoutMs ?? 1_000,
  });
  const retryAfter = options.retryAfterSec ?? 1;
  if (!Number.isSafeInteger(retryAfter) || retryAfter < 0) {
    throw new TypeError(
      `Option retryAfterSec must be a non-negative integer, got ${
        String(retryAfter)
      }`,
    );
  }
  const headers: Record<string, string> = retryAfter > 0
    ? { "retry-after": String(retryAfter) }
    : {};

  function shed(ctx: Context, e: ShedError): Response {
    const metrics = metricsOf(ctx);
    if (metrics !== undefined) shedCounter(metrics).inc(LABELS[e.reason]);
    return problem(503, e.message, headers);
  }

  async function queued(
    ctx: Context,
    next: () => Promise<Response>,
  ): Promise<Response> {
    try {
      // A full queue refuses before ctx.signal is touched (it costs a listener).
      await gate.enter(gate.queued < queue ? ctx.signal : undefined);
    } catch (e) {
      if (e instanceof ShedError) return shed(ctx, e);
      // Aborted while queued: the deadline or a shutdown has answered
      // already, or the client is gone; this answer is dropped.
      return problem(503, "Request was aborted while waiting for a slot");
    }
    try {
      return await next();
    } finally {
      gate.leave();
    }
  }

  return function concurrencyLimitMiddleware(ctx, next) {
    if (!gate.tryEnter()) return queued(ctx, next);
    let res: Promise<Response>;
    try {
      res = next();
    } catch (e) {
      gate.leave();
      throw e;
    }
    return res.finally(() => gate.leave());
  };
}
