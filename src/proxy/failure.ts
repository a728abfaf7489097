/**
 * What went wrong with an upstream attempt, and what the client gets for it:
 * 502 for connect failures, resets and invalid responses, 504 for timeouts,
 * 503 when no upstream is available — each as problem+json that names the
 * cause and never an upstream address.
 *
 * @module
 */

import { HttpError } from "../http/errors.ts";
import type { FailureCause } from "./upstreams.ts";

/**
 * Classifies a `fetch` rejection that was not an abort. Deno's fetch errors
 * carry no code, only hyper's message in `cause`, so this is the one place
 * that reads error text: `(Connect)` marks a failure before any byte was
 * sent (refused, unreachable, DNS); a connection closed or reset before the
 * response is a reset (the request may have reached the upstream);
 * anything else is an invalid response.
 */
export function classify(error: unknown): FailureCause {
  const text =
    String((error as { cause?: { message?: unknown } })?.cause?.message ?? "") +
    " " + String((error as { message?: unknown })?.message ?? "");
  if (text.includes("(Connect)")) return "connect";
  if (
    text.includes("connection closed before message completed") ||
    /reset|broken pipe|connection closed/i.test(text)
  ) {
    return "reset";
  }
  return "protocol";
}

/** The error the client gets when the last attempt failed with `cause`. */
export function failureError(
  cause: FailureCause,
  timeoutMs: number,
): HttpError {
  switch (cause) {
    case "connect":
      return new HttpError(502, "Could not connect to the upstream server");
    case "reset":
      return new HttpError(
        502,
        "The upstream server closed the connection before it answered",
      );
    case "protocol":
      return new HttpError(502, "The upstream server sent an invalid response");
    case "timeout":
      return new HttpError(
        504,
        `The upstream server did not answer within the timeoutMs of ${timeoutMs} ms`,
      );
  }
}

/** The error the client gets when no upstream can take the request. */
export function unavailableError(count: number): HttpError {
  return new HttpError(
    503,
    count === 1
      ? "No healthy upstream: the only upstream is failing its health checks"
      : `No healthy upstream: all ${count} upstreams are failing their health checks`,
  );
}

/**
 * What a request whose signal aborted (client gone, App deadline, forced
 * shutdown) gets; the App has usually answered or dropped it already.
 */
export function aborted(signal: AbortSignal): HttpError {
  return new HttpError(503, "The request was aborted", {
    cause: signal.reason,
  });
}
