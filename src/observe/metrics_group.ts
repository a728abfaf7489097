/**
 * Metrics of several workers in one process, gathered for one scrape. Every
 * worker serving the same App (the workers of `serve(app, { workers })`,
 * or the threads of `deno serve --parallel`) joins a group on a
 * `BroadcastChannel`; a scrape of any worker's `app.metrics.handler()` asks
 * every peer for its `metrics.text()` and answers with the sum
 * (`mergeExpositions`), plus `palisade_metrics_workers`: how many workers
 * the sum covers.
 *
 * Presence: a joining worker says `hello` and every peer answers `here`; a
 * leaving one says `bye`. A scrape waits for every known peer, at most
 * {@linkcode GATHER_TIMEOUT_MS}; a peer that did not answer in time is
 * forgotten until it speaks again (a crashed worker never says `bye`).
 * Metrics that are not in any group (a single process) are never touched:
 * the handler renders them as before, without a channel.
 *
 * @module
 */

import { expositionResponse } from "./exposition.ts";
import { mergeExpositions } from "./merge.ts";

/** How long a scrape waits for the peers' answers, in ms. */
export const GATHER_TIMEOUT_MS = 1_000;
/**
 * How long after joining a scrape first waits for the peers' `here`
 * answers to the `hello`, in ms, so the first scrape of a worker that just
 * joined counts the peers already there.
 */
const SETTLE_MS = 50;
const PROTOCOL = "palisade-metrics/1";

/** What the registry must offer: its own exposition. */
export interface TextSource {
  text(): string;
}

type Message =
  | { p: typeof PROTOCOL; t: "hello" | "here" | "bye"; from: string }
  | { p: typeof PROTOCOL; t: "ask"; from: string; q: number }
  | {
    p: typeof PROTOCOL;
    t: "answer";
    from: string;
    to: string;
    q: number;
    text: string;
  };

interface Pending {
  waiting: Set<string>;
  texts: string[];
  done: () => void;
}

const groups = new WeakMap<TextSource, Group>();

/**
 * The handler of `metrics.handler()`: the registry's own exposition, at
 * once, or the sum over its group while it is in one.
 */
export function scrapeHandler(
  metrics: TextSource,
): () => Response | Promise<Response> {
  return () => {
    const group = groups.get(metrics);
    return group === undefined
      ? expositionResponse(metrics.text())
      : group.gather().then(expositionResponse);
  };
}

/**
 * Joins `metrics` to the group `key` (every worker of one server uses the
 * same key) and returns the function that leaves it again, which closes the
 * channel so it no longer keeps the process alive. Joining twice returns
 * the first membership's leave.
 */
export function joinMetricsGroup(metrics: TextSource, key: string): () => void {
  let group = groups.get(metrics);
  if (group === undefined) {
    group = new Group(metrics, key);
    groups.set(metrics, group);
  }
  const joined = group;
  return () => {
    if (groups.get(metrics) === joined) groups.delete(metrics);
    joined.leave();
  };
}

class Group {
  readonly #metrics: TextSource;
  readonly #channel: BroadcastChannel;
  readonly #id = crypto.randomUUID();
  readonly #peers = new Set<string>();
  readonly #pending = new Map<number, Pending>();
  #settled: Promise<void> | null;
  #seq = 0;
  #open = true;

  constructor(metrics: TextSource, key: string) {
    this.#metrics = metrics;
    this.#channel = new BroadcastChannel(`palisade:metrics:${key}`);
    this.#channel.onmessage = (e: MessageEvent) => this.#receive(e.data);
    this.#post({ p: PROTOCOL, t: "hello", from: this.#id });
    this.#settled = new Promise((resolve) => {
      const timer = setTimeout(resolve, SETTLE_MS);
      Deno.unrefTimer(timer);
    });
  }

  async gather(): Promise<string> {
    if (this.#settled !== null) {
      await this.#settled;
      this.#settled = null;
    }
    const texts = [this.#metrics.text()];
    if (this.#open && this.#peers.size > 0) {
      const q = ++this.#seq;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          // A peer that did not answer in time is forgotten until it speaks.
          for (const peer of pending.waiting) this.#peers.delete(peer);
          this.#pending.delete(q);
          resolve();
        }, GATHER_TIMEOUT_MS);
        const pending: Pending = {
          waiting: new Set(this.#peers),
          texts,
          done: () => {
            clearTimeout(timer);
            this.#pending.delete(q);
            resolve();
          },
        };
        this.#pending.set(q, pending);
        this.#post({ p: PROTOCOL, t: "ask", from: this.#id, q });
      });
    }
    return mergeExpositions(texts) +
      "# HELP palisade_metrics_workers Workers whose metrics this scrape sums.\n" +
      "# TYPE palisade_metrics_workers gauge\n" +
      `palisade_metrics_workers ${texts.length}\n`;
  }

  leave(): void {
    if (!this.#open) return;
    this.#post({ p: PROTOCOL, t: "bye", from: this.#id });
    this.#open = false;
    this.#channel.close();
    for (const pending of this.#pending.values()) pending.done();
  }

  #post(message: Message): void {
    if (this.#open) this.#channel.postMessage(message);
  }

  #receive(data: unknown): void {
    const m = data as Message;
    if (m === null || typeof m !== "object" || m.p !== PROTOCOL) return;
    const from = m.from;
    switch (m.t) {
      case "bye":
        this.#peers.delete(from);
        for (const pending of this.#pending.values()) {
          if (pending.waiting.delete(from) && pending.waiting.size === 0) {
            pending.done();
          }
        }
        return;
      case "hello":
        this.#peers.add(from);
        this.#post({ p: PROTOCOL, t: "here", from: this.#id });
        return;
      case "here":
        this.#peers.add(from);
        return;
      case "ask":
        this.#peers.add(from);
        this.#post({
          p: PROTOCOL,
          t: "answer",
          from: this.#id,
          to: from,
          q: m.q,
          text: this.#metrics.text(),
        });
        return;
      case "answer": {
        if (m.to !== this.#id) return;
        this.#peers.add(from);
        const pending = this.#pending.get(m.q);
        if (pending === undefined) return;
        pending.texts.push(m.text);
        pending.waiting.delete(from);
        if (pending.waiting.size === 0) pending.done();
      }
    }
  }
}
