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
} from "./src/app/app.ts";
export {
  Context,
  type Handler,
  type Middleware,
  type Next,
  type RedirectOptions,
  type ResponseOptions,
  type SseOptions,
  type ValidTarget,
} from "./src/context/context.ts";
export type {
  SseMessage,
  SseWriter,
  StreamSource,
} from "./src/context/stream.ts";
export {
  HttpError,
  type HttpErrorOptions,
  problem,
} from "./src/http/errors.ts";
export { statusText } from "./src/http/status.ts";
export {
  DEFAULT_LIMITS,
  type Limits,
  type RejectReason,
  resolveLimits,
} from "./src/http/limits.ts";
export {
  Body,
  type BodyReadOptions,
  type BodySource,
  type FormReadOptions,
  type JsonReadOptions,
  type RejectHook,
} from "./src/body/body.ts";
export {
  type Disposition,
  isJsonType,
  type MediaType,
  parseContentDisposition,
  parseMediaType,
} from "./src/body/content_type.ts";
export { parseJson } from "./src/body/json.ts";
export { parseMultipart, parseUrlEncoded } from "./src/body/form.ts";
export {
  Counter,
  DEFAULT_DURATION_BUCKETS,
  type FamilyKind,
  type FamilyOptions,
  Gauge,
  Histogram,
  type HistogramOptions,
  type Labels,
  MetricFamily,
  Metrics,
  type MetricsOptions,
} from "./src/observe/metrics.ts";
export {
  accessLog,
  type AccessLogContext,
  type AccessLogHook,
  type AccessLogOptions,
} from "./src/observe/access_log.ts";
export {
  resolveClientAddr,
  type TrustProxyOptions,
} from "./src/net/client_addr.ts";
export {
  isValidRequestId,
  MAX_REQUEST_ID_LENGTH,
  newRequestId,
} from "./src/http/request_id.ts";
export {
  serve,
  type ServeOptions,
  type Server,
  type ShutdownOptions,
  type ShutdownReport,
  type TlsOptions,
} from "./src/server/serve.ts";
export type { H1Options } from "./src/transport/h1/options.ts";
export type {
  ConnectionMetrics,
  FetchHandler,
  RemoteAddr,
  RequestSource,
  Servable,
  ServeInfo,
} from "./src/transport/contract.ts";
export type { Inflight } from "./src/app/inflight.ts";
