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

export { App, shutdownReason } from "./src/app/app.ts";
export type { RouteAdder, Step, Validator } from "./src/app/route_types.ts";
export type {
  AppHooks,
  AppOptions,
  RejectInfo,
  RouteOptions,
} from "./src/app/options.ts";
export {
  Context,
  type DefaultState,
  type Handler,
  type Middleware,
  type Next,
  type Params,
  type RedirectOptions,
  type ResponseOptions,
  type SseOptions,
  type ValidMap,
  type ValidTarget,
} from "./src/context/context.ts";
export {
  type CookieDeleteOptions,
  type CookieGetOptions,
  Cookies,
  type CookieSetOptions,
  type CookiesOptions,
  type SameSite,
} from "./src/context/cookies.ts";
export type { BodyCoding } from "./src/body/encoding.ts";
export type {
  SseMessage,
  SseWriter,
  StreamSource,
} from "./src/context/stream.ts";
export type { ParamName, ParamsOf, PathSegments } from "./src/router/params.ts";
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
} from "./src/http/limits.ts";
export {
  Body,
  type BodyReadOptions,
  type BodySource,
  type FormReadOptions,
  type JsonReadOptions,
  type PartsReadOptions,
  type RejectHook,
} from "./src/body/body.ts";
export type {
  FieldPart,
  FilePart,
  MultipartLimits,
  Part,
} from "./src/body/multipart_types.ts";
export { safeFilename } from "./src/body/safe_filename.ts";
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
  type AccessLogEntry,
  type AccessLogHook,
  type AccessLogOptions,
  MAX_LOGGED_PATH,
  MAX_LOGGED_USER_AGENT,
} from "./src/observe/access_log.ts";
export type { TrustProxyOptions } from "./src/net/client_addr.ts";
export {
  upgradeWebSocket,
  type UpgradeWebSocketOptions,
  type WebSocketClosedInfo,
  type WSCloseEvent,
  type WSContext,
  type WSErrorEvent,
  type WSEvents,
  type WSMessageEvent,
  type WSOpenEvent,
  type WSReadyState,
} from "./src/websocket/mod.ts";
export {
  serve,
  type ServeOptions,
  type Server,
  type ShutdownOptions,
  type ShutdownReport,
  type TlsOptions,
  type TlsPair,
} from "./src/server/serve.ts";
export type { H1Options } from "./src/transport/h1/options.ts";
export type {
  ConnectionMetrics,
  FetchHandler,
  RejectedRequest,
  RemoteAddr,
  RequestSource,
  Servable,
  ServeInfo,
  TlsHandshakeResult,
  TlsInfo,
  UpgradedSocket,
} from "./src/transport/contract.ts";
