/**
 * Active health checks: one unref'd interval timer per proxy probes every
 * upstream with `GET path`, and moves an upstream between healthy and
 * unhealthy after `unhealthyAfter` failed or `healthyAfter` passed probes in
 * a row. A round's probes share one abort controller and one timeout.
 *
 * @module
 */

import type { HealthConfig } from "./config.ts";
import type { Pool, Upstream } from "./upstreams.ts";

/** Runs the health checks of one pool until {@linkcode HealthChecker.close}. */
export class HealthChecker {
  readonly #pool: Pool;
  readonly #config: HealthConfig;
  readonly #client: Deno.HttpClient;
  readonly #onChange: (u: Upstream) => void;
  readonly #interval: ReturnType<typeof setInterval>;
  #round: Promise<void> | null = null;
  #abort: AbortController | null = null;
  #closed = false;

  /**
   * Starts checking at once and then every `config.intervalMs`; `onChange`
   * is called after an upstream's health state changed.
   */
  constructor(
    pool: Pool,
    config: HealthConfig,
    client: Deno.HttpClient,
    onChange: (u: Upstream) => void,
  ) {
    this.#pool = pool;
    this.#config = config;
    this.#client = client;
    this.#onChange = onChange;
    this.#interval = setInterval(() => this.#tick(), config.intervalMs);
    Deno.unrefTimer(this.#interval);
    this.#tick();
  }

  /** Stops the timer, aborts probes in flight and waits for them to settle. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#interval);
    this.#abort?.abort(new DOMException("Proxy closed", "AbortError"));
    await this.#round;
  }

  #tick(): void {
    // A round still running (its probes are bounded by timeoutMs, at most
    // intervalMs) is not overlapped.
    if (this.#round !== null || this.#closed) return;
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new DOMException("Probe timed out", "TimeoutError")),
      this.#config.timeoutMs,
    );
    Deno.unrefTimer(timer);
    this.#abort = ac;
    this.#round = Promise.all(
      this.#pool.list.map((u) => this.#probe(u, ac.signal)),
    ).then(() => {
      clearTimeout(timer);
      this.#abort = null;
      this.#round = null;
      // Readmissions whose ejection ran out show up in the gauge here even
      // without traffic.
      const now = performance.now();
      for (const u of this.#pool.list) this.#pool.inRotation(u, now);
    });
  }

  async #probe(u: Upstream, signal: AbortSignal): Promise<void> {
    let ok = false;
    try {
      const res = await fetch(u.origin + this.#config.path, {
        client: this.#client,
        signal,
        redirect: "manual",
        headers: { "accept-encoding": "identity" },
      });
      await res.body?.cancel();
      const expect = this.#config.expect;
      ok = expect === null
        ? res.status >= 200 && res.status < 300
        : expect.has(res.status);
    } catch {
      ok = false;
    }
    if (this.#closed) return;
    this.#record(u, ok);
  }

  #record(u: Upstream, ok: boolean): void {
    if (ok) {
      u.streak = u.streak > 0 ? u.streak + 1 : 1;
      if (u.health === "unhealthy" && u.streak >= this.#config.healthyAfter) {
        u.health = "healthy";
        this.#onChange(u);
      }
    } else {
      u.streak = u.streak < 0 ? u.streak - 1 : -1;
      if (u.health === "healthy" && -u.streak >= this.#config.unhealthyAfter) {
        u.health = "unhealthy";
        this.#onChange(u);
      }
    }
  }
}
