/**
 * `etag()`: entity tags for response bodies and conditional requests
 * (RFC 9110 §8.8.3 and §13): `If-None-Match` and `If-Modified-Since` answer
 * 304, `If-Match` and `If-Unmodified-Since` answer 412.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Context, Middleware } from "../context/context.ts";
import { HttpError } from "../http/errors.ts";
import { func } from "../internal/validate.ts";

/** The validators of a resource as it is now, for unsafe methods' preconditions. */
export interface EtagValidators {
  /** Its entity tag, quoted (`"v7"`, `W/"v7"`) or bare (`v7`, quoted for you). */
  etag?: string;
  /** When it last changed. */
  lastModified?: Date | number;
}

/** Options of {@linkcode etag}. */
export interface EtagOptions {
  /**
   * Make weak tags (`W/"…"`): the body is semantically, not byte for byte,
   * the same. Weak tags still answer `If-None-Match`, never `If-Match`.
   *
   * @default {false}
   */
  weak?: boolean;
  /**
   * Largest body read to compute a tag, in bytes. A body that turns out
   * larger gets no tag and is sent on unchanged, the bytes already read
   * first. A streamed body is read until it ends or passes this size, so
   * the response starts only then: keep `etag()` off routes that stream
   * slowly or without end (`text/event-stream` is never read). `0` reads
   * no body: only responses that carry their own `ETag` are handled.
   *
   * @default {1048576}
   */
  maxBytes?: number;
  /**
   * Returns the validators of the target resource as it is now, or null
   * when it does not exist, for PUT, POST, PATCH and DELETE requests that
   * carry `If-Match`, `If-None-Match` or `If-Unmodified-Since`: those are
   * answered 412 before the handler runs when they fail (a lost update
   * prevented). Without it such requests reach the handler unchecked: the
   * response of an unsafe method comes too late to check them.
   *
   * @default {undefined}
   */
  current?: (
    ctx: Context,
  ) => EtagValidators | null | Promise<EtagValidators | null>;
}

/**
 * The fields a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5),
 * besides ETag.
 */
const NOT_MODIFIED_FIELDS = [
  "cache-control",
  "content-location",
  "date",
  "expires",
  "vary",
];
const MAX_DATE = 64;

/**
 * Creates a middleware that tags GET and HEAD responses and answers their
 * conditional requests. A 2xx response (not 206) that has no `ETag` gets
 * one: SHA-1 of its body, base64url, strong unless `weak` (SHA-1 measured
 * faster than FNV-1a in JavaScript from a few KiB up, and a 32-bit hash
 * would let an edited body keep its tag). An `ETag` the handler set is kept
 * and its body is not read. Then, in RFC 9110 §13.2.2 order:
 *
 * 1. `If-Match` (strong comparison) or, without it,
 *    `If-Unmodified-Since` against `Last-Modified`: 412 when it fails;
 * 2. `If-None-Match` (weak comparison, `*` and lists) or, without it,
 *    `If-Modified-Since` against `Last-Modified`: 304 when it holds, with
 *    only Cache-Control, Content-Location, Date, ETag, Expires and Vary
 *    (plus Last-Modified when there is no ETag, and Set-Cookie) and no
 *    body.
 *
 * Other methods pass through, unless `current` is given (see there).
 * Put `etag()` after (inside) middleware that changes the body, such as
 * compression, so the tag describes the bytes sent.
 *
 * @throws {TypeError} at factory time when an option is invalid, naming it.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { etag } from "@palisade/server/middleware";
 * const app = new App();
 * const versions = new Map<string, number>();
 * app.use("/docs", etag({
 *   current: (ctx) => {
 *     const v = versions.get(ctx.params.id);
 *     return v === undefined ? null : { etag: `v${v}` };
 *   },
 * }));
 * app.get("/docs/:id", (ctx) => ctx.json({ id: ctx.params.id, v: versions.get(ctx.params.id) }));
 * app.put("/docs/:id", (ctx) => {
 *   versions.set(ctx.params.id, (versions.get(ctx.params.id) ?? 0) + 1);
 *   return ctx.empty();
 * });
 * ```
 */
export function etag(options: EtagOptions = {}): Middleware {
  const weak = options.weak ?? false;
  if (typeof weak !== "boolean") {
    throw new TypeError(`Option weak must be a boolean, got ${String(weak)}`);
  }
  const maxBytes = options.maxBytes ?? 1 << 20;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new TypeError(
      `Option maxBytes must be a non-negative integer, got ${String(maxBytes)}`,
    );
  }
  const current = options.current;
  if (current !== undefined) func("current", current);
  const prefix = weak ? 'W/"' : '"';

  return async function etagMiddleware(ctx, next) {
    const method = ctx.method;
    if (method !== "GET" && method !== "HEAD") {
      if (current !== undefined) await checkUnsafe(ctx, current);
      return next();
    }
    let res = await next();
    const status = res.status;
    if (status < 200 || status > 299 || status === 206) return res;
    let tag = res.headers.get("etag");
    let bytes: Uint8Array | undefined;
    if (
      tag === null && maxBytes > 0 && res.body !== null && !isEventStream(res)
    ) {
      const read = await readUpTo(res.body, maxBytes);
      if (read instanceof Uint8Array) {
        bytes = read;
        tag = prefix + createHash("sha1").update(read).digest("base64url") +
          '"';
      } else {
        res = new Response(read, res); // gave up: the bytes read, then the rest
      }
    }
    const outcome = evaluate(ctx, tag, lastModifiedOf(res));
    if (outcome === "proceed") {
      if (bytes === undefined) return res;
      const tagged = new Response(bytes as Uint8Array<ArrayBuffer>, res);
      tagged.headers.set("etag", tag!);
      return tagged;
    }
    if (bytes === undefined) res.body?.cancel().catch(() => {});
    if (outcome === "not-modified") return notModified(res.headers, tag);
    throw new HttpError(412, FAILED[outcome]);
  };
}

