/**
 * One shared timer that checks every WebSocket session of an
 * `upgradeWebSocket()` route for silence, instead of a timer per socket
 * reset on every message: a session only sets a flag when bytes arrive, and
 * the timer, running while at least one session is registered, turns
 * silence into a ping and an unanswered ping into a close.
 *
 * @module
 */

/** What a {@linkcode Heartbeat} drives. */
export interface HeartbeatMember {
  /** Called on every tick with the time since the previous one, in ms. */
  beat(stepMs: number): void;
}

/** Shortest tick, in ms. */
const MIN_STEP_MS = 10;

/**
 * Ticks every quarter of `timeoutMs` (at least 10 ms) while it has members,
 * so silence is noticed between `timeoutMs` and 1.25 × `timeoutMs`.
 *
 * @example Usage
 * ```ts
 * import { Heartbeat } from "./heartbeat.ts";
 * const hb = new Heartbeat(30_000);
 * const member = { beat(_step: number) {} };
 * hb.add(member); // the timer starts
 * hb.delete(member); // and stops with the last member
 * ```
 */
export class Heartbeat {
  /** The silence that triggers a ping, and the wait for its answer, in ms. */
  readonly timeoutMs: number;
  #step: number;
  #members = new Set<HeartbeatMember>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A heartbeat for sessions with this idle timeout (positive, in ms). */
  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.#step = Math.max(MIN_STEP_MS, Math.floor(timeoutMs / 4));
  }

  /** Registers `member`; starts the timer if it is the first. */
  add(member: HeartbeatMember): void {
    this.#members.add(member);
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#tick, this.#step);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Unregisters `member`; stops the timer after the last one. */
  delete(member: HeartbeatMember): void {
    if (this.#members.delete(member) && this.#members.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #tick = (): void => {
    const step = this.#step;
    for (const m of this.#members) m.beat(step);
  };
}
