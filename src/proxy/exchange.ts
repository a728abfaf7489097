/**
 * One attempt to an upstream, from the connect to the last byte of the
 * response body: its abort controller (fired by the proxy's shared deadline
 * timer, the client going away or the App's deadline), its place in the
 * proxy's in-flight registry, and the relay of the response body.
 *
 * @module
 */

import type { DeadlineList, Inflight } from "../app/inflight.ts";
import type { Families } from "./metrics.ts";
import type { FailureCause, Upstream } from "./upstreams.ts";
import type { UpstreamConn } from "./wire/conn.ts";

/** What the proxy does when an attempt ends; implemented by the proxy. */
export interface ExchangeHost {
  /** The attempt ended: `cause` null when it completed or the client left. */
  ended(ex: Exchange, cause: FailureCause | null): void;
  /** The proxy's `timeoutMs`, for the abort reason. */
  readonly timeoutMs: number;
}

/** An attempt in flight. */
export class Exchange implements Inflight {
  /** Epoch ms at which `timeoutMs` runs out. */
  deadline: number;
  /** Previous item of its deadline list. */
  prev: Inflight | null = null;
  /** Next item of its deadline list. */
  next: Inflight | null = null;
  /** The deadline list it is in. */
  list: DeadlineList | null = null;
  /** The upstream this attempt goes to. */
  readonly upstream: Upstream;
  /** `performance.now()` at the start. */
  readonly start: number;
  /** Aborts the upstream fetch and its body; made when first asked for. */
  #ac: AbortController | null = null;
  /** Why the attempt was aborted; undefined while it was not. */
  #reason: unknown = undefined;
  /** Whether the attempt was aborted (timeout, client gone, App deadline). */
  aborted = false;
  /** Where this attempt is recorded; undefined when metrics are off. */
  readonly families: Families | undefined;
  /** Whether `timeoutMs` ran out. */
  timedOut = false;
  /** Whether the upstream's response head arrived. */
  answered = false;
  /** Whether its response body is being relayed to the client. */
  relaying = false;
  /**
   * The proxy's own upstream connection while the attempt uses it (http
   * upstreams); an abort closes it, which fails whatever waits on it.
   */
  conn: UpstreamConn | null = null;
  readonly #host: ExchangeHost;
  readonly #client: AbortSignal;
  #ended = false;
  /** Errors the relayed body and cancels the upstream's; set while relaying. */
  #cut: ((reason: unknown) => void) | null = null;

  /** Starts an attempt to `upstream`; aborts when `client` does. */
  constructor(
    host: ExchangeHost,
    upstream: Upstream,
    client: AbortSignal,
    start: number,
    families: Families | undefined,
  ) {
    this.#host = host;
    this.families = families;
    this.upstream = upstream;
    this.start = start;
    this.deadline = host.timeoutMs === 0
      ? Infinity
      : performance.timeOrigin + start + host.timeoutMs;
    this.#client = client;
    client.addEventListener("abort", this);
  }

  /** Called by the registry when `timeoutMs` has passed. */
  expire(): void {
    this.timedOut = true;
    this.#abort(
      new DOMException(
        `Upstream exchange exceeded the timeoutMs of ${this.#host.timeoutMs} ms`,
        "TimeoutError",
      ),
    );
  }

  /** The client's signal aborted (client gone, App deadline, shutdown). */
  handleEvent(): void {
    this.#abort(this.#client.reason);
  }

  /** The signal for `fetch` and connects: aborts with the attempt. */
  get signal(): AbortSignal {
    if (this.#ac === null) {
      this.#ac = new AbortController();
      if (this.aborted) this.#ac.abort(this.#reason);
    }
    return this.#ac.signal;
  }

  #abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#reason = reason;
    this.conn?.close();
    this.#ac?.abort(reason);
    // Deno's fetch does not always fail a body read already waiting when
    // its signal aborts (measured: about one run in six kept streaming), so
    // the relayed body is cut here too.
    this.#cut?.(reason);
  }

  /** Ends the attempt once; later calls do nothing. */
  end(cause: FailureCause | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#client.removeEventListener("abort", this);
    this.#host.ended(this, cause);
  }

  /**
   * Relays the upstream response body, ending the attempt when it ends: a
   * failure (reset, or the timeout's abort) errors the relayed stream, so
   * the transport aborts the client's transfer instead of ending it cleanly.
   */
  relay(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#cut = (reason) => {
          this.#cut = null;
          this.end(this.timedOut ? "timeout" : null);
          controller.error(reason);
          reader.cancel(reason).catch(() => {});
        };
      },
      pull: async (controller) => {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (error) {
          if (this.#cut === null) return; // cut already
          this.#cut = null;
          this.end(
            this.timedOut ? "timeout" : this.#client.aborted ? null : "reset",
          );
          controller.error(error);
          return;
        }
        if (this.#cut === null) return;
        if (r.done) {
          this.#cut = null;
          this.end(null);
          controller.close();
        } else {
          controller.enqueue(r.value);
        }
      },
      cancel: (reason) => {
        this.#cut = null;
        this.end(null);
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }
}
