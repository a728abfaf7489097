/**
 * Static files for Palisade: {@linkcode serveStatic} serves a directory with
 * safe path resolution, conditional and range requests, precompressed
 * variants and optional listings.
 *
 * @example Usage
 * ```ts ignore
 * import { App } from "@palisade/server";
 * import { serveStatic } from "@palisade/server/static";
 * const app = new App();
 * app.get("/assets/*", serveStatic({ root: "./public" }));
 * ```
 *
 * @module
 */

export { serveStatic } from "./serve_static.ts";
export type {
  DotfilesPolicy,
  EtagMode,
  PrecompressedEncoding,
  ServeStaticOptions,
} from "./options.ts";
export type { Middleware } from "../context/context.ts";
