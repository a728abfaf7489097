/**
 * The upstream pool: each upstream's address, weight, load and health, and
 * the load-balancing strategies that pick one for a request.
 *
 * An upstream is *in rotation* when its active health state is healthy and
 * it is not passively ejected. Picks choose among upstreams in rotation; when
 * none is (every healthy one ejected), they fall back to every healthy one
 * (panic mode: ejection is a guess, a health check is evidence). When no
 * upstream is healthy there is nothing to pick.
 *
 * @module
 */

import type { Strategy } from "./options.ts";
import type { FailureCause } from "./wire/conn.ts";
import { ConnPool } from "./wire/pool.ts";

export type { FailureCause };

/** Active health state of an upstream. */
export type Health = "healthy" | "unhealthy";

/** Status classes used as the `status_class` metric label. */
export type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "error";

/**
 * What ended a WebSocket tunnel, as the `closed_by` metric label: either
 * side closing or going away, the idle timeout, a shutdown (the server's or
 * the proxy's `close()`), or an error (a broken frame, a limit, a slow
 * reader).
 */
export type TunnelEnd = "client" | "upstream" | "idle" | "shutdown" | "error";

/** One upstream server and its load-balancing state. */
export class Upstream {
  /** Scheme, host and port, e.g. `http://127.0.0.1:3001`. */
  readonly origin: string;
  /** The URL's path without its trailing `/`; `""` for the root. */
  readonly base: string;
  /** Host name or IP address to connect to (IPv6 without brackets). */
  readonly hostname: string;
  /** TCP port to connect to (the scheme's default when the URL has none). */
  readonly port: number;
  /** Whether connections use TLS (`https:`). */
  readonly tls: boolean;
  /** The `Host` field for requests that do not keep the client's. */
  readonly host: string;
  /** The metric label and log name: origin plus path, no credentials. */
  readonly label: string;
  /** Relative share of the traffic. */
  readonly weight: number;
  /** Exchanges in flight (connecting, waiting or streaming the response). */
  inflight = 0;
  /** Smooth weighted round-robin counter. */
  current = 0;
  /** Active health state. */
  health: Health = "healthy";
  /** Consecutive passed (positive) or failed (negative) probes. */
  streak = 0;
  /** Consecutive failed exchanges, for outlier ejection. */
  failures = 0;
  /** Ejections in a row (the backoff exponent). */
  ejections = 0;
  /** `performance.now()` when the current ejection ends; 0 = not ejected. */
  ejectedUntil = 0;
  /** `performance.now()` when the last ejection ended. */
  readmittedAt = 0;
  /** `{ upstream }` metric labels. */
  readonly labels: { readonly upstream: string };
  /** `{ upstream, status_class }` labels by class. */
  readonly classLabels: Readonly<
    Record<StatusClass, { upstream: string; status_class: StatusClass }>
  >;
  /** `{ upstream, cause }` labels by failure cause. */
  readonly causeLabels: Readonly<
    Record<FailureCause, { upstream: string; cause: FailureCause }>
  >;

  /** `{ upstream, closed_by }` labels by tunnel end. */
  readonly endLabels: Readonly<
    Record<TunnelEnd, { upstream: string; closed_by: TunnelEnd }>
  >;

  /**
   * Idle keep-alive connections of the proxy's own HTTP/1.1 client, for an
   * `http:` upstream; null for `https:` (Deno's fetch pools those).
   */
  readonly pool: ConnPool | null;

  /**
   * Creates the state of the upstream at `url`, keeping at most `maxIdle`
   * idle connections to it.
   */
  constructor(url: URL, weight: number, maxIdle: number) {
    this.origin = url.origin;
    this.tls = url.protocol === "https:";
    this.host = url.host;
    const name = url.hostname;
    this.hostname = name.startsWith("[") ? name.slice(1, -1) : name;
    this.port = url.port === "" ? (this.tls ? 443 : 80) : Number(url.port);
    this.pool = this.tls ? null : new ConnPool(maxIdle);
    const path = url.pathname;
    this.base = path.endsWith("/") ? path.slice(0, -1) : path;
    this.label = this.origin + this.base;
    this.weight = weight;
    const upstream = this.label;
    this.labels = Object.freeze({ upstream });
    const cls = (status_class: StatusClass) =>
      Object.freeze({ upstream, status_class });
    this.classLabels = Object.freeze({
      "1xx": cls("1xx"),
      "2xx": cls("2xx"),
      "3xx": cls("3xx"),
      "4xx": cls("4xx"),
      "5xx": cls("5xx"),
      error: cls("error"),
    });
    const cause = (cause: FailureCause) => Object.freeze({ upstream, cause });
    this.causeLabels = Object.freeze({
      connect: cause("connect"),
      reset: cause("reset"),
      timeout: cause("timeout"),
      protocol: cause("protocol"),
    });
    const end = (closed_by: TunnelEnd) =>
      Object.freeze({ upstream, closed_by });
    this.endLabels = Object.freeze({
      client: end("client"),
      upstream: end("upstream"),
      idle: end("idle"),
      shutdown: end("shutdown"),
      error: end("error"),
    });
  }
}

