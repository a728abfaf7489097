/**
 * Graceful shutdown for an App served by `deno serve` (`export default
 * app`), where no `serve()` is in charge: on SIGTERM or SIGINT the App
 * drains the way `serve()` does (SSE streams end cleanly, WebSockets close
 * 1001, other requests and streams get the grace period), then cuts what is
 * left, so the process exits instead of waiting on an open stream forever.
 * A second signal cuts at once. The App's metrics join the group of the
 * `deno serve --parallel` threads, so a scrape of any thread sums them all;
 * it leaves the group once drained.
 *
 * @module
 */

/** What draining needs of the App. */
export interface Drainable {
  drain(): void;
  idle(): Promise<void>;
  abortAll(): number;
}

/** Options of {@linkcode drainOnSignals}. */
export interface DrainOptions {
  /** How long in-flight requests get after a signal, in ms. */
  graceMs: number;
  /** Called once drained (or cut). */
  onDrained?: () => void;
}

/** Installs the signal listeners; they remove themselves once drained. */
export function drainOnSignals(app: Drainable, options: DrainOptions): void {
  const { graceMs, onDrained } = options;
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let drained = false;
  const done = (): void => {
    clearTimeout(timer);
    app.abortAll();
    if (!drained) {
      drained = true;
      onDrained?.();
    }
    for (const s of signals) {
      try {
        Deno.removeSignalListener(s, onSignal);
      } catch { /* already removed */ }
    }
  };
  const onSignal = (): void => {
    if (timer !== undefined) {
      done(); // a second signal: cut now
      return;
    }
    app.drain();
    timer = setTimeout(done, graceMs);
    app.idle().then(done);
  };
  for (const s of signals) {
    try {
      Deno.addSignalListener(s, onSignal);
    } catch { /* signals unavailable: keep Deno's own behaviour */ }
  }
}
