/**
 * The error the HTTP/1.1 parser raises on input it refuses.
 *
 * @module
 */

import type { RejectReason } from "../../../http/limits.ts";

/**
 * Status codes a {@linkcode ParseError} can carry. The parser itself never
 * raises 408; it is there for the connection's header timeout.
 */
export type ParseStatus = 400 | 408 | 413 | 414 | 431 | 501 | 505;

/**
 * A request the h1 parser refuses: answer it with `status` and close the
 * connection, because the framing of what follows can no longer be trusted.
 * Messages are safe to log and to send to the client: they never echo
 * client bytes, only limits and their values.
 *
 * @example Usage
 * ```ts
 * import { ParseError, RequestParser } from "./parser.ts";
 * const parser = new RequestParser({ urlBytes: 8, headerBytes: 1024, headerCount: 10 });
 * try {
 *   parser.next(new TextEncoder().encode("GET /a-long-path HTTP/1.1\r\n"), 0);
 * } catch (err) {
 *   if (err instanceof ParseError) err.status; // 414
 * }
 * ```
 */
export class ParseError extends Error {
  /** The status to answer with. */
  readonly status: ParseStatus;
  /** Why the request was refused; the `onReject` hook and metrics label. */
  readonly reason: RejectReason;

  /**
   * Creates a parse error.
   *
   * @param status Status to answer with.
   * @param reason Rejection reason for hooks and metrics.
   * @param message Sentence-case explanation without a trailing period.
   */
  constructor(status: ParseStatus, reason: RejectReason, message: string) {
    super(message);
    this.name = "ParseError";
    this.status = status;
    this.reason = reason;
  }
}

/**
 * Shorthand for a 400 Bad Request parse error.
 *
 * @example Usage
 * ```ts
 * import { badRequest } from "./error.ts";
 * throw badRequest("Bare CR in the request head");
 * ```
 */
export function badRequest(
  message: string,
  reason: RejectReason = "bad_request",
): ParseError {
  return new ParseError(400, reason, message);
}
