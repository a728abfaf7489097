/**
 * One coarse timer shared by every connection of an h1 listener: instead of a
 * `setTimeout` per connection per read, each connection keeps a deadline in a
 * field, and a single interval sweeps them.
 *
 * @module
 */

/** Something with a deadline the {@linkcode Sweeper} watches. */
export interface Timed {
  /** Epoch ms at which {@linkcode Timed.onDeadline} is due; 0 for none. */
  deadline: number;
  /** Called by a sweep once `deadline` has passed; must clear or move it. */
  onDeadline(now: number): void;
}

/** Shortest sweep interval in ms, whatever the timeouts. */
export const MIN_TICK_MS = 10;
/** Longest sweep interval in ms, whatever the timeouts. */
export const MAX_TICK_MS = 1000;

/**
 * Returns the sweep interval for a set of timeouts: a quarter of the shortest
 * enabled one, within {@linkcode MIN_TICK_MS} and {@linkcode MAX_TICK_MS}, so
 * a deadline fires at most that late.
 *
 * @example Usage
 * ```ts
 * import { tickFor } from "./sweeper.ts";
 * tickFor([10_000, 5_000, 30_000]); // 1000
 * tickFor([300]); // 75
 * ```
 */
export function tickFor(timeoutsMs: number[]): number {
  let min = Infinity;
  for (const t of timeoutsMs) if (t > 0 && t < min) min = t;
  const tick = Math.floor(min / 4);
  return tick < MIN_TICK_MS
    ? MIN_TICK_MS
    : tick > MAX_TICK_MS
    ? MAX_TICK_MS
    : tick;
}

/**
 * A set of {@linkcode Timed} items swept by one `setInterval`. The interval
 * runs only while the set is non-empty: it starts with the first
 * {@linkcode Sweeper.add} and is cleared by the last
 * {@linkcode Sweeper.delete}, so an idle server holds no timer.
 *
 * @example Usage
 * ```ts
 * import { Sweeper } from "./sweeper.ts";
 * const sweeper = new Sweeper(100);
 * const item = { deadline: Date.now() + 200, onDeadline() { item.deadline = 0; sweeper.delete(item); } };
 * sweeper.add(item); // fires within 200 + 100 ms
 * ```
 */
export class Sweeper {
  /** The sweep interval in ms. */
  readonly tickMs: number;
  /**
   * A coarse clock: epoch ms of the last sweep (or of the first
   * {@linkcode Sweeper.add}), at most one tick behind `Date.now()`.
   */
  now: number = Date.now();
  #items = new Set<Timed>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweep = (): void => {
    const now = this.now = Date.now();
    for (const item of this.#items) {
      const d = item.deadline;
      if (d !== 0 && d <= now) {
        try {
          item.onDeadline(now);
        } catch {
          // A failing item must not stop the sweep of the others.
        }
      }
    }
  };

  /** Creates a sweeper with the given interval in ms (at least 1). */
  constructor(tickMs: number) {
    this.tickMs = Math.max(1, tickMs);
  }

  /** Number of items watched. */
  get size(): number {
    return this.#items.size;
  }

  /** Starts watching `item`. */
  add(item: Timed): void {
    this.#items.add(item);
    if (this.#timer === undefined) {
      this.now = Date.now();
      this.#timer = setInterval(this.#sweep, this.tickMs);
    }
  }

  /**
   * The deadline `ms` from now on the coarse clock, never early: it passes
   * between `ms` and `ms` plus two ticks from now. 0 for `ms` 0 (none).
   */
  after(ms: number): number {
    return ms > 0 ? this.now + ms + this.tickMs : 0;
  }

  /** Stops watching `item`; clears the interval when none is left. */
  delete(item: Timed): void {
    this.#items.delete(item);
    if (this.#items.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
