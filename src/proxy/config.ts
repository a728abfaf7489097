/**
 * Validation of the proxy's options: every option is checked once, when
 * `proxy()` is called, and a bad one throws a `TypeError` naming it and the
 * value; the result has every default filled in.
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import type { Metrics } from "../observe/metrics.ts";
import type {
  ForwardedMode,
  HealthCheckOptions,
  KeepAliveOptions,
  OutlierOptions,
  ProxyOptions,
  Strategy,
  UpstreamInit,
  WebSocketProxyOptions,
} from "./options.ts";

/** Validated active-check settings. */
export interface HealthConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyAfter: number;
  healthyAfter: number;
  /** Passing statuses; null = any 2xx. */
  expect: ReadonlySet<number> | null;
}

/** Validated outlier settings; `consecutiveFailures` 0 = off. */
export interface OutlierConfig {
  consecutiveFailures: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
}

/** Validated WebSocket settings. */
export interface WebSocketConfig {
  idleTimeoutMs: number;
  maxMessageBytes: number;
  maxBufferedBytes: number;
}

/** Every option, validated, with defaults filled in. */
export interface ProxyConfig {
  upstreams: { url: URL; weight: number }[];
  strategy: Strategy;
  health: HealthConfig | null;
  outlier: OutlierConfig;
  timeoutMs: number;
  retries: number;
  retryIdempotent: boolean;
  preserveHost: boolean;
  /** Extra trusted roots for https upstreams; empty = none. */
  caCerts: string[];
  rewritePath: ((ctx: Context) => string) | null;
  forwarded: ForwardedMode;
  websocket: WebSocketConfig;
  keepAlive: { maxIdle: number; idleTimeoutMs: number };
  metrics: Metrics | null;
}

const STRATEGIES: readonly Strategy[] = [
  "round_robin",
  "least_connections",
  "random_two_choices",
];
const FORWARDED: readonly ForwardedMode[] = [
  "x-forwarded",
  "forwarded",
  "both",
  false,
];

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function integer(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (
    !Number.isSafeInteger(value) || (value as number) < min ||
    (value as number) > max
  ) {
    const range = max === Number.MAX_SAFE_INTEGER
      ? min === 0 ? "a non-negative integer" : `an integer of at least ${min}`
      : `an integer from ${min} to ${max}`;
    throw new TypeError(`Option ${name} must be ${range}, got ${show(value)}`);
  }
  return value as number;
}

