/**
 * Graceful shutdown for an App served by `deno serve` (`export default
 * app`), where no `serve()` is in charge: on SIGTERM or SIGINT the App
 * drains the way `serve()` does (SSE streams end cleanly, WebSockets close
 * 1001, other requests and streams get the grace period), then cuts what is
 * left, so the process exits instead of waiting on an open stream forever.
 * A second signal cuts at once.
 *
 * @module
 */

/** What draining needs of the App. */
export interface Drainable {
  drain(): void;
  idle(): Promise<void>;
  abortAll(): number;
}

/** Installs the signal listeners; they remove themselves once drained. */
export function drainOnSignals(app: Drainable, graceMs: number): void {
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = (): void => {
    clearTimeout(timer);
    app.abortAll();
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
