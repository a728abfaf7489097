/**
 * The metrics registry of an App, exposed in the Prometheus text format 0.0.4
 * and named after the OpenTelemetry HTTP semantic conventions.
 *
 * @module
 */

import type { RejectReason } from "../http/limits.ts";

/**
 * Default histogram buckets of `http_server_request_duration_seconds`, in
 * seconds: the OpenTelemetry recommendation from 5 ms to 10 s.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_DURATION_BUCKETS } from "@palisade/server";
 * DEFAULT_DURATION_BUCKETS[0]; // 0.005
 * ```
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
]);

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
 * Methods reported as they are in `http_request_method`; any other method is
 * reported as `_OTHER` (OpenTelemetry convention), so a client cannot create
 * series by inventing methods.
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
  "QUERY",
]);

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
    if (!KNOWN_METHODS.has(method)) method = "_OTHER";
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
    );
    for (const family of this.#families.values()) family.render(out);
    return out.join("\n") + "\n";
  }

  /**
   * Returns a handler answering with {@linkcode Metrics.prototype.text} as
   * `text/plain; version=0.0.4; charset=utf-8`, to mount on a route.
   *
   * @example Usage
   * ```ts
   * import { App } from "@palisade/server";
   * const app = new App();
   * app.get("/metrics", app.metrics.handler());
   * ```
   */
  handler(): () => Response {
    return () =>
      new Response(this.text(), {
        headers: {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
          "cache-control": "no-store",
        },
      });
  }
}

/** Escapes a label value: backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x5c || c === 0x22 || c === 0x0a) {
      out += value.slice(start, i) +
        (c === 0x5c ? "\\\\" : c === 0x22 ? '\\"' : "\\n");
      start = i + 1;
    }
  }
  return start === 0 ? value : out + value.slice(start);
}

/** Formats a sample value as Prometheus (Go `strconv.ParseFloat`) reads it. */
function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const BUILT_IN: ReadonlySet<string> = new Set([
  "http_server_request_duration_seconds",
  "http_server_active_requests",
  "palisade_rejections_total",
  "palisade_deadline_exceeded_total",
  "palisade_connections_active",
  "palisade_connections_total",
]);
/** Label value of the series that collects what is over `maxSeries`. */
const OVERFLOW = "_other";

/** The kinds of metric family. */
export type FamilyKind = "counter" | "gauge" | "histogram";

/** Options of {@linkcode Metrics.prototype.counter} and {@linkcode Metrics.prototype.gauge}. */
export interface FamilyOptions {
  /** Label names, in the order they are rendered. Default none. */
  labels?: readonly string[];
  /**
   * Most distinct label sets. Default 1000. Further label sets are counted
   * in one series whose every label is `_other`, so label values taken from
   * traffic cannot grow memory without bound.
   */
  maxSeries?: number;
}

/** Options of {@linkcode Metrics.prototype.histogram}. */
export interface HistogramOptions extends FamilyOptions {
  /** Bucket upper bounds in seconds. Default {@linkcode DEFAULT_DURATION_BUCKETS}. */
  buckets?: readonly number[];
}

/** Label values by label name. */
export type Labels = Readonly<Record<string, string>>;

/** A metric family: one name, several label sets; see {@linkcode Metrics.prototype.counter}. */
export abstract class MetricFamily {
  /** The metric name, e.g. `palisade_shed_total`. */
  readonly name: string;
  /** The `# HELP` text. */
  readonly help: string;
  /** Label names in rendering order. */
  readonly labels: readonly string[];
  /** Counter, gauge or histogram. */
  abstract readonly kind: FamilyKind;
  readonly #max: number;
  /** Value slots by label-set key. */
  protected readonly series: Map<string, number[]> = new Map();
  readonly #rendered = new Map<string, string>();

  /** Creates the family; use {@linkcode Metrics.prototype.counter} and its siblings. */
  constructor(
    name: string,
    help: string,
    labels: readonly string[],
    maxSeries = 1000,
  ) {
    if (!Number.isSafeInteger(maxSeries) || maxSeries < 1) {
      throw new TypeError(
        `Metric ${name} option maxSeries must be a positive integer, got ${maxSeries}`,
      );
    }
    this.name = name;
    this.help = help;
    this.labels = labels;
    this.#max = maxSeries;
  }