/** Which upstreams a pick may choose from. */
type Tier = "rotation" | "healthy";

/** The upstreams of one proxy and its strategy. */
export class Pool {
  /** Every upstream, in configuration order. */
  readonly list: readonly Upstream[];
  readonly #strategy: Strategy;
  readonly #onChange: (u: Upstream) => void;
  /** Rotating start for least-connections ties. */
  #next = 0;

  /**
   * Creates a pool picking by `strategy`; `onChange` is called when an
   * upstream comes back into rotation because its ejection ran out.
   */
  constructor(
    list: readonly Upstream[],
    strategy: Strategy,
    onChange: (u: Upstream) => void,
  ) {
    this.list = list;
    this.#strategy = strategy;
    this.#onChange = onChange;
  }

  /**
   * Whether `u` takes traffic at `now` (`performance.now()` ms): healthy and
   * not ejected. Ends an ejection that has run out.
   */
  inRotation(u: Upstream, now: number): boolean {
    if (u.health !== "healthy") return false;
    if (u.ejectedUntil === 0) return true;
    if (now < u.ejectedUntil) return false;
    u.ejectedUntil = 0;
    u.readmittedAt = now;
    this.#onChange(u);
    return true;
  }

  /** How many upstreams other than `except` are in rotation at `now`. */
  othersInRotation(except: Upstream, now: number): number {
    let n = 0;
    for (const u of this.list) {
      if (u !== except && this.inRotation(u, now)) n++;
    }
    return n;
  }

  /**
   * Picks an upstream, skipping those in `tried`; null when every healthy
   * upstream is excluded or none is healthy.
   */
  pick(tried: readonly Upstream[] | null): Upstream | null {
    const now = performance.now();
    let tier: Tier = "rotation";
    if (this.#count(tier, tried, now) === 0) {
      tier = "healthy";
      if (this.#count(tier, tried, now) === 0) return null;
    }
    switch (this.#strategy) {
      case "round_robin":
        return this.#smooth(tier, tried, now);
      case "least_connections":
        return this.#least(tier, tried, now);
      case "random_two_choices":
        return this.#twoChoices(tier, tried, now);
    }
  }

  #eligible(
    u: Upstream,
    tier: Tier,
    tried: readonly Upstream[] | null,
    now: number,
  ): boolean {
    if (tried !== null && tried.includes(u)) return false;
    return tier === "rotation"
      ? this.inRotation(u, now)
      : u.health === "healthy";
  }

  #count(tier: Tier, tried: readonly Upstream[] | null, now: number): number {
    let n = 0;
    for (const u of this.list) if (this.#eligible(u, tier, tried, now)) n++;
    return n;
  }

  /** nginx's smooth weighted round robin. */
  #smooth(
    tier: Tier,
    tried: readonly Upstream[] | null,
    now: number,
  ): Upstream {
    let total = 0;
    let best: Upstream | null = null;
    for (const u of this.list) {
      if (!this.#eligible(u, tier, tried, now)) continue;
      u.current += u.weight;
      total += u.weight;
      if (best === null || u.current > best.current) best = u;
    }
    best!.current -= total;
    return best!;
  }

  /** Fewest in-flight exchanges per unit of weight; ties round robin. */
  #least(tier: Tier, tried: readonly Upstream[] | null, now: number): Upstream {
    const list = this.list;
    const start = this.#next++ % list.length;
    if (this.#next >= list.length) this.#next = 0;
    let best: Upstream | null = null;
    for (let k = 0; k < list.length; k++) {
      const u = list[(start + k) % list.length];
      if (!this.#eligible(u, tier, tried, now)) continue;
      if (best === null || lighter(u, best)) best = u;
    }
    return best!;
  }

  /** Power of two choices: two distinct random upstreams, the lighter wins. */
  #twoChoices(
    tier: Tier,
    tried: readonly Upstream[] | null,
    now: number,
  ): Upstream {
    const n = this.#count(tier, tried, now);
    const a = this.#nth(Math.floor(Math.random() * n), tier, tried, now);
    if (n === 1) return a;
    let j = Math.floor(Math.random() * (n - 1));
    const i = this.list.indexOf(a);
    // Map j over the eligible upstreams other than a.
    let b: Upstream | null = null;
    for (let k = 0; k < this.list.length; k++) {
      const u = this.list[k];
      if (k === i || !this.#eligible(u, tier, tried, now)) continue;
      if (j-- === 0) {
        b = u;
        break;
      }
    }
    return lighter(b!, a) ? b! : a;
  }

  #nth(
    index: number,
    tier: Tier,
    tried: readonly Upstream[] | null,
    now: number,
  ): Upstream {
    for (const u of this.list) {
      if (this.#eligible(u, tier, tried, now) && index-- === 0) return u;
    }
    throw new Error("unreachable: fewer eligible upstreams than counted");
  }
}

/** Whether `a` has fewer in-flight exchanges per unit of weight than `b`. */
function lighter(a: Upstream, b: Upstream): boolean {
  return a.inflight * b.weight < b.inflight * a.weight;
}
