/**
 * The metrics registry of an App, exposed in the Prometheus text format 0.0.4
 * and named after the OpenTelemetry HTTP semantic conventions.
 *
 * @module
 */

import type { RejectReason } from "../http/limits.ts";
import {
  DEFAULT_DURATION_BUCKETS,
  HANDSHAKE_BUCKETS,
  methodLabel,
} from "./conventions.ts";
import { escapeLabel, formatNumber } from "./exposition.ts";
import { scrapeHandler } from "./metrics_group.ts";
import {
  BUILT_IN,
  Counter,
  type FamilyKind,
  type FamilyOptions,
  Gauge,
  Histogram,
  type HistogramOptions,
  LABEL_NAME,
  METRIC_NAME,
  type MetricFamily,
} from "./metric_families.ts";

export { DEFAULT_DURATION_BUCKETS } from "./conventions.ts";
export {
  Counter,
  type FamilyKind,
  type FamilyOptions,
  Gauge,
  Histogram,
  type HistogramOptions,
  type Labels,
  MetricFamily,
} from "./metric_families.ts";

/** Options for {@linkcode Metrics}. */
export interface MetricsOptions {
  /**
   * Upper bounds, in seconds, of the buckets of the request duration
   * histogram; finite, positive and strictly increasing. A `+Inf` bucket is
   * always added. Default {@linkcode DEFAULT_DURATION_BUCKETS} (5 ms … 10 s).
   * Requests slower than the last bound are counted only in `+Inf`.
   */
  buckets?: number[];
}

/**
 * Most distinct `reason` label values of `palisade_rejections_total`; further
 * reasons are counted as `other`.
 */
const MAX_REASONS = 64;

/** One series of the duration histogram. */
class Series {
  /** Per-bucket (not cumulative) counts; the last slot is `+Inf`. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** The rendered label set without `le`, e.g. `http_request_method="GET",...`. */
  readonly labels: string;

  constructor(buckets: number, labels: string) {
    this.counts = new Float64Array(buckets + 1);
    this.labels = labels;
  }
}

/**
 * A metrics registry: request durations by method, route and status, active
 * requests, rejections, deadline expiries and connections. Every App has one
 * as `app.metrics`; mount {@linkcode Metrics.prototype.handler} to expose it.
 *
 * Series are keyed by the route pattern (`/users/:id`, `""` when no route
 * matched), never by the raw path, so the number of series stays bounded by
 * the route table.
 *
 * @example Usage
 * ```ts
 * import { Metrics } from "@palisade/server";
 * const metrics = new Metrics();
 * metrics.record("GET", "/users/:id", 200, 0.012);
 * metrics.text().includes("http_server_request_duration_seconds_count"); // true
 * ```
 */
export class Metrics {
  /**
   * Requests being handled right now (`http_server_active_requests`). The App
   * increments and decrements it directly.
   */
  active = 0;

  readonly #bounds: Float64Array;
  readonly #leText: string[];
  /** route → method → status → series. */
  readonly #series = new Map<string, Map<string, Map<number, Series>>>();
  readonly #rejections = new Map<string, number>();
  #deadlines = 0;
  #connectionsActive = 0;
  #connectionsTotal = 0;
  readonly #acceptErrors = new Map<string, number>();
  readonly #families = new Map<string, MetricFamily>();

