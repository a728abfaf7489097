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
export {
  HttpError,
  type HttpErrorOptions,
  problem,
  statusText,
} from "./src/errors.ts";
export {
  DEFAULT_LIMITS,
  type Limits,
  type RejectReason,
  resolveLimits,
} from "./src/limits.ts";
export {
  Body,
  type BodyReadOptions,
  type BodySource,
  type FormReadOptions,
  type JsonReadOptions,
  type RejectHook,
} from "./src/body.ts";
export {
  type Disposition,
  isJsonType,
  type MediaType,
  parseContentDisposition,
  parseMediaType,
} from "./src/content_type.ts";
export { parseJson } from "./src/json.ts";
export { parseMultipart, parseUrlEncoded } from "./src/form.ts";
export {
  DEFAULT_DURATION_BUCKETS,
  Metrics,
  type MetricsOptions,
} from "./src/metrics.ts";
export {
  accessLog,
  type AccessLogContext,
  type AccessLogHook,
  type AccessLogOptions,
} from "./src/access_log.ts";
export { resolveClientAddr, type TrustProxyOptions } from "./src/proxy.ts";
export {
  isValidRequestId,
  MAX_REQUEST_ID_LENGTH,
  newRequestId,
} from "./src/request_id.ts";
export {
  serve,
  type ServeOptions,
  type Server,
  type ShutdownOptions,
  type ShutdownReport,
  type TlsOptions,
} from "./src/server.ts";
export type { H1Options } from "./src/transport/h1/options.ts";
export type {
  ConnectionMetrics,
  FetchHandler,
  RemoteAddr,
  RequestSource,
  Servable,
  ServeInfo,
} from "./src/types.ts";
export type { Inflight } from "./src/deadline.ts";