  /** The value slots of the series for `labels`, created on first use. */
  protected slots(labels: Labels | undefined, size: number): number[] {
    const names = this.labels;
    let key = "";
    for (let i = 0; i < names.length; i++) {
      key += (i === 0 ? "" : "\u0000") + (labels?.[names[i]] ?? "");
    }
    let slots = this.series.get(key);
    if (slots !== undefined) return slots;
    if (this.series.size >= this.#max) {
      key = names.map(() => OVERFLOW).join("\u0000");
      slots = this.series.get(key);
      if (slots !== undefined) return slots;
      labels = Object.fromEntries(names.map((n) => [n, OVERFLOW]));
    }
    slots = new Array<number>(size).fill(0);
    this.series.set(key, slots);
    this.#rendered.set(
      key,
      names.map((n) => `${n}="${escapeLabel(labels?.[n] ?? "")}"`).join(","),
    );
    return slots;
  }

  /** Appends the family's lines to `out`. */
  render(out: string[]): void {
    out.push(
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} ${this.kind}`,
    );
    for (const [key, slots] of this.series) {
      this.renderSeries(out, this.#rendered.get(key)!, slots);
    }
  }

  /** Appends the lines of one series. */
  protected renderSeries(
    out: string[],
    labels: string,
    slots: number[],
  ): void {
    out.push(
      `${this.name}${labels ? `{${labels}}` : ""} ${formatNumber(slots[0])}`,
    );
  }
}

/**
 * A counter family from {@linkcode Metrics.prototype.counter}.
 *
 * @example Usage
 * ```ts
 * import { Metrics } from "@palisade/server";
 * new Metrics().counter("palisade_shed_total", "Requests shed.", { labels: ["reason"] }).inc({ reason: "queue_full" });
 * ```
 */
export class Counter extends MetricFamily {
  /** Always `"counter"`. */
  readonly kind: "counter" = "counter";
  /** Adds `by` (default 1, must not be negative) to the series of `labels`. */
  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) return;
    this.slots(labels, 1)[0] += by;
  }
  /** The current value of the series of `labels` (0 when never counted). */
  value(labels?: Labels): number {
    return this.slots(labels, 1)[0];
  }
}

/**
 * A gauge family from {@linkcode Metrics.prototype.gauge}.
 *
 * @example Usage
 * ```ts
 * import { Metrics } from "@palisade/server";
 * new Metrics().gauge("palisade_upstream_healthy", "Upstream health.", { labels: ["upstream"] }).set(1, { upstream: "a" });
 * ```
 */
export class Gauge extends MetricFamily {
  /** Always `"gauge"`. */
  readonly kind: "gauge" = "gauge";
  /** Sets the series of `labels` to `value`. */
  set(value: number, labels?: Labels): void {
    this.slots(labels, 1)[0] = value;
  }
  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels?: Labels, by = 1): void {
    this.slots(labels, 1)[0] += by;
  }
  /** Subtracts `by` (default 1) from the series of `labels`. */
  dec(labels?: Labels, by = 1): void {
    this.slots(labels, 1)[0] -= by;
  }
  /** The current value of the series of `labels`. */
  value(labels?: Labels): number {
    return this.slots(labels, 1)[0];
  }
}

/**
 * A histogram family from {@linkcode Metrics.prototype.histogram}.
 *
 * @example Usage
 * ```ts
 * import { Metrics } from "@palisade/server";
 * new Metrics().histogram("palisade_store_duration_seconds", "Store latency.").observe(0.001);
 * ```
 */
export class Histogram extends MetricFamily {
  /** Always `"histogram"`. */
  readonly kind: "histogram" = "histogram";
  readonly #bounds: readonly number[];

  /** Creates the family; use {@linkcode Metrics.prototype.histogram}. */
  constructor(
    name: string,
    help: string,
    labels: readonly string[],
    maxSeries?: number,
    buckets: readonly number[] = DEFAULT_DURATION_BUCKETS,
  ) {
    super(name, help, labels, maxSeries);
    this.#bounds = buckets;
  }

  /** Records `value` (seconds) in the series of `labels`. */
  observe(value: number, labels?: Labels): void {
    const bounds = this.#bounds;
    // slots: per-bucket counts (+Inf last), then sum, then count.
    const slots = this.slots(labels, bounds.length + 3);
    if (!(value >= 0)) value = 0;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    slots[i]++;
    slots[bounds.length + 1] += value;
    slots[bounds.length + 2]++;
  }

  /** How many values the series of `labels` has recorded. */
  count(labels?: Labels): number {
    return this.slots(labels, this.#bounds.length + 3)[this.#bounds.length + 2];
  }

  /** Appends the bucket, sum and count lines of one series. */
  protected override renderSeries(
    out: string[],
    labels: string,
    slots: number[],
  ): void {
    const n = this.#bounds.length;
    const sep = labels ? labels + "," : "";
    let cumulative = 0;
    for (let i = 0; i <= n; i++) {
      cumulative += slots[i];
      const le = i === n ? "+Inf" : formatNumber(this.#bounds[i]);
      out.push(
        `${this.name}_bucket{${sep}le="${le}"} ${formatNumber(cumulative)}`,
      );
    }
    const braces = labels ? `{${labels}}` : "";
    out.push(`${this.name}_sum${braces} ${formatNumber(slots[n + 1])}`);
    out.push(`${this.name}_count${braces} ${formatNumber(slots[n + 2])}`);
  }
}
