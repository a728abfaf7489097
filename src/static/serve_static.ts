/**
 * `serveStatic(options)`: files from a directory, with conditional and range
 * requests, precompressed variants and safe path resolution.
 *
 * @module
 */

import type { Context, Middleware, Next } from "../context/context.ts";
import { HttpError, problem } from "../http/errors.ts";
import {
  evaluatePreconditions,
  ifRangeAllows,
  statEtag,
} from "./conditional.ts";
import type { Validators } from "./conditional.ts";
import { acceptedVariants } from "./encoding.ts";
import { fileStream, readSmall, SMALL_FILE_BYTES } from "./file_body.ts";
import { HashEtags } from "./hash_etag.ts";
import { renderListing } from "./listing.ts";
import {
  resolveOptions,
  type ServeStaticOptions,
  type StaticConfig,
} from "./options.ts";
import { planRange } from "./range.ts";
import {
  checkRelative,
  isMiss,
  joinRoot,
  realInside,
  SEP,
  statOf,
} from "./resolve.ts";

const IMMUTABLE = "public, max-age=31536000, immutable";
const NOT_FOUND = "File not found";

/** Per-handler state: the validated options and the hash cache. */
interface Handler {
  readonly c: StaticConfig;
  readonly hashes: HashEtags | null;
}

/**
 * Serves files under `root` for GET and HEAD requests. The file is the
 * route's wildcard match (`app.get("/assets/*", …)` serves
 * `/assets/css/app.css` from `root/css/app.css`), or the whole request
 * path when the route has no wildcard (e.g. under `app.use`).
 *
 * Safety: the path is the App's normalised, decoded path (encoded slashes,
 * backslashes, NUL and dot segments already refused with 400); the handler
 * refuses them again, plus drive letters and `:`, Windows device names,
 * control characters and over-long names (404), and checks with `realPath`
 * that the target is inside `root` (see `followSymlinks`). Only regular
 * files are sent. Dotfiles are 404 by default.
 *
 * Responses: `Content-Type` from `mime-db` (`charset=utf-8` on text),
 * `X-Content-Type-Options: nosniff`, `Content-Length`, `Accept-Ranges:
 * bytes`, `ETag`, `Last-Modified`, `Cache-Control`. `If-Match`,
 * `If-Unmodified-Since` (412), `If-None-Match` and `If-Modified-Since`
 * (304) follow RFC 9110 §13.2.2; one `Range` gets 206 (or 416 when it lies
 * outside the file) and `If-Range` is honoured; a request for several
 * ranges gets the whole file with 200 (no `multipart/byteranges`, so no
 * range amplification). Other methods get 405 (or `next()` with
 * `fallthrough`).
 *
 * I/O: path lookups (`realPath`, `stat`) and reads of files up to 64 KiB
 * are synchronous system calls, as nginx makes them: on a local disk they
 * take microseconds and cost far less CPU than Deno's thread-pool round
 * trips (`bench/static_load.ts`), but a root on a slow or network file
 * system stalls the event loop for each of them. Larger files are streamed
 * with asynchronous 256 KiB reads, each waiting for the client to take the
 * previous one; the file is opened on the first read (a HEAD answer, a 304
 * or an error never opens it) and closed when the transfer ends, fails or
 * the client goes away. A file that shrinks during a send cuts the
 * transfer short; one that grows is sent up to the promised length.
 *
 * @param options Where the files are and how to serve them; validated now.
 * @returns A handler for `app.get(pattern, …)` or a middleware for `app.use`.
 * @throws {TypeError} when an option is invalid or `root` is not a directory.
 *
 * @example Usage
 * ```ts ignore
 * import { App } from "@palisade/server";
 * import { serveStatic } from "@palisade/server/static";
 * const app = new App();
 * app.get("/assets/*", serveStatic({
 *   root: "./public",
 *   precompressed: true,
 *   immutable: /\.[0-9a-f]{8,}\./,
 * }));
 * ```
 */
export function serveStatic(options: ServeStaticOptions): Middleware {
  const c = resolveOptions(options);
  const h: Handler = {
    c,
    hashes: c.etag === "hash" ? new HashEtags() : null,
  };
  return (ctx, next) => handle(h, ctx, next);
}

function miss(c: StaticConfig, next: Next): Response | Promise<Response> {
  return c.fallthrough ? next() : problem(404, NOT_FOUND);
}

function handle(
  h: Handler,
  ctx: Context,
  next: Next,
): Response | Promise<Response> {
  const c = h.c;
  const method = ctx.method;
  if (method !== "GET" && method !== "HEAD") {
    if (c.fallthrough) return next();
    throw new HttpError(405, `Method ${method} is not allowed for files`, {
      headers: { allow: "GET, HEAD" },
    });
  }
  const rel = ctx.params["*"] ?? ctx.path.slice(1);
  const check = checkRelative(rel);
  if (check.kind === "refused") {
    if (check.status === 400) throw new HttpError(400, check.detail);
    return miss(c, next);
  }
  if (check.dotfile && c.dotfiles !== "allow") {
    return c.dotfiles === "deny" ? problem(404, NOT_FOUND) : miss(c, next);
  }
  const trailing = rel.endsWith("/");
  const sub = trailing ? rel.slice(0, -1) : rel;
  const real = realInside(c.root, joinRoot(c.root, sub), c.followSymlinks);
  const info = real === null ? null : statOf(real);
  if (info === null) return miss(c, next);
  if (info.isDirectory) return directory(h, ctx, next, real!, rel);
  if (!info.isFile || trailing) return miss(c, next);
  return sendFile(h, ctx, real!, info, rel, rel);
}

