/**
 * Test upstreams: real `Deno.serve` servers on 127.0.0.1:0, and a clock
 * whose sleeps return at once and are recorded.
 *
 * @module
 */

import type { Clock } from "../../src/client/mod.ts";

/** A running upstream. */
export interface Upstream {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Requests it received. */
  readonly hits: number;
  close(): Promise<void>;
}

/** Starts an upstream answering with `handler`; `hits` counts requests. */
export function upstream(
  handler: (req: Request, hit: number) => Response | Promise<Response>,
): Upstream {
  let hits = 0;
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen() {},
  }, (req) => handler(req, ++hits));
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    get hits() {
      return hits;
    },
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}

/** A port nothing listens on (bound, then closed). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** A fake clock: `sleep` records the wait, advances `now` and returns at once. */
export function fakeClock(start = 1_700_000_000_000): Clock & {
  sleeps: number[];
  t: number;
} {
  const clock = {
    t: start,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep(ms: number, signal: AbortSignal): Promise<void> {
      if (signal.aborted) return Promise.reject(signal.reason);
      clock.sleeps.push(ms);
      clock.t += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

/** A body stream that sends `chunks` with a pause between them. */
export function trickle(
  chunks: string[],
  pauseMs: number,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream({
    async pull(c) {
      if (i > 0) {
        await new Promise<void>((r) => {
          timer = setTimeout(r, pauseMs);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            r();
          }, { once: true });
        });
      }
      if (signal.aborted || i >= chunks.length) return c.close();
      c.enqueue(enc.encode(chunks[i++]));
    },
    cancel() {
      clearTimeout(timer);
    },
  });
}

/** Resolves when `signal` aborts (e.g. the client went away). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((r) => {
    if (signal.aborted) r();
    else signal.addEventListener("abort", () => r(), { once: true });
  });
}
