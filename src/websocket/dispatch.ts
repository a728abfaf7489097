/**
 * Calls the application's WebSocket event handlers so that nothing they
 * throw or reject escapes: errors are reported with `console.error`.
 *
 * @module
 */

import type { WSContext, WSEvents } from "./types.ts";

const noop = (): void => {};

/**
 * Calls `events[name](event, ws)`; returns a promise that settles (never
 * rejects) when the handler is async, for callers that bound pending work.
 *
 * @example Usage
 * ```ts ignore
 * dispatch(events, "onMessage", { type: "message", data: "hi" }, ws);
 * ```
 */
export function dispatch<K extends keyof WSEvents>(
  events: WSEvents,
  name: K,
  event: Parameters<NonNullable<WSEvents[K]>>[0],
  ws: WSContext,
): Promise<void> | undefined {
  const fn = events[name] as
    | ((event: unknown, ws: WSContext) => unknown)
    | undefined;
  if (fn === undefined) return undefined;
  try {
    const result = fn.call(events, event, ws);
    if (result instanceof Promise) {
      return result.then(noop, (error) => report(name, error));
    }
  } catch (error) {
    report(name, error);
  }
  return undefined;
}

function report(name: string, error: unknown): void {
  console.error(`Palisade: the WebSocket ${name} handler threw`, error);
}
