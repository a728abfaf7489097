/**
 * Per-upstream metrics of the reverse proxy, registered lazily in each
 * registry the proxy reports to (the explicit `metrics` option, or the App
 * registry of the requests it serves):
 *
 * - `palisade_proxy_upstream_requests_total{upstream, status_class}`: every
 *   attempt, by the class of the upstream's status (`2xx` …) or `error`
 *   when no response arrived;
 * - `palisade_proxy_upstream_failures_total{upstream, cause}`: failed
 *   attempts by cause (`connect`, `reset`, `timeout`, `protocol`);
 * - `palisade_proxy_upstream_duration_seconds{upstream}`: from the start of
 *   an attempt to the end of its response body (or its failure);
 * - `palisade_proxy_upstream_healthy{upstream}`: 1 while the upstream is in
 *   rotation (healthy and not ejected), else 0;
 * - `palisade_proxy_upstream_websockets_active{upstream}`: WebSocket
 *   tunnels open through the proxy to the upstream;
 * - `palisade_proxy_upstream_websocket_closes_total{upstream, closed_by}`:
 *   closed tunnels by what ended them (`client`, `upstream`, `idle`,
 *   `shutdown`, `error`).
 *
 * @module
 */

import type { Counter, Gauge, Histogram, Metrics } from "../observe/metrics.ts";
import type { Pool, StatusClass, Upstream } from "./upstreams.ts";

/** The proxy's metric families in one registry. */
export interface Families {
  requests: Counter;
  failures: Counter;
  duration: Histogram;
  healthy: Gauge;
  websockets: Gauge;
  websocketCloses: Counter;
}

const FAMILIES = new WeakMap<Metrics, Families>();

function familiesOf(metrics: Metrics): Families {
  let f = FAMILIES.get(metrics);
  if (f === undefined) {
    f = {
      requests: metrics.counter(
        "palisade_proxy_upstream_requests_total",
        "Attempts sent to each upstream, by status class of the answer.",
        { labels: ["upstream", "status_class"] },
      ),
      failures: metrics.counter(
        "palisade_proxy_upstream_failures_total",
        "Attempts to each upstream that got no usable answer, by cause.",
        { labels: ["upstream", "cause"] },
      ),
      duration: metrics.histogram(
        "palisade_proxy_upstream_duration_seconds",
        "Duration of exchanges with each upstream, to the end of the response body.",
        { labels: ["upstream"] },
      ),
      healthy: metrics.gauge(
        "palisade_proxy_upstream_healthy",
        "1 while the upstream is in rotation (healthy, not ejected), else 0.",
        { labels: ["upstream"] },
      ),
      websockets: metrics.gauge(
        "palisade_proxy_upstream_websockets_active",
        "WebSocket tunnels open through the proxy to each upstream.",
        { labels: ["upstream"] },
      ),
      websocketCloses: metrics.counter(
        "palisade_proxy_upstream_websocket_closes_total",
        "Closed WebSocket tunnels to each upstream, by what ended them.",
        { labels: ["upstream", "closed_by"] },
      ),
    };
    FAMILIES.set(metrics, f);
  }
  return f;
}

/** The status class label of `status`. */
export function statusClass(status: number): StatusClass {
  if (status < 200) return "1xx";
  if (status < 300) return "2xx";
  if (status < 400) return "3xx";
  if (status < 500) return "4xx";
  return "5xx";
}

/** The registries one proxy reports to. */
export class ProxyMetrics {
  readonly #pool: Pool;
  readonly #fixed: Metrics | null;
  readonly #seen: Metrics[] = [];
  #last: Metrics | undefined;
  #lastFamilies: Families | undefined;

  /** Reports to `fixed` only when given, else to each request's App registry. */
  constructor(pool: Pool, fixed: Metrics | null) {
    this.#pool = pool;
    this.#fixed = fixed;
    if (fixed !== null) this.#families(fixed);
  }

  /**
   * The families to record a request in: the fixed registry, else `app`
   * (the request's App registry); undefined when metrics are off.
   */
  for(app: Metrics | undefined): Families | undefined {
    const m = this.#fixed ?? app;
    if (m === undefined) return undefined;
    return m === this.#last ? this.#lastFamilies : this.#families(m);
  }

  #families(m: Metrics): Families {
    const f = familiesOf(m);
    if (!this.#seen.includes(m)) {
      this.#seen.push(m);
      const now = performance.now();
      for (const u of this.#pool.list) {
        f.healthy.set(this.#pool.inRotation(u, now) ? 1 : 0, u.labels);
      }
    }
    this.#last = m;
    this.#lastFamilies = f;
    return f;
  }

  /** Sets the healthy gauge of `u` in every registry seen so far. */
  showHealth(u: Upstream, inRotation: boolean): void {
    for (const m of this.#seen) {
      familiesOf(m).healthy.set(inRotation ? 1 : 0, u.labels);
    }
  }
}