  /**
   * Creates an empty registry.
   *
   * @throws {TypeError} when `buckets` is empty, not finite, not positive or
   * not strictly increasing.
   */
  constructor(options?: MetricsOptions) {
    const buckets = options?.buckets ?? DEFAULT_DURATION_BUCKETS;
    if (buckets.length === 0) {
      throw new TypeError("Metrics option buckets must not be empty");
    }
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i];
      if (
        typeof b !== "number" || !Number.isFinite(b) || b <= 0 ||
        (i > 0 && b <= buckets[i - 1])
      ) {
        throw new TypeError(
          `Metrics option buckets must be finite, positive and strictly increasing, got ${
            String(b)
          } at index ${i}`,
        );
      }
    }
    this.#bounds = Float64Array.from(buckets);
    this.#leText = buckets.map(formatNumber);
    this.#leText.push("+Inf");
  }

  /**
   * Records one finished request in `http_server_request_duration_seconds`.
   * Allocation-free once the (method, route, status) series exists.
   *
   * @param method Request method; unknown methods are recorded as `_OTHER`.
   * @param route Matched route pattern, `""` when none matched.
   * @param status Response status code.
   * @param seconds Duration from the start of handling to the response.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const metrics = new Metrics();
   * metrics.record("POST", "/users", 201, 0.004);
   * ```
   */
  record(method: string, route: string, status: number, seconds: number): void {
    method = methodLabel(method);
    let byMethod = this.#series.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#series.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let series = byStatus.get(status);
    if (series === undefined) {
      series = new Series(
        this.#bounds.length,
        `http_request_method="${escapeLabel(method)}",http_route="${
          escapeLabel(route)
        }",http_response_status_code="${String(status)}"`,
      );
      byStatus.set(status, series);
    }
    if (!(seconds >= 0)) seconds = 0; // NaN or negative: a clock glitch
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    series.counts[i]++;
    series.sum += seconds;
    series.count++;
  }

  /**
   * Counts one rejection in `palisade_rejections_total{reason}`.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const metrics = new Metrics();
   * metrics.reject("body_too_large");
   * ```
   */
  reject(reason: RejectReason): void {
    const n = this.#rejections.get(reason);
    if (n !== undefined) {
      this.#rejections.set(reason, n + 1);
    } else if (this.#rejections.size < MAX_REASONS) {
      this.#rejections.set(reason, 1);
    } else {
      this.#rejections.set("other", (this.#rejections.get("other") ?? 0) + 1);
    }
  }

  /**
   * Counts one request whose deadline expired in
   * `palisade_deadline_exceeded_total`.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * new Metrics().deadlineExceeded();
   * ```
   */
  deadlineExceeded(): void {
    this.#deadlines++;
  }

  /**
   * Counts an accepted connection (`palisade_connections_active` and
   * `palisade_connections_total`); called by transports that see connections.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const metrics = new Metrics();
   * metrics.connectionOpened();
   * metrics.connectionClosed();
   * ```
   */
  connectionOpened(): void {
    this.#connectionsActive++;
    this.#connectionsTotal++;
  }

  /**
   * Counts a failed accept (out of file descriptors) after which the
   * transport backs off and accepts again, in
   * `palisade_accept_errors_total{transport}`.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * new Metrics().acceptFailed("deno");
   * ```
   */
  acceptFailed(transport: string): void {
    this.#acceptErrors.set(
      transport,
      (this.#acceptErrors.get(transport) ?? 0) + 1,
    );
  }

  /**
   * Counts the end of a TLS handshake on the h1 transport in
   * `palisade_tls_handshakes_total{result}` and, unless it was refused,
   * its duration from accept in `palisade_tls_handshake_duration_seconds`.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const metrics = new Metrics();
   * metrics.tlsHandshake("ok", 0.002);
   * metrics.text().includes('palisade_tls_handshakes_total{result="ok"} 1'); // true
   * ```
   */
  tlsHandshake(
    result: "ok" | "failed" | "timeout" | "refused",
    seconds: number,
  ): void {
    this.counter(
      "palisade_tls_handshakes_total",
      "TLS handshakes on the h1 transport, by how they ended.",
      { labels: ["result"] },
    ).inc({ result });
    if (result === "refused") return;
    this.histogram(
      "palisade_tls_handshake_duration_seconds",
      "Time from accept to the end of a TLS handshake.",
      { buckets: HANDSHAKE_BUCKETS },
    ).observe(seconds);
  }

  /**
   * Counts a certificate reload in `palisade_tls_reloads_total{result}`;
   * `"failed"`: the new pair was refused, the old one stays.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * new Metrics().tlsReload("failed");
   * ```
   */
  tlsReload(result: "ok" | "failed"): void {
    this.counter(
      "palisade_tls_reloads_total",
      "TLS certificate reloads, by result.",
      { labels: ["result"] },
    ).inc({ result });
  }

  /**
   * Counts a closed connection in `palisade_connections_active`.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const metrics = new Metrics();
   * metrics.connectionOpened();
   * metrics.connectionClosed();
   * ```
   */
  connectionClosed(): void {
    this.#connectionsActive--;
  }

  /**
   * Returns the counter family `name` (created on first call; later calls
   * with the same name and kind return the same family, so several
   * middleware instances share it). Used by middleware, the client and the
   * proxy for their `palisade_*` and `http_client_*` metrics.
   *
   * @throws {TypeError} when `name` is not a valid metric name or is already
   * registered as another kind or with other labels.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const metrics = new Metrics();
   * const limited = metrics.counter("palisade_rate_limited_total", "Requests refused by a rate limiter.", { labels: ["limiter"] });
   * limited.inc({ limiter: "api" });
   * ```
   */
  counter(name: string, help: string, options?: FamilyOptions): Counter {
    return this.#family("counter", name, help, options) as Counter;
  }

  /**
   * Returns the gauge family `name`; see {@linkcode Metrics.prototype.counter}.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const g = new Metrics().gauge("palisade_websocket_connections_active", "Open WebSockets.");
   * g.inc();
   * g.dec();
   * ```
   */
  gauge(name: string, help: string, options?: FamilyOptions): Gauge {
    return this.#family("gauge", name, help, options) as Gauge;
  }

  /**
   * Returns the histogram family `name`; see
   * {@linkcode Metrics.prototype.counter}. `options.buckets` default to
   * {@linkcode DEFAULT_DURATION_BUCKETS}.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const h = new Metrics().histogram("http_client_request_duration_seconds", "Duration of HTTP client requests.", { labels: ["http_request_method"] });
   * h.observe(0.05, { http_request_method: "GET" });
   * ```
   */
  histogram(
    name: string,
    help: string,
    options?: HistogramOptions,
  ): Histogram {
    return this.#family("histogram", name, help, options) as Histogram;
  }

  #family(
    kind: FamilyKind,
    name: string,
    help: string,
    options: HistogramOptions | undefined,
  ): MetricFamily {
    const labels = options?.labels ?? [];
    const existing = this.#families.get(name);
    if (existing !== undefined) {
      if (existing.kind !== kind || existing.labels.join() !== labels.join()) {
        throw new TypeError(
          `Metric ${name} is already registered as a ${existing.kind} with labels [${
            existing.labels.join(", ")
          }]`,
        );
      }
      return existing;
    }
    if (!METRIC_NAME.test(name) || BUILT_IN.has(name)) {
      throw new TypeError(`Metric name ${name} is invalid or reserved`);
    }
    for (const l of labels) {
      if (!LABEL_NAME.test(l) || l === "le") {
        throw new TypeError(`Metric ${name} has the invalid label name ${l}`);
      }
    }
    const family = kind === "histogram"
      ? new Histogram(name, help, labels, options?.maxSeries, options?.buckets)
      : kind === "gauge"
      ? new Gauge(name, help, labels, options?.maxSeries)
      : new Counter(name, help, labels, options?.maxSeries);
    this.#families.set(name, family);
    return family;
  }

  /**
   * Renders every metric in the Prometheus text exposition format 0.0.4.
   *
   * @example Usage
   * ```ts
   * import { Metrics } from "@palisade/server";
   * const metrics = new Metrics();
   * metrics.text().startsWith("# HELP"); // true
   * ```
   */
  text(): string {
    const out: string[] = [];
    const h = "http_server_request_duration_seconds";
    out.push(
      `# HELP ${h} Duration of HTTP server requests.`,
      `# TYPE ${h} histogram`,
    );
    const le = this.#leText;
    for (const byMethod of this.#series.values()) {
      for (const byStatus of byMethod.values()) {
        for (const s of byStatus.values()) {
          let cumulative = 0;
          for (let i = 0; i < le.length; i++) {
            cumulative += s.counts[i];
            out.push(
              `${h}_bucket{${s.labels},le="${le[i]}"} ${
                formatNumber(cumulative)
              }`,
            );
          }
          out.push(`${h}_sum{${s.labels}} ${formatNumber(s.sum)}`);
          out.push(`${h}_count{${s.labels}} ${formatNumber(s.count)}`);
        }
      }
    }
    out.push(
      "# HELP http_server_active_requests Number of active HTTP server requests.",
      "# TYPE http_server_active_requests gauge",
      `http_server_active_requests ${formatNumber(this.active)}`,
      "# HELP palisade_rejections_total Requests and connections rejected, by reason.",
      "# TYPE palisade_rejections_total counter",
    );
    for (const [reason, n] of this.#rejections) {
      out.push(
        `palisade_rejections_total{reason="${escapeLabel(reason)}"} ${
          formatNumber(n)
        }`,
      );
    }
    out.push(
      "# HELP palisade_deadline_exceeded_total Requests whose deadline expired.",
      "# TYPE palisade_deadline_exceeded_total counter",
      `palisade_deadline_exceeded_total ${formatNumber(this.#deadlines)}`,
      "# HELP palisade_connections_active Open client connections.",
      "# TYPE palisade_connections_active gauge",
      `palisade_connections_active ${formatNumber(this.#connectionsActive)}`,
      "# HELP palisade_connections_total Client connections accepted.",
      "# TYPE palisade_connections_total counter",
      `palisade_connections_total ${formatNumber(this.#connectionsTotal)}`,
      "# HELP palisade_accept_errors_total Accepts that failed (out of file descriptors); the transport backs off and accepts again.",
      "# TYPE palisade_accept_errors_total counter",
    );
    for (const [transport, n] of this.#acceptErrors) {
      out.push(
        `palisade_accept_errors_total{transport="${escapeLabel(transport)}"} ${
          formatNumber(n)
        }`,
      );
    }
    for (const family of this.#families.values()) family.render(out);
    return out.join("\n") + "\n";
  }

  /**
   * Returns a handler answering with {@linkcode Metrics.prototype.text} as
   * `text/plain; version=0.0.4; charset=utf-8`, to mount on a route; in
   * workers (`serve(app, { workers })`, `deno serve --parallel`) with the
   * sum over every worker (see `docs/workers.md`).
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.get("/metrics", app.metrics.handler());
   * ```
   */
  handler(): () => Response | Promise<Response> {
    return scrapeHandler(this);
  }
}
