/**
 * The Response the client returns: the upstream's status and headers
 * (mutable) over the size-limited body.
 *
 * @module
 */

/**
 * A standard `Response` whose body readers enforce the client's
 * `maxResponseBytes` and `timeoutMs`, with a typed `json<T>()`. Its headers
 * are a mutable copy of the upstream's; `url` and `redirected` are the
 * upstream response's.
 *
 * @example Usage
 * ```ts ignore
 * import { createClient } from "@palisade/server/client";
 * using client = createClient({ baseUrl: "https://api.example" });
 * const res = await client.get("/users/1");
 * const user = await res.json<{ id: string }>();
 * ```
 */
export class ClientResponse extends Response {
  readonly #url: string;
  readonly #redirected: boolean;

  /** Wraps `body` with the status and headers of `source`. */
  constructor(body: ReadableStream<Uint8Array> | null, source: Response) {
    super(body, {
      status: source.status,
      statusText: source.statusText,
      headers: source.headers,
    });
    this.#url = source.url;
    this.#redirected = source.redirected;
  }

  /** The final URL of the upstream response, after redirects. */
  override get url(): string {
    return this.#url;
  }

  /** Whether the upstream response came after a redirect. */
  override get redirected(): boolean {
    return this.#redirected;
  }

  /**
   * Reads the body (within `maxResponseBytes`) and parses it as JSON.
   * `T` is not checked at run time; validate untrusted data.
   */
  override json<T = unknown>(): Promise<T> {
    return super.json() as Promise<T>;
  }
}
