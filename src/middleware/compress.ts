/**
 * `compress()`: response compression negotiated from `Accept-Encoding`.
 *
 * @module
 */

import { deflateSync, gzipSync } from "node:zlib";
import type { Middleware } from "../context/context.ts";
import {
  type Coding,
  type EncodingChoice,
  negotiateEncoding,
} from "../http/accept_encoding.ts";
import { peekStaticBody } from "../internal/deno.ts";
import { utf8Length } from "../internal/text.ts";

export type { Coding } from "../http/accept_encoding.ts";

/** Options of {@linkcode compress}. */
export interface CompressOptions {
  /**
   * The codings offered, in the server's order of preference (it breaks
   * ties between equal q-values). Default `["gzip", "deflate"]`. Brotli is
   * not offered: `CompressionStream` of Deno 2.9.6 refuses `"br"`.
   */
  encodings?: readonly Coding[];
  /**
   * Smallest body, in bytes, worth compressing. Default 1024; 0 compresses
   * every body. Applies to bodies of known size (a string or bytes, or a
   * `Content-Length`); a stream of unknown length is always compressed.
   * A client refusing `identity` gets even a small body compressed.
   */
  thresholdBytes?: number;
  /**
   * Whether responses of a media type are compressed; it receives the
   * lower-case type without parameters (`"text/html"`). Default
   * {@linkcode isCompressible}. A response without `Content-Type` is never
   * compressed.
   */
  compressible?: (type: string) => boolean;
}

const CODINGS: readonly Coding[] = ["gzip", "deflate"];
const EXTRA_TYPES = new Set([
  "application/javascript",
  "application/x-javascript",
  "application/ecmascript",
  "application/wasm",
  "application/vnd.ms-fontobject",
  "font/otf",
  "font/ttf",
  "image/bmp",
  "image/vnd.microsoft.icon",
  "image/x-icon",
]);

/**
 * The default `compressible` predicate: `text/*` (except
 * `text/event-stream`, whose events a compressor would hold back), `*\/json`,
 * `*+json`, `*\/xml`, `*+xml` (`image/svg+xml`), JavaScript, WebAssembly
 * and uncompressed font and image formats. Already compressed formats
 * (JPEG, PNG, WOFF2, zip, video) are left alone, as are streaming formats
 * like `application/x-ndjson`.
 *
 * @example Usage
 * ```ts
 * import { compress, isCompressible } from "./compress.ts";
 * compress({ compressible: (type) => isCompressible(type) || type === "application/x-ndjson" });
 * isCompressible("application/problem+json"); // true
 * ```
 */
export function isCompressible(type: string): boolean {
  if (type.startsWith("text/")) return type !== "text/event-stream";
  return type.endsWith("/json") || type.endsWith("+json") ||
    type.endsWith("/xml") || type.endsWith("+xml") || EXTRA_TYPES.has(type);
}

function hasToken(list: string, token: string): boolean {
  for (const item of list.split(",")) {
    if (item.trim().toLowerCase() === token) return true;
  }
  return false;
}

function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim()
    .toLowerCase();
}

function resolveEncodings(value: readonly Coding[] | undefined): Coding[] {
  if (value === undefined) return [...CODINGS];
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(
      "Option encodings must be a non-empty array of codings",
    );
  }
  for (const coding of value) {
    if (!CODINGS.includes(coding)) {
      throw new TypeError(
        `Option encodings must list only "gzip" and "deflate", got ${
          String(coding)
        }`,
      );
    }
  }
  return [...new Set(value)];
}

/** True when the body's size is known without reading it and under `threshold`. */
function isSmall(
  body: string | Uint8Array | undefined,
  headers: Headers,
  threshold: number,
): boolean {
  if (typeof body === "string") {
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit: scan only when in doubt.
    if (body.length >= threshold) return false;
    return body.length * 3 < threshold || utf8Length(body) < threshold;
  }
  if (body !== undefined) return body.length < threshold;
  const declared = headers.get("content-length");
  return declared !== null && /^[0-9]+$/.test(declared) &&
    Number(declared) < threshold;
}

