/**
 * A counting gate with a bounded FIFO queue: at most `max` holders at once,
 * at most `queue` waiters behind them. Used by `concurrencyLimit()` and by
 * the App's `maxInFlight` option.
 *
 * @module
 */

import { nonNegativeInt, positiveInt } from "./validate.ts";

/** Why a gate refused to admit. */
export type ShedReason = "queue_full" | "queue_timeout";

/** A refusal by a {@linkcode Gate}; `reason` says which. */
export class ShedError extends Error {
  /** `"queue_full"`: every slot and queue place was taken; `"queue_timeout"`: queued too long. */
  readonly reason: ShedReason;

  /** Creates the error for `reason`. */
  constructor(reason: ShedReason, message: string) {
    super(message);
    this.name = "ShedError";
    this.reason = reason;
  }
}

/** Options of {@linkcode Gate}. */
export interface GateOptions {
  /** Most holders at once; a positive integer. */
  max: number;
  /** Most waiters; 0 = none (refuse at once when full). Default 0. */
  queue?: number;
  /** Most ms a waiter waits; 0 = no limit but its signal. Default 0. */
  queueTimeoutMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Admits at most `max` holders; callers `enter` (or `tryEnter`) before the
 * work and `leave` exactly once after it. When full, up to `queue` callers
 * wait in arrival order; a waiter leaves the queue when admitted, when it
 * has waited `queueTimeoutMs`, or when its `signal` aborts, so the queue
 * never holds abandoned waiters.
 *
 * @example Usage
 * ```ts ignore
 * const gate = new Gate({ max: 100 });
 * if (!gate.tryEnter()) return problem(503, "Server is busy");
 * try { return await work(); } finally { gate.leave(); }
 * ```
 */
export class Gate {
  readonly #max: number;
  readonly #queueMax: number;
  readonly #timeoutMs: number;
  #active = 0;
  /** Insertion-ordered: FIFO, with O(1) removal of an aborted waiter. */
  readonly #waiters = new Set<Waiter>();

  /**
   * Creates a gate.
   *
   * @throws {TypeError} when an option is invalid, naming it.
   */
  constructor(options: GateOptions) {
    const { max, queue = 0, queueTimeoutMs = 0 } = options;
    this.#max = positiveInt("max", max);
    this.#queueMax = nonNegativeInt("queue", queue);
    this.#timeoutMs = nonNegativeInt("queueTimeoutMs", queueTimeoutMs);
  }

  /** Holders now. */
  get active(): number {
    return this.#active;
  }

  /** Waiters now. */
  get queued(): number {
    return this.#waiters.size;
  }

  /** Takes a slot if one is free (and nobody waits for it); false otherwise. */
  tryEnter(): boolean {
    if (this.#active < this.#max && this.#waiters.size === 0) {
      this.#active++;
      return true;
    }
    return false;
  }

  /**
   * Takes a slot, waiting in the queue when none is free. Resolves once the
   * slot is held; rejects with a {@linkcode ShedError} when the queue is
   * full or the wait exceeds `queueTimeoutMs`, or with `signal.reason` when
   * `signal` aborts first (the caller then holds nothing).
   */
  enter(signal?: AbortSignal): Promise<void> {
    if (this.tryEnter()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.size >= this.#queueMax) {
      return Promise.reject(
        new ShedError(
          "queue_full",
          `All ${this.#max} slots and ${this.#queueMax} queue places are taken`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (this.#timeoutMs > 0) {
        w.timer = setTimeout(() => {
          this.#drop(w);
          reject(
            new ShedError(
              "queue_timeout",
              `Waited the queueTimeoutMs of ${this.#timeoutMs} ms for a slot`,
            ),
          );
        }, this.#timeoutMs);
      }
      if (signal !== undefined) {
        w.onAbort = () => {
          this.#drop(w);
          reject(signal.reason);
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.#waiters.add(w);
    });
  }

  /** Gives a slot back: the first waiter takes it, or it is freed. */
  leave(): void {
    for (const w of this.#waiters) {
      this.#drop(w);
      w.resolve();
      return;
    }
    if (this.#active > 0) this.#active--;
  }

  #drop(w: Waiter): void {
    this.#waiters.delete(w);
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (w.onAbort !== undefined) {
      w.signal!.removeEventListener("abort", w.onAbort);
    }
  }
}
