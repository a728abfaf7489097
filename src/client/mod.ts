/**
 * `@palisade/server/client`: an outbound HTTP client with deadlines,
 * retries, a circuit breaker per origin, a response size limit and metrics.
 *
 * @example Usage
 * ```ts ignore
 * import { createClient } from "@palisade/server/client";
 * using api = createClient({ baseUrl: "https://api.example", timeoutMs: 2_000 });
 * const res = await api.get("/status");
 * console.log(await res.json<{ ok: boolean }>());
 * ```
 *
 * @module
 */

export { Client, createClient } from "./client.ts";
export type { ClientContext, ClientInput, ClientRequestInit } from "./call.ts";
export {
  CircuitOpenError,
  ClientError,
  type ClientErrorOptions,
  ConnectError,
  ResponseTooLargeError,
  TimeoutError,
  type TimeoutPhase,
  UpstreamError,
  type UpstreamFailure,
} from "./errors.ts";
export type {
  BreakerOptions,
  ClientOptions,
  Clock,
  PoolOptions,
  RetryOn,
  RetryOptions,
} from "./options.ts";
export { ClientResponse } from "./response.ts";
export type { BreakerState } from "./breaker.ts";