/**
 * Compresses responses with the best coding the client accepts
 * (`Accept-Encoding` with q-values, RFC 9110 §12.5.3; see
 * `negotiateEncoding`): gzip or deflate.
 *
 * A response is left as it is for a HEAD request or one with `Range`; for
 * status 204, 206 and 304, and responses with `Content-Range`, an existing
 * `Content-Encoding` or `Cache-Control: no-transform`; for a type that is
 * not `compressible`; for a body of known size under `thresholdBytes`; and
 * when the client accepts no offered coding (even under `identity;q=0`: a
 * 406 would throw the handler's answer away, so the body goes as it is, as
 * with nginx and Go). Every response that could be compressed (any but the
 * cases above, and a small body's) gets `Vary: Accept-Encoding`, appended
 * to an existing `Vary`.
 *
 * A compressed response loses `Content-Length` and `Accept-Ranges`, and a
 * strong `ETag` becomes weak (`"x"` → `W/"x"`). A streamed body is piped
 * through `CompressionStream` as it is produced, never buffered; a string
 * or byte body, already in memory, is compressed in one call (node:zlib,
 * 1.2–1.5× less CPU than a stream for 64 KiB) and keeps an exact length.
 *
 * @throws {TypeError} at factory time for an invalid option.
 *
 * @example Usage
 * ```ts
 * import { App } from "../app/app.ts";
 * import { compress } from "./compress.ts";
 * const app = new App();
 * app.use(compress({ thresholdBytes: 2048 }));
 * app.get("/data", (ctx) => ctx.json({ items: new Array(1000).fill("item") }));
 * ```
 */
export function compress(options: CompressOptions = {}): Middleware {
  const offered = resolveEncodings(options.encodings);
  const threshold = options.thresholdBytes ?? 1024;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new TypeError(
      `Option thresholdBytes must be a non-negative integer, got ${
        String(threshold)
      }`,
    );
  }
  const compressible = options.compressible ?? isCompressible;
  if (typeof compressible !== "function") {
    throw new TypeError("Option compressible must be a function");
  }
  // Clients send a handful of distinct values: remember the last one.
  let lastHeader: string | null = null;
  let lastChoice: EncodingChoice = negotiateEncoding(null, offered);

  return async function compressMiddleware(ctx, next): Promise<Response> {
    if (ctx.method === "HEAD" || ctx.header("range") !== null) {
      return await next();
    }
    const res = await next();
    const status = res.status;
    if (status === 204 || status === 206 || status === 304 || status < 200) {
      return res;
    }
    const headers = res.headers;
    const type = headers.get("content-type");
    if (
      type === null || headers.has("content-encoding") ||
      headers.has("content-range") || !compressible(mediaType(type))
    ) return res;
    const cacheControl = headers.get("cache-control");
    if (cacheControl !== null && hasToken(cacheControl, "no-transform")) {
      return res;
    }
    const body = peekStaticBody(res);
    if (body === undefined && res.body === null) return res;
    const accept = ctx.header("accept-encoding");
    if (accept !== lastHeader) {
      lastChoice = negotiateEncoding(accept, offered);
      lastHeader = accept;
    }
    const { coding, identityRefused } = lastChoice;
    // A small body is sent as it is whatever the request says (no Vary,
    // as nginx), unless this client refuses identity.
    if (!identityRefused && isSmall(body, headers, threshold)) return res;
    const vary = headers.get("vary");
    if (vary === null) headers.set("vary", "Accept-Encoding");
    else if (vary.trim() !== "*" && !hasToken(vary, "accept-encoding")) {
      headers.append("vary", "Accept-Encoding");
    }
    if (coding === null) return res;

    headers.delete("content-length");
    headers.delete("accept-ranges");
    headers.set("content-encoding", coding);
    const etag = headers.get("etag");
    if (etag !== null && etag.startsWith('"')) headers.set("etag", "W/" + etag);
    const init = { status, statusText: res.statusText, headers };
    if (body !== undefined) {
      const compressed = coding === "gzip" ? gzipSync(body) : deflateSync(body);
      return new Response(compressed as Uint8Array<ArrayBuffer>, init);
    }
    return new Response(
      res.body!.pipeThrough(new CompressionStream(coding)),
      init,
    );
  };
}
