/**
 * The client's metric families, registered once per {@linkcode Metrics}
 * registry. `server_address` is the upstream's `URL.host` (host name, and
 * port when it is not the scheme's default).
 *
 * @module
 */

import type { Counter, Gauge, Histogram, Metrics } from "../observe/metrics.ts";
import type { BreakerState } from "./breaker.ts";

/** The families the client records in. */
export interface ClientMetrics {
  /** Per attempt, until its response head (or failure). */
  duration: Histogram;
  retries: Counter;
  breakerState: Gauge;
  breakerRejections: Counter;
}

/** Gauge values of `palisade_client_breaker_state`. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = {
  closed: 0,
  "half-open": 1,
  open: 2,
};

const byRegistry = new WeakMap<Metrics, ClientMetrics>();

/** The client families of `metrics`, registered on first use. */
export function clientMetrics(metrics: Metrics): ClientMetrics {
  let families = byRegistry.get(metrics);
  if (families === undefined) {
    const address = { labels: ["server_address"] };
    families = {
      duration: metrics.histogram(
        "http_client_request_duration_seconds",
        "Duration of HTTP client request attempts until the response head.",
        {
          labels: [
            "http_request_method",
            "server_address",
            "http_response_status_code",
          ],
        },
      ),
      retries: metrics.counter(
        "palisade_client_retries_total",
        "Attempts the HTTP client repeated.",
        address,
      ),
      breakerState: metrics.gauge(
        "palisade_client_breaker_state",
        "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.",
        address,
      ),
      breakerRejections: metrics.counter(
        "palisade_client_breaker_rejections_total",
        "Calls refused by an open circuit breaker.",
        address,
      ),
    };
    byRegistry.set(metrics, families);
  }
  return families;
}
