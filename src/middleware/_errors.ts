/**
 * Error rendering shared by the middleware that decorate every response
 * (`cors`, `secureHeaders`): an {@linkcode HttpError} thrown further down the
 * chain is rendered here, so the headers still reach the client.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";

/**
 * Renders `error` when it is an {@linkcode HttpError} (the same response the
 * App would make); rethrows anything else, which the App turns into a 500.
 */
export function renderHttpError(error: unknown): Response {
  if (error instanceof HttpError) return error.toResponse();
  throw error;
}
