/**
 * HTTP errors and their RFC 9457 `application/problem+json` rendering.
 *
 * @module
 */

import type { RejectReason } from "./limits.ts";
import { statusText } from "./status.ts";

/** Options for {@linkcode HttpError}. */
export interface HttpErrorOptions {
  /** Headers added to the error response, e.g. `Retry-After` or `Allow`. */
  headers?: HeadersInit;
  /** The underlying error; never rendered to the client. */
  cause?: unknown;
  /**
   * Why Palisade refused the request, when it was a limit or protocol
   * rejection (the `reason` label of `palisade_rejections_total`). Default
   * undefined for errors thrown by apps.
   */
  reason?: RejectReason;
}

/**
 * An error that renders as an HTTP response with the given status and an
 * `application/problem+json` body (RFC 9457). Throw it from a handler or
 * middleware to answer the client with that status.
 *
 * @example Usage
 * ```ts
 * import { App, HttpError } from "@palisade/server";
 * const app = new App();
 * app.get("/items/:id", (ctx) => {
 *   throw new HttpError(404, `Item ${ctx.params.id} does not exist`);
 * });
 * ```
 */
export class HttpError extends Error {
  /** The HTTP status code, 400–599. */
  readonly status: number;
  /** Human-readable explanation specific to this occurrence; sent to the client. */
  readonly detail: string | undefined;
  /** Extra response headers. */
  readonly headers: HeadersInit | undefined;
  /** The rejection reason for limit and protocol errors; see {@linkcode HttpErrorOptions.reason}. */
  readonly reason: RejectReason | undefined;

  /**
   * Creates an error that renders with `status` and, when given, `detail`.
   *
   * @param status HTTP status code between 400 and 599.
   * @param detail Message for the client; keep secrets out of it.
   * @param options Extra headers and the underlying cause.
   */
  constructor(status: number, detail?: string, options?: HttpErrorOptions) {
    super(detail ?? statusText(status), { cause: options?.cause });
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(
        `HttpError status must be an integer from 400 to 599, got ${status}`,
      );
    }
    this.name = "HttpError";
    this.status = status;
    this.detail = detail;
    this.headers = options?.headers;
    this.reason = options?.reason;
  }

  /**
   * Renders this error as an `application/problem+json` response.
   *
   * @example Usage
   * ```ts
   * import { HttpError } from "@palisade/server";
   * const res = new HttpError(400, "Missing name").toResponse();
   * res.status; // 400
   * ```
   */
  toResponse(): Response {
    return problem(this.status, this.detail, this.headers);
  }
}

/**
 * Builds an RFC 9457 `application/problem+json` response.
 *
 * @example Usage
 * ```ts
 * import { problem } from "@palisade/server";
 * const res = problem(429, "Rate limit of 10 requests per second exceeded");
 * res.headers.get("content-type"); // "application/problem+json"
 * ```
 */
export function problem(
  status: number,
  detail?: string,
  headers?: HeadersInit,
): Response {
  const body = problemJson(status, detail);
  if (headers === undefined) {
    return new Response(body, { status, headers: PROBLEM_HEADERS });
  }
  const h = new Headers(headers);
  h.set("content-type", "application/problem+json");
  return new Response(body, { status, headers: h });
}

const PROBLEM_HEADERS = { "content-type": "application/problem+json" };

/**
 * The `application/problem+json` body for `status` and `detail`: the one
 * encoder behind {@linkcode problem} and the h1 engine's early answers.
 *
 * @example Usage
 * ```ts
 * import { problemJson } from "./errors.ts";
 * problemJson(404, "No route"); // '{"type":"about:blank","title":"Not Found","status":404,"detail":"No route"}'
 * ```
 */
export function problemJson(status: number, detail?: string): string {
  return JSON.stringify(
    detail === undefined
      ? { type: "about:blank", title: statusText(status), status }
      : { type: "about:blank", title: statusText(status), status, detail },
  );
}