function object<T>(
  name: string,
  value: T | false | undefined,
): T | false | undefined {
  if (value === undefined || value === false) return value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Option ${name} must be an object or false, got ${show(value)}`,
    );
  }
  return value;
}

/** The URL with any password hidden, for error messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === "" && u.password === "") return url;
    u.username = "***";
    u.password = "";
    return u.href;
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//***@");
  }
}

function upstream(
  entry: string | UpstreamInit,
  i: number,
): { url: URL; weight: number } {
  const name = `upstreams[${i}]`;
  let raw: unknown = entry;
  let weight: unknown = 1;
  if (typeof entry === "object" && entry !== null) {
    raw = entry.url;
    weight = entry.weight ?? 1;
  }
  if (typeof raw !== "string") {
    throw new TypeError(
      `Option ${name} must be a URL string or { url, weight }, got ${
        show(raw)
      }`,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(
      `Option ${name} must be an absolute URL, got ${show(redact(raw))}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Option ${name} must be an http: or https: URL, got ${show(redact(raw))}`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError(
      `Option ${name} must not contain credentials, got ${show(redact(raw))}`,
    );
  }
  if (
    url.search !== "" || url.hash !== "" || raw.includes("?") ||
    raw.includes("#")
  ) {
    throw new TypeError(
      `Option ${name} must not have a query or fragment, got ${show(raw)}`,
    );
  }
  return { url, weight: integer(`${name}.weight`, weight, 1, 1000) };
}

function health(
  options: HealthCheckOptions | false | undefined,
): HealthConfig | null {
  const h = object("healthCheck", options);
  if (h === undefined || h === false) return null;
  const path = h.path ?? "/";
  if (typeof path !== "string" || !path.startsWith("/") || /[\s#]/.test(path)) {
    throw new TypeError(
      `Option healthCheck.path must be a path starting with "/", got ${
        show(path)
      }`,
    );
  }
  const intervalMs = integer(
    "healthCheck.intervalMs",
    h.intervalMs ?? 5_000,
    1,
  );
  const timeoutMs = integer(
    "healthCheck.timeoutMs",
    h.timeoutMs ?? Math.min(2_000, intervalMs),
    1,
    intervalMs,
  );
  let expect: Set<number> | null = null;
  if (h.expectStatus !== undefined) {
    const list = typeof h.expectStatus === "number"
      ? [h.expectStatus]
      : h.expectStatus;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError(
        `Option healthCheck.expectStatus must be a status code or a non-empty list of them, got ${
          show(h.expectStatus)
        }`,
      );
    }
    expect = new Set(
      list.map((s, i) =>
        integer(`healthCheck.expectStatus[${i}]`, s, 100, 599)
      ),
    );
  }
  return {
    path,
    intervalMs,
    timeoutMs,
    unhealthyAfter: integer(
      "healthCheck.unhealthyAfter",
      h.unhealthyAfter ?? 3,
      1,
    ),
    healthyAfter: integer("healthCheck.healthyAfter", h.healthyAfter ?? 2, 1),
    expect,
  };
}

function outlier(options: OutlierOptions | false | undefined): OutlierConfig {
  const o = object("outlier", options);
  if (o === false) {
    return { consecutiveFailures: 0, baseEjectionMs: 1, maxEjectionMs: 1 };
  }
  const base = integer(
    "outlier.baseEjectionMs",
    o?.baseEjectionMs ?? 30_000,
    1,
  );
  const max = o?.maxEjectionMs ?? Math.max(300_000, base);
  if (!Number.isSafeInteger(max) || max < base) {
    throw new TypeError(
      `Option outlier.maxEjectionMs must be an integer of at least baseEjectionMs (${base}), got ${
        show(max)
      }`,
    );
  }
  return {
    consecutiveFailures: integer(
      "outlier.consecutiveFailures",
      o?.consecutiveFailures ?? 5,
      0,
    ),
    baseEjectionMs: base,
    maxEjectionMs: max,
  };
}

function keepAlive(
  options: KeepAliveOptions | undefined,
): { maxIdle: number; idleTimeoutMs: number } {
  const k = object("keepAlive", options);
  if (k === false) {
    throw new TypeError("Option keepAlive must be an object, got false");
  }
  return {
    maxIdle: integer("keepAlive.maxIdle", k?.maxIdle ?? 256, 0, 100_000),
    idleTimeoutMs: integer(
      "keepAlive.idleTimeoutMs",
      k?.idleTimeoutMs ?? 60_000,
      0,
      2_147_483_647,
    ),
  };
}

function websocket(
  options: WebSocketProxyOptions | undefined,
): WebSocketConfig {
  const w = object("websocket", options);
  if (w === false) {
    throw new TypeError("Option websocket must be an object, got false");
  }
  return {
    idleTimeoutMs: integer(
      "websocket.idleTimeoutMs",
      w?.idleTimeoutMs ?? 60_000,
      0,
      2_147_483_647,
    ),
    maxMessageBytes: integer(
      "websocket.maxMessageBytes",
      w?.maxMessageBytes ?? 1 << 20,
      1,
    ),
    maxBufferedBytes: integer(
      "websocket.maxBufferedBytes",
      w?.maxBufferedBytes ?? 1 << 20,
      1,
    ),
  };
}

/**
 * Validates `options` and fills in the defaults.
 *
 * @throws {TypeError} naming the first invalid option and its value.
 */
export function resolveOptions(options: ProxyOptions): ProxyConfig {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Options of proxy() must be an object, got ${show(options)}`,
    );
  }
  const list = options.upstreams;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(
      `Option upstreams must be a non-empty list, got ${show(list)}`,
    );
  }
  const upstreams = list.map(upstream);
  const seen = new Set<string>();
  for (const [i, u] of upstreams.entries()) {
    if (seen.has(u.url.href)) {
      throw new TypeError(`Option upstreams[${i}] repeats ${show(u.url.href)}`);
    }
    seen.add(u.url.href);
  }
  const strategy = options.strategy ?? "round_robin";
  if (!STRATEGIES.includes(strategy)) {
    throw new TypeError(
      `Option strategy must be one of ${STRATEGIES.map(show).join(", ")}, got ${
        show(strategy)
      }`,
    );
  }
  const retry = object("retry", options.retry);
  const idempotent = retry === false ? false : retry?.idempotent ?? true;
  if (typeof idempotent !== "boolean") {
    throw new TypeError(
      `Option retry.idempotent must be a boolean, got ${show(idempotent)}`,
    );
  }
  const preserveHost = options.preserveHost ?? false;
  if (typeof preserveHost !== "boolean") {
    throw new TypeError(
      `Option preserveHost must be a boolean, got ${show(preserveHost)}`,
    );
  }
  const caCerts = options.caCerts ?? [];
  if (
    !Array.isArray(caCerts) ||
    caCerts.some((c) => typeof c !== "string" || !c.includes("-----BEGIN"))
  ) {
    throw new TypeError(
      `Option caCerts must be a list of PEM certificates, got ${show(caCerts)}`,
    );
  }
  const rewritePath = options.rewritePath ?? null;
  if (rewritePath !== null && typeof rewritePath !== "function") {
    throw new TypeError(
      `Option rewritePath must be a function, got ${show(rewritePath)}`,
    );
  }
  const forwarded = options.forwarded ?? "x-forwarded";
  if (!FORWARDED.includes(forwarded)) {
    throw new TypeError(
      `Option forwarded must be "x-forwarded", "forwarded", "both" or false, got ${
        show(forwarded)
      }`,
    );
  }
  const metrics = options.metrics ?? null;
  if (
    metrics !== null &&
    (typeof metrics !== "object" || typeof metrics.counter !== "function")
  ) {
    throw new TypeError(
      `Option metrics must be a Metrics registry, got ${show(metrics)}`,
    );
  }
  return {
    upstreams,
    strategy,
    health: health(options.healthCheck),
    outlier: outlier(options.outlier),
    timeoutMs: integer("timeoutMs", options.timeoutMs ?? 30_000, 0),
    retries: retry === false
      ? 0
      : integer("retry.attempts", retry?.attempts ?? 2, 0, 100),
    retryIdempotent: idempotent,
    preserveHost,
    caCerts: [...caCerts],
    rewritePath,
    forwarded,
    websocket: websocket(options.websocket),
    keepAlive: keepAlive(options.keepAlive),
    metrics,
  };
}
