/**
 * Circuit breakers, one per upstream origin: a failure rate over a rolling
 * window opens the breaker; after a cool-down a bounded number of probes
 * decide whether it closes again.
 *
 * @module
 */

import type { BreakerSettings } from "./options.ts";

/**
 * State of a breaker: `"closed"` lets everything through, `"open"` refuses
 * everything, `"half-open"` lets `halfOpenProbes` attempts through.
 */
export type BreakerState = "closed" | "open" | "half-open";

/**
 * What an admitted attempt holds: a normal pass, or a probe of one
 * half-open round (a probe that outlives its round settles nothing).
 */
export type Permit = { readonly kind: "pass" } | {
  readonly kind: "probe";
  readonly round: number;
};

/** The permit of every attempt through a closed breaker. */
export const PASS: Permit = Object.freeze({ kind: "pass" });

/** How an attempt ended, for the breaker. */
export type Outcome = "success" | "failure" | "ignored";

/** Buckets of the rolling window. */
const BUCKETS = 10;

/** Most origins tracked; the least recently used is dropped beyond it. */
export const MAX_ORIGINS = 1000;

/** The breaker of one origin. */
export class Breaker {
  /** Current state; changes are reported to `onChange`. */
  state: BreakerState = "closed";
  readonly #s: BreakerSettings;
  readonly #onChange: (state: BreakerState) => void;
  readonly #width: number;
  /** Per bucket: the window slot it counts, attempts and failures. */
  readonly #slot = new Float64Array(BUCKETS).fill(-1);
  readonly #total = new Uint32Array(BUCKETS);
  readonly #failed = new Uint32Array(BUCKETS);
  #openedAt = 0;
  /** Half-open: probes out and probes that succeeded. */
  #probing = 0;
  #probed = 0;
  /** Half-open rounds so far. */
  #round = 0;

  /** Creates a closed breaker. */
  constructor(
    settings: BreakerSettings,
    onChange: (state: BreakerState) => void,
  ) {
    this.#s = settings;
    this.#onChange = onChange;
    this.#width = Math.max(1, settings.windowMs / BUCKETS);
  }

  /**
   * Admits an attempt at `now` (epoch ms), or returns null when refused.
   * An open breaker whose cool-down has passed turns half-open here.
   */
  acquire(now: number): Permit | null {
    if (this.state === "closed") return PASS;
    if (this.state === "open") {
      if (now - this.#openedAt < this.#s.cooldownMs) return null;
      this.#probing = this.#probed = 0;
      this.#round++;
      this.#set("half-open");
    }
    if (this.#probing + this.#probed >= this.#s.halfOpenProbes) return null;
    this.#probing++;
    return { kind: "probe", round: this.#round };
  }

  /** Milliseconds until a refused attempt could be admitted (0 when probes are out). */
  retryAfterMs(now: number): number {
    if (this.state !== "open") return 0;
    return Math.max(0, this.#s.cooldownMs - (now - this.#openedAt));
  }

  /** Records how an attempt admitted with `permit` ended. */
  settle(permit: Permit, outcome: Outcome, now: number): void {
    if (permit.kind === "probe") {
      if (this.state !== "half-open" || permit.round !== this.#round) return;
      this.#probing--;
      if (outcome === "failure") this.#open(now);
      else if (
        outcome === "success" && ++this.#probed >= this.#s.halfOpenProbes
      ) {
        this.#slot.fill(-1);
        this.#set("closed");
      }
      return;
    }
    // A pass admitted before the breaker opened says nothing about now.
    if (this.state !== "closed" || outcome === "ignored") return;
    const slot = Math.floor(now / this.#width);
    const i = slot % BUCKETS;
    if (this.#slot[i] !== slot) {
      this.#slot[i] = slot;
      this.#total[i] = this.#failed[i] = 0;
    }
    this.#total[i]++;
    if (outcome === "success") return;
    this.#failed[i]++;
    let total = 0;
    let failed = 0;
    for (let b = 0; b < BUCKETS; b++) {
      if (this.#slot[b] > slot - BUCKETS) {
        total += this.#total[b];
        failed += this.#failed[b];
      }
    }
    if (total >= this.#s.minRequests && failed >= this.#s.failureRate * total) {
      this.#open(now);
    }
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#set("open");
  }

  #set(state: BreakerState): void {
    if (this.state === state) return;
    this.state = state;
    this.#onChange(state);
  }
}

/** The breakers of one client, by origin, at most {@linkcode MAX_ORIGINS}. */
export class Breakers {
  readonly #s: BreakerSettings;
  readonly #onChange: (origin: string, state: BreakerState) => void;
  readonly #byOrigin = new Map<string, Breaker>();

  /**
   * Creates an empty set; `onChange` hears every state change, and
   * `"closed"` for each new breaker.
   */
  constructor(
    settings: BreakerSettings,
    onChange: (origin: string, state: BreakerState) => void,
  ) {
    this.#s = settings;
    this.#onChange = onChange;
  }

  /** The breaker of `origin` (created closed on first use). */
  of(origin: string): Breaker {
    const map = this.#byOrigin;
    let breaker = map.get(origin);
    if (breaker !== undefined) {
      // Keep the map in least-recently-used order.
      map.delete(origin);
      map.set(origin, breaker);
      return breaker;
    }
    if (map.size >= MAX_ORIGINS) map.delete(map.keys().next().value!);
    breaker = new Breaker(this.#s, (state) => this.#onChange(origin, state));
    map.set(origin, breaker);
    this.#onChange(origin, "closed");
    return breaker;
  }
}
