/**
 * Metric families registered by middleware, the client and the proxy:
 * counters, gauges and histograms with bounded label sets, rendered into
 * an App's `/metrics` by its registry.
 *
 * @module
 */

import { DEFAULT_DURATION_BUCKETS } from "./conventions.ts";
import { escapeLabel, formatNumber } from "./exposition.ts";

/** What a metric name may look like. */
export const METRIC_NAME: RegExp = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** What a label name may look like. */
export const LABEL_NAME: RegExp = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Names the App's registry renders itself. */
export const BUILT_IN: ReadonlySet<string> = new Set([
  "http_server_request_duration_seconds",
  "http_server_active_requests",
  "palisade_rejections_total",
  "palisade_deadline_exceeded_total",
  "palisade_connections_active",
  "palisade_connections_total",
  "palisade_accept_errors_total",
  "palisade_metrics_workers", // added to a scrape summed over workers
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
  /** Bucket upper bounds in seconds. Default 5 ms to 10 s, as `DEFAULT_DURATION_BUCKETS`. */
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
