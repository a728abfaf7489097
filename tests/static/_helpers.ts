/**
 * Shared pieces of the static-file tests: the committed fixture tree, an App
 * serving it, and temporary directories for tests that write files.
 *
 * Fixture layout (`tests/fixtures/static/`): `secret.txt` outside the root;
 * `root/` with `index.html`, `hello.txt`, `app.js` (+ `.br`, `.gz`),
 * `.env`, `.hidden/secret.txt`, `docs/index.html`, `noindex/a.txt`,
 * `sub/nested.txt`, and the symlinks `link_in.txt -> hello.txt`,
 * `link_sub -> sub`, `link_out.txt -> ../secret.txt`, `link_up -> ..`,
 * `link_etc -> /etc`.
 *
 * @module
 */

import { App } from "../../src/app/app.ts";
import { serveStatic } from "../../src/static/mod.ts";
import type { ServeStaticOptions } from "../../src/static/options.ts";

/** The served fixture root (no trailing slash). */
export const ROOT: string = new URL("../fixtures/static/root", import.meta.url)
  .pathname;

/** A file just outside {@linkcode ROOT} that must never be served. */
export const SECRET = "TOP SECRET outside root";

/** An App with `serveStatic` on `/assets/*` over `root` (default ROOT). */
export function staticApp(
  options: Partial<ServeStaticOptions> = {},
): App {
  const app = new App();
  app.get("/assets/*", serveStatic({ root: ROOT, ...options }));
  return app;
}

/** Whether this run may write files (`deno task test` lacks --allow-write). */
export const canWrite: boolean =
  Deno.permissions.querySync({ name: "write" }).state === "granted";

/** Message for tests ignored without write permission. */
export const NEEDS_WRITE = "needs --allow-write, which the test task lacks";

/** Runs `fn` with a fresh temporary directory (real path), removed after. */
export async function withTempDir(
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = Deno.realPathSync(
    await Deno.makeTempDir({ prefix: "palisade_static_" }),
  );
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
