/**
 * Certificate reload for a running server: `server.reloadTls()` and the
 * file watch of `tls.watch`. Reloads run one at a time; a pair that does
 * not load is refused and the certificates in force stay.
 *
 * @module
 */

import type { Metrics } from "../observe/metrics.ts";
import type { TlsPem, Transport } from "../transport/types.ts";
import type { TlsOptions } from "./options.ts";
import { readTls, tlsFiles } from "./tls.ts";

/** Quiet time after the last change of a watched file before reloading, in ms. */
export const WATCH_DEBOUNCE_MS = 200;

/** Reloads the certificates of one transport. */
export class TlsReloader {
  #transport: Transport;
  #metrics: Metrics;
  #options: TlsOptions;
  #queue: Promise<unknown> = Promise.resolve();
  #watcher: Deno.FsWatcher | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The certificate text last loaded, to skip events that changed nothing. */
  #loaded = "";
  /** The text last refused by the watch, refused once, not at every event. */
  #refused = "";

  /** Reloads `transport` from `options` (the `tls` given to `serve()`). */
  constructor(transport: Transport, metrics: Metrics, options: TlsOptions) {
    this.#transport = transport;
    this.#metrics = metrics;
    this.#options = options;
  }

  /** Reads `tls` (default: the files given at start) and reloads. */
  reload(tls: TlsOptions = this.#options): Promise<void> {
    const run = this.#queue.then(async () => {
      try {
        const pem = readTls(tls);
        await this.#transport.reloadTls(pem);
        this.#loaded = JSON.stringify(pem);
        this.#metrics.tlsReload("ok");
      } catch (e) {
        this.#metrics.tlsReload("failed");
        throw e;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Watches the directories of the certificate files; any change there
   * reloads after {@linkcode WATCH_DEBOUNCE_MS} (directories, not files:
   * renames and Kubernetes' symlink swaps replace the files).
   *
   * @throws {TypeError} when the certificates are inline PEM.
   */
  watch(): void {
    const files = tlsFiles(this.#options);
    this.#loaded = JSON.stringify(readTls(this.#options));
    const dirs = [...new Set(files.map(directoryOf))];
    const watcher = Deno.watchFs(dirs, { recursive: false });
    this.#watcher = watcher;
    (async () => {
      try {
        for await (const _ of watcher) this.#schedule();
      } catch { /* closed */ }
    })();
  }

  /** Stops the watch. */
  close(): void {
    clearTimeout(this.#timer);
    try {
      this.#watcher?.close();
    } catch { /* already closed */ }
    this.#watcher = null;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#changed(), WATCH_DEBOUNCE_MS);
  }

  async #changed(): Promise<void> {
    let pem: TlsPem | Error;
    try {
      pem = readTls(this.#options);
    } catch (e) {
      pem = e as Error;
    }
    const text = pem instanceof Error ? String(pem) : JSON.stringify(pem);
    // Another file of the directory changed, not the certificates.
    if (text === this.#loaded || text === this.#refused) return;
    try {
      if (pem instanceof Error) {
        this.#metrics.tlsReload("failed");
        throw pem;
      }
      await this.reload(pem);
    } catch (e) {
      this.#refused = text;
      refused(e);
    }
  }
}

function refused(e: unknown): void {
  console.error(
    `Palisade: the changed TLS certificate was refused, the previous one stays in force: ${
      e instanceof Error ? e.message : String(e)
    }`,
  );
}

function directoryOf(path: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return slash === -1 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}
