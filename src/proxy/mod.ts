/**
 * `@palisade/server/proxy`: a hardened reverse proxy for Palisade routes —
 * load balancing (smooth weighted round robin, least connections, power of
 * two choices), active health checks on one shared timer, passive outlier
 * ejection, safe retries, streamed bodies with backpressure, hop-by-hop and
 * forwarding-header rules, timeouts that abort, WebSocket forwarding on
 * both transports, and per-upstream metrics.
 *
 * @example Usage
 * ```ts ignore
 * import { App, serve } from "@palisade/server";
 * import { proxy } from "@palisade/server/proxy";
 *
 * const app = new App();
 * const api = proxy({ upstreams: ["http://127.0.0.1:3001", "http://127.0.0.1:3002"] });
 * app.all("/backend/*", api);
 * serve(app, { port: 8000, onShutdown: () => void api.close() });
 * ```
 *
 * @module
 */

export { proxy, type ProxyHandler } from "./proxy.ts";
export type {
  ForwardedMode,
  HealthCheckOptions,
  KeepAliveOptions,
  OutlierOptions,
  ProxyOptions,
  RetryOptions,
  Strategy,
  UpstreamInit,
  WebSocketProxyOptions,
} from "./options.ts";