/** What the preconditions of a request decide. */
type Outcome =
  | "proceed"
  | "not-modified"
  | "if-match-failed"
  | "if-unmodified-since-failed"
  | "if-none-match-failed";

const FAILED: Record<Exclude<Outcome, "proceed" | "not-modified">, string> = {
  "if-match-failed": "Precondition If-Match failed",
  "if-unmodified-since-failed": "Precondition If-Unmodified-Since failed",
  "if-none-match-failed": "Precondition If-None-Match failed",
};

/** Evaluates the preconditions of a GET/HEAD against the response's validators. */
function evaluate(
  ctx: Context,
  tag: string | null,
  lastModified: number | null,
): Outcome {
  const ifMatch = ctx.header("if-match");
  if (ifMatch !== null) {
    if (!matches(ifMatch, tag, true)) return "if-match-failed";
  } else if (lastModified !== null) {
    const since = httpDate(ctx.header("if-unmodified-since"));
    if (since !== null && lastModified > since) {
      return "if-unmodified-since-failed";
    }
  }
  const ifNoneMatch = ctx.header("if-none-match");
  if (ifNoneMatch !== null) {
    return matches(ifNoneMatch, tag, false) ? "not-modified" : "proceed";
  }
  if (lastModified !== null) {
    const since = httpDate(ctx.header("if-modified-since"));
    if (since !== null && lastModified <= since) return "not-modified";
  }
  return "proceed";
}

/** Checks an unsafe request's preconditions against `current(ctx)`; throws 412. */
async function checkUnsafe(
  ctx: Context,
  current: NonNullable<EtagOptions["current"]>,
): Promise<void> {
  const ifMatch = ctx.header("if-match");
  const ifNoneMatch = ctx.header("if-none-match");
  const ifUnmodified = ctx.header("if-unmodified-since");
  if (ifMatch === null && ifNoneMatch === null && ifUnmodified === null) return;
  const v = await current(ctx);
  const tag = v?.etag === undefined ? null : quoted(v.etag);
  if (ifMatch !== null) {
    if (v === null || !matches(ifMatch, tag, true)) {
      throw new HttpError(412, FAILED["if-match-failed"]);
    }
  } else if (ifUnmodified !== null && v?.lastModified !== undefined) {
    const since = httpDate(ifUnmodified);
    const changed = Math.floor(Number(v.lastModified) / 1000);
    if (since !== null && changed > since) {
      throw new HttpError(412, FAILED["if-unmodified-since-failed"]);
    }
  }
  if (ifNoneMatch !== null && v !== null && matches(ifNoneMatch, tag, false)) {
    throw new HttpError(412, FAILED["if-none-match-failed"]);
  }
}

function quoted(tag: string): string {
  return tag.startsWith('"') || tag.startsWith('W/"') ? tag : `"${tag}"`;
}

/**
 * Whether an `If-Match`/`If-None-Match` value matches `tag`: `*` matches any
 * current representation; otherwise a list of entity-tags compared strongly
 * (both strong, same opaque-tag) or weakly (same opaque-tag). A malformed
 * list matches nothing.
 */
function matches(header: string, tag: string | null, strong: boolean): boolean {
  if (header.trim() === "*") return true;
  if (tag === null) return false;
  const tagWeak = tag.startsWith("W/");
  if (strong && tagWeak) return false;
  const opaque = tagWeak ? tag.slice(2) : tag;
  const n = header.length;
  let i = 0;
  while (i < n) {
    const c = header.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x2c) {
      i++;
      continue;
    }
    let weak = false;
    if (c === 0x57 && header.charCodeAt(i + 1) === 0x2f) { // "W/"
      weak = true;
      i += 2;
    }
    if (header.charCodeAt(i) !== 0x22) return false;
    const close = header.indexOf('"', i + 1);
    if (close === -1) return false;
    if ((!strong || !weak) && header.slice(i, close + 1) === opaque) {
      return true;
    }
    i = close + 1;
  }
  return false;
}

/** An HTTP-date as whole seconds since the epoch, or null when absent or invalid. */
function httpDate(value: string | null): number | null {
  if (value === null || value.length > MAX_DATE) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

function lastModifiedOf(res: Response): number | null {
  return httpDate(res.headers.get("last-modified"));
}

function isEventStream(res: Response): boolean {
  return res.headers.get("content-type")?.startsWith("text/event-stream") ??
    false;
}

function notModified(from: Headers, tag: string | null): Response {
  const headers = new Headers();
  for (const name of NOT_MODIFIED_FIELDS) {
    const v = from.get(name);
    if (v !== null) headers.set(name, v);
  }
  if (tag !== null) headers.set("etag", tag);
  else {
    const lastModified = from.get("last-modified");
    if (lastModified !== null) headers.set("last-modified", lastModified);
  }
  for (const cookie of from.getSetCookie()) {
    headers.append("set-cookie", cookie);
  }
  return new Response(null, { status: 304, headers });
}

/**
 * Reads `body` whole when it has at most `max` bytes; otherwise returns a
 * stream that replays what was read, then the rest.
 */
async function readUpTo(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total > max) return replay(chunks, reader);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function replay(
  chunks: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next < chunks.length) {
        controller.enqueue(chunks[next]);
        chunks[next++] = EMPTY;
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

const EMPTY = new Uint8Array(0);
