/**
 * The abort scope of a call (or of one attempt): an AbortController that
 * follows outside signals and, optionally, a timer; disposed when the call
 * is over so nothing outlives it.
 *
 * @module
 */

/** An AbortController linked to other signals and a timeout. */
export class Scope {
  readonly #ac = new AbortController();
  readonly #links: AbortSignal[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #follow = (event: Event): void => {
    this.#ac.abort((event.target as AbortSignal).reason);
  };

  /**
   * Follows each of `signals`; after `timeoutMs` (0 = never) aborts with
   * `timeout()`. Already aborted signals abort the scope at once.
   */
  constructor(
    signals: readonly (AbortSignal | null | undefined)[],
    timeoutMs: number,
    timeout: () => unknown,
  ) {
    for (const signal of signals) {
      if (signal === null || signal === undefined) continue;
      if (signal.aborted) {
        this.#ac.abort(signal.reason);
        break;
      }
      signal.addEventListener("abort", this.#follow);
      this.#links.push(signal);
    }
    if (timeoutMs > 0 && !this.#ac.signal.aborted) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#ac.abort(timeout());
      }, timeoutMs);
    }
  }

  /** Aborts when a followed signal aborts or the timer fires. */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  /** Stops the timer; the links stay. */
  clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the timer and unlinks every followed signal. Idempotent. */
  dispose(): void {
    this.clearTimer();
    for (const s of this.#links) s.removeEventListener("abort", this.#follow);
    this.#links.length = 0;
  }
}