function directory(
  h: Handler,
  ctx: Context,
  next: Next,
  real: string,
  rel: string,
): Response | Promise<Response> {
  const c = h.c;
  let index: string | null = null;
  let indexInfo: Deno.FileInfo | null = null;
  if (c.index !== false) {
    const lexical = real.endsWith(SEP) ? real + c.index : real + SEP + c.index;
    index = realInside(c.root, lexical, c.followSymlinks);
    if (index !== null) indexInfo = statOf(index);
    if (indexInfo !== null && !indexInfo.isFile) indexInfo = null;
  }
  if (indexInfo === null && !c.listing) return miss(c, next);
  const path = ctx.path;
  if (!path.endsWith("/")) {
    // Relative, so it works under any mount prefix or proxy; "./" and the
    // encoding keep a name like "evil.com" or "javascript:" a path.
    const name = path.slice(path.lastIndexOf("/") + 1);
    const search = ctx.url.search;
    return new Response(null, {
      status: 301,
      headers: { location: `./${encodeURIComponent(name)}/${search}` },
    });
  }
  if (indexInfo !== null) {
    return sendFile(h, ctx, index!, indexInfo, rel, c.index as string);
  }
  return renderListing(real, path, {
    dotfiles: c.dotfiles === "allow",
    symlinks: c.followSymlinks,
    parent: rel !== "",
  }).then((html) =>
    new Response(html, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "x-content-type-options": "nosniff",
        "cache-control": "no-cache",
      },
    })
  );
}

/** A file about to be sent: which one, and the headers so far. */
interface Selected {
  path: string;
  info: Deno.FileInfo;
  coding: string;
  headers: Record<string, string>;
}

function sendFile(
  h: Handler,
  ctx: Context,
  real: string,
  info: Deno.FileInfo,
  rel: string,
  name: string,
): Response | Promise<Response> {
  const c = h.c;
  const file: Selected = {
    path: real,
    info,
    coding: "",
    headers: {
      "content-type": c.typeOf(name),
      "x-content-type-options": "nosniff",
      "accept-ranges": "bytes",
      "cache-control": c.immutable !== false && c.immutable.test(rel)
        ? IMMUTABLE
        : c.cacheControl,
    },
  };
  if (c.variants.length > 0) {
    file.headers["vary"] = "accept-encoding";
    pickVariant(c, ctx, file);
  }
  const mtime = file.info.mtime;
  if (h.hashes !== null) {
    return h.hashes.get(file.path, file.info.size, mtime, file.coding).then(
      (etag) => respond(c, ctx, file, etag),
    );
  }
  return respond(
    c,
    ctx,
    file,
    c.etag === "strong" ? statEtag(file.info.size, mtime, file.coding) : null,
  );
}

/** Switches `file` to the best precompressed variant the client accepts. */
function pickVariant(c: StaticConfig, ctx: Context, file: Selected): void {
  const accepted = acceptedVariants(ctx.header("accept-encoding"), c.variants);
  for (const v of accepted) {
    const path = realInside(c.root, file.path + v.suffix, c.followSymlinks);
    const info = path === null ? null : statOf(path);
    if (info !== null && info.isFile) {
      file.path = path!;
      file.info = info;
      file.coding = v.encoding;
      file.headers["content-encoding"] = v.encoding;
      return;
    }
  }
}

function respond(
  c: StaticConfig,
  ctx: Context,
  file: Selected,
  etag: string | null,
): Response {
  const { headers, path } = file;
  const size = file.info.size;
  const mtime = file.info.mtime;
  const v: Validators = {
    etag,
    modifiedSec: c.lastModified && mtime !== null
      ? Math.floor(mtime.getTime() / 1000)
      : null,
  };
  if (etag !== null) headers["etag"] = etag;
  if (v.modifiedSec !== null) {
    headers["last-modified"] = new Date(v.modifiedSec * 1000).toUTCString();
  }
  const pre = evaluatePreconditions(ctx, v);
  if (pre === "failed") {
    throw new HttpError(412, "A precondition of the request is not met");
  }
  if (pre === "not_modified") return notModified(headers);
  let start = 0;
  let length = size;
  let status = 200;
  const range = ctx.header("range");
  if (range !== null && ifRangeAllows(ctx.header("if-range"), v)) {
    const plan = planRange(range, size);
    if (plan.kind === "unsatisfiable") throw unsatisfiable(size);
    if (plan.kind === "single") {
      status = 206;
      start = plan.start;
      length = plan.end - plan.start + 1;
      headers["content-range"] = `bytes ${start}-${plan.end}/${size}`;
    }
  }
  headers["content-length"] = String(length);
  if (ctx.method === "HEAD") return new Response(null, { status, headers });
  if (length > SMALL_FILE_BYTES) {
    return new Response(fileStream(path, start, length), { status, headers });
  }
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = readSmall(path, start, length);
  } catch (error) {
    if (isMiss(error)) return problem(404, NOT_FOUND); // removed since its stat
    throw error;
  }
  if (bytes.length !== length) {
    // The file shrank since it was sized: send what is there.
    if (status === 206) {
      if (bytes.length === 0) throw unsatisfiable(start);
      headers["content-range"] = `bytes ${start}-${start + bytes.length - 1}/${
        start + bytes.length
      }`;
    }
    headers["content-length"] = String(bytes.length);
  }
  return new Response(bytes, { status, headers });
}

function notModified(headers: Record<string, string>): Response {
  const out: Record<string, string> = {
    "cache-control": headers["cache-control"],
  };
  for (const name of ["etag", "last-modified", "vary"]) {
    if (headers[name] !== undefined) out[name] = headers[name];
  }
  return new Response(null, { status: 304, headers: out });
}

function unsatisfiable(size: number): HttpError {
  return new HttpError(
    416,
    `Range is outside the ${size} bytes of the file`,
    { headers: { "content-range": `bytes */${size}` } },
  );
}
