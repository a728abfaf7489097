/**
 * Palisade: a hardened HTTP server framework for Deno. Request limits with
 * exact status codes, deadlines with cancellation, graceful shutdown that
 * drains, metrics, and a strict HTTP/1.1 engine with timeouts.
 *
 * @example Usage
 * ```ts ignore
 * import { App, serve } from "@palisade/server";
 * const app = new App();
 * app.get("/users/:id", (ctx) => ctx.json({ id: ctx.params.id }));
 * serve(app, { port: 8000 });
 * ```
 *
 * @module
 */

export {
  App,
  type AppHooks,
  type AppOptions,
  type RejectInfo,
  type RouteOptions,
  shutdownReason,
} from "./src/app.ts";
export {
  Context,
  type Handler,
  type Next,
  type RedirectOptions,
  type ResponseOptions,
  type SseOptions,
} from "./src/context.ts";
export type { SseMessage, SseWriter, StreamSource } from "./src/stream.ts";
export { HttpError, type HttpErrorOptions, problem, statusText } from "./src/errors.ts";
export {
  DEFAULT_LIMITS,
  type Limits,
  type RejectReason,
  resolveLimits,
} from "./src/limits.ts";
export {
  Body,
  type BodyReadOptions,
  type FormReadOptions,
  type JsonReadOptions,
} from "./src/body.ts";
export { type MediaType, parseMediaType } from "./src/content_type.ts";
export { Metrics, type MetricsOptions } from "./src/metrics.ts";
export { accessLog, type AccessLogOptions } from "./src/access_log.ts";
export type { TrustProxyOptions } from "./src/proxy.ts";
export type { RemoteAddr, ServeInfo } from "./src/types.ts";
