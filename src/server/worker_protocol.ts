/**
 * The messages between the main thread of a worker group and its workers
 * (`serve(app, { workers })`), and what both sides share: the options a
 * member serves with, the metrics group name, and request/answer calls
 * over `postMessage`.
 *
 * @module
 */

import type { App } from "../app/app.ts";
import type {
  ServeOptions,
  Server,
  ShutdownReport,
  TlsOptions,
} from "./options.ts";

/** Marks Palisade's messages among any others a Worker may post. */
export const TAG = "palisade-worker/1";

/** Serves one App in this thread: `serve()` without workers. */
export type ServeOne = (app: App<object>, options: ServeOptions) => Server;

/** From the main thread to a worker. */
export type ToWorker =
  | { tag: typeof TAG; type: "shutdown"; graceMs?: number }
  | { tag: typeof TAG; type: "reloadTls"; id: number; tls?: TlsOptions };
/** From a worker to the main thread. */
export type ToMain =
  | { tag: typeof TAG; type: "listening" }
  | { tag: typeof TAG; type: "finished"; report: ShutdownReport }
  | { tag: typeof TAG; type: "failed"; error: string }
  | { tag: typeof TAG; type: "shutdown"; graceMs?: number }
  | { tag: typeof TAG; type: "reloadTls"; id: number; tls?: TlsOptions }
  | { tag: typeof TAG; type: "reloaded"; id: number; error?: string };
/** The answer to a `reloadTls` request, in either direction. */
export type Reloaded = {
  tag: typeof TAG;
  type: "reloaded";
  id: number;
  error?: string;
};

/** The options a member of the group serves with. */
export function memberOptions(
  options: ServeOptions,
  port: number,
): ServeOptions {
  return {
    ...options,
    workers: 1,
    port,
    reusePort: true,
    shutdown: { ...options.shutdown, signals: [] },
  };
}

/** The name of the metrics group of the workers serving `port`. */
export function groupKey(port: number): string {
  return `serve:${port}`;
}

/** The message of `error`, to post across threads. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Requests answered by a `reloaded` message with the same id. */
export class Calls {
  #next = 0;
  readonly #pending = new Map<
    number,
    { resolve: () => void; reject: (e: Error) => void }
  >();

  start(send: (id: number) => void): Promise<void> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      send(id);
    });
  }

  failAll(message: string): void {
    for (const call of this.#pending.values()) call.reject(new Error(message));
    this.#pending.clear();
  }

  settle(m: Reloaded): void {
    const call = this.#pending.get(m.id);
    if (call === undefined) return;
    this.#pending.delete(m.id);
    if (m.error === undefined) call.resolve();
    else call.reject(new Error(m.error));
  }
}
