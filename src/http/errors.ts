/**
 * HTTP errors and their RFC 9457 `application/problem+json` rendering.
 *
 * @module
 */

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/**
 * Returns the standard reason phrase for an HTTP status code, or `"Error"`
 * when the code has none registered here.
 *
 * @example Usage
 * ```ts
 * import { statusText } from "@palisade/server";
 * statusText(413); // "Content Too Large"
 * ```
 */
export function statusText(status: number): string {
  return TITLES[status] ?? "Error";
}

/** Options for {@linkcode HttpError}. */
export interface HttpErrorOptions {
  /** Headers added to the error response, e.g. `Retry-After` or `Allow`. */
  headers?: HeadersInit;
  /** The underlying error; never rendered to the client. */
  cause?: unknown;
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
  const body: Record<string, unknown> = {
    type: "about:blank",
    title: statusText(status),
    status,
  };
  if (detail !== undefined) body.detail = detail;
  const h = new Headers(headers);
  h.set("content-type", "application/problem+json");
  return new Response(JSON.stringify(body), { status, headers: h });
}
