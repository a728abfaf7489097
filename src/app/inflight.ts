/**
 * The in-flight registry: every request whose response has not completed, kept
 * in intrusive lists sorted by deadline, with one shared timer for all of them.
 *
 * Requests with the same `deadlineMs` are appended in arrival order, so each
 * list is sorted by deadline without any search: adding and removing are O(1)
 * pointer updates and need no timer per request. One unref'd timer is armed
 * for the earliest head of all lists; when it fires it expires every due
 * request and re-arms for the next earliest head.
 *
 * @module
 */

/** Epoch ms on the monotonic clock the App stamps deadlines with. */
function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A request tracked by the registry. The App's exchange implements it. */
export interface Inflight {
  /** Epoch ms at which the request expires; `Infinity` for none. */
  deadline: number;
  /** Previous item of its list. */
  prev: Inflight | null;
  /** Next item of its list. */
  next: Inflight | null;
  /** The list it is in; null when not tracked. */
  list: DeadlineList | null;
  /** Called once when the deadline passes while the request is still in flight. */
  expire(): void;
}

/** Requests sharing one `deadlineMs`, oldest first. */
export class DeadlineList {
  /** Oldest request, first to expire. */
  head: Inflight | null = null;
  /** Newest request. */
  tail: Inflight | null = null;
  /** The deadline budget of every request in this list; 0 = none. */
  readonly ms: number;
  /** The registry this list belongs to. */
  readonly registry: InflightRegistry;

  /**
   * Creates a list for requests of `ms` budget.
   *
   * @example Usage
   * ```ts
   * import { InflightRegistry } from "./inflight.ts";
   * const list = new InflightRegistry().list(30_000);
   * list.ms; // 30000
   * ```
   */
  constructor(registry: InflightRegistry, ms: number) {
    this.registry = registry;
    this.ms = ms;
  }
}

/**
 * Tracks every in-flight request and fires deadlines with a single timer.
 *
 * @example Usage
 * ```ts
 * import { InflightRegistry } from "./inflight.ts";
 * const registry = new InflightRegistry();
 * registry.size; // 0
 * ```
 */
export class InflightRegistry {
  /** Number of requests currently tracked. */
  size = 0;
  #lists: DeadlineList[] = [];
  #byMs = new Map<number, DeadlineList>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #idle: (() => void)[] = [];
  #holds = 0;

  /** Returns the (shared) list for requests with `ms` deadline budget; 0 = no deadline. */
  list(ms: number): DeadlineList {
    let list = this.#byMs.get(ms);
    if (list === undefined) {
      list = new DeadlineList(this, ms);
      this.#byMs.set(ms, list);
      this.#lists.push(list);
    }
    return list;
  }

  /** Appends `item` (whose `deadline` is set) to `list`. */
  add(list: DeadlineList, item: Inflight): void {
    item.list = list;
    item.next = null;
    item.prev = list.tail;
    if (list.tail === null) list.head = item;
    else list.tail.next = item;
    list.tail = item;
    this.size++;
    if (list.ms > 0 && item.deadline < this.#timerAt) this.#arm(item.deadline);
  }

  /** Removes `item` if it is tracked; safe to call twice. */
  remove(item: Inflight): void {
    const list = item.list;
    if (list === null) return;
    if (item.prev === null) list.head = item.next;
    else item.prev.next = item.next;
    if (item.next === null) list.tail = item.prev;
    else item.next.prev = item.prev;
    item.prev = item.next = item.list = null;
    if (--this.size === 0 && this.#idle.length > 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when nothing is in flight (at once when already so). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Calls `fn` for a snapshot of every tracked request. */
  forEach(fn: (item: Inflight) => void): void {
    const all: Inflight[] = [];
    for (const list of this.#lists) {
      for (let i = list.head; i !== null; i = i.next) all.push(i);
    }
    for (const item of all) fn(item);
  }

  /**
   * Keeps the process alive while deadlines are pending, for callers that
   * have no listener doing so (`app.request()`); pair with {@linkcode release}.
   */
  hold(): void {
    if (this.#holds++ === 0 && this.#timer !== undefined) {
      Deno.refTimer?.(this.#timer);
    }
  }

  /** Ends a {@linkcode hold}. */
  release(): void {
    if (--this.#holds === 0 && this.#timer !== undefined) {
      Deno.unrefTimer?.(this.#timer);
    }
  }

  /** Stops the shared timer; requests keep their deadlines until re-armed. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    const timer = setTimeout(this.#fire, Math.max(0, at - epochNow()));
    // A listener keeps servers alive; the timer alone must not, unless held.
    if (this.#holds === 0) Deno.unrefTimer?.(timer);
    this.#timer = timer;
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = epochNow();
    let next = Infinity;
    for (const list of this.#lists) {
      if (list.ms === 0) continue;
      let item = list.head;
      while (item !== null && item.deadline <= now) {
        this.remove(item);
        item.expire();
        item = list.head;
      }
      if (item !== null && item.deadline < next) next = item.deadline;
    }
    if (next !== Infinity) this.#arm(next);
  };
}
