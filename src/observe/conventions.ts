/**
 * The conventions the metrics follow (OpenTelemetry's where it has one):
 * histogram buckets and the method label, shared by the server registry,
 * metric families and the client.
 *
 * @module
 */

/**
 * Default histogram buckets of `http_server_request_duration_seconds`, in
 * seconds: the OpenTelemetry recommendation from 5 ms to 10 s.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_DURATION_BUCKETS } from "@palisade/server";
 * DEFAULT_DURATION_BUCKETS[0]; // 0.005
 * ```
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
]);

/** Buckets of `palisade_tls_handshake_duration_seconds`: 1 ms to 10 s. */
export const HANDSHAKE_BUCKETS: readonly number[] = Object.freeze([
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  10,
]);

/**
 * Methods reported as they are in `http_request_method`; any other method is
 * reported as `_OTHER`, so a client cannot create series by inventing
 * methods.
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
  "QUERY",
]);

/** The `http_request_method` label value of `method`. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : "_OTHER";
}
