/**
 * Palisade's middleware library, `@palisade/server/middleware`: CORS,
 * security headers, compression, ETags and conditional requests, CSRF
 * protection, authentication (Basic, Bearer, JWT), IP restriction,
 * validation with any Standard Schema, rate limits and concurrency limits.
 * Each is a factory returning a middleware; each costs nothing on routes
 * that do not use it.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { cors, rateLimit, secureHeaders } from "@palisade/server/middleware";
 * const app = new App();
 * app.use(cors({ origin: ["https://a.example"], credentials: true }), secureHeaders());
 * app.use("/api", rateLimit({ limit: 100, windowMs: 60_000 }));
 * ```
 *
 * @module
 */

export { cors, type CorsOptions, type CorsOriginFunction } from "./cors.ts";
export {
  type CspDirectives,
  cspNonce,
  type PermissionsPolicy,
  secureHeaders,
  type SecureHeadersOptions,
} from "./secure_headers.ts";
export {
  type Coding,
  compress,
  type CompressOptions,
  isCompressible,
} from "./compress.ts";
export { etag, type EtagOptions, type EtagValidators } from "./etag.ts";
export { csrf, type CsrfOptions } from "./csrf.ts";
export {
  basicAuth,
  type BasicAuthOptions,
  type BasicAuthUser,
  basicAuthUser,
  type BasicAuthVerify,
} from "./basic_auth.ts";
export {
  bearerAuth,
  type BearerAuthOptions,
  type BearerAuthVerify,
} from "./bearer_auth.ts";
export {
  jwt,
  type JwtAlgorithm,
  type JwtKey,
  type JwtOptions,
  type JwtPayload,
} from "./jwt.ts";
export { ipRestriction, type IpRestrictionOptions } from "./ip_restriction.ts";
export {
  type InferOutput,
  type StandardSchemaV1,
  type StandardSchemaV1Issue,
  type StandardSchemaV1Props,
  type StandardSchemaV1Result,
  type StandardSchemaV1Types,
  validate,
  type ValidateOptions,
  type ValidationIssue,
} from "./validate.ts";
export { rateLimit, type RateLimitOptions } from "./rate_limit/rate_limit.ts";
export {
  type MemoryStore,
  memoryStore,
  type MemoryStoreOptions,
} from "./rate_limit/memory_store.ts";
export {
  redisStore,
  type RedisStoreOptions,
} from "./rate_limit/redis_store.ts";
export { kvStore, type KvStoreOptions } from "./rate_limit/kv_store.ts";
export type {
  RateLimitParams,
  RateLimitResult,
  RateLimitStore,
  StoreFailureMode,
} from "./rate_limit/store.ts";
export {
  concurrencyLimit,
  type ConcurrencyLimitOptions,
} from "./concurrency_limit.ts";
