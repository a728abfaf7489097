/**
 * Options of `serveStatic` and their validation, done once per factory.
 *
 * @module
 */

import { contentTypes } from "./mime.ts";

/** A precompressed variant `serveStatic` can send, by its `Content-Encoding`. */
export type PrecompressedEncoding = "br" | "zstd" | "gzip";

/** What `serveStatic` does with a path that has a segment starting with `.`. */
export type DotfilesPolicy = "deny" | "allow" | "ignore";

/** How `serveStatic` computes `ETag`s; `false` sends none. */
export type EtagMode = "strong" | "hash" | false;

/** Options of {@linkcode serveStatic}. */
export interface ServeStaticOptions {
  /**
   * Directory the files are served from, relative to the working directory
   * or absolute. Required. It is resolved once, when `serveStatic()` is
   * called (symlinks included), and must exist then; nothing outside it is
   * ever served.
   */
  root: string;
  /**
   * File served for a directory request (`/assets/docs/`). Default
   * `"index.html"`; `false` serves no index (the directory is a 404 unless
   * `listing` is on). A directory requested without its trailing slash
   * (`/assets/docs`) whose index exists, or that is listed, is redirected
   * with 301 to the slash form, with a relative `Location` (`./docs/`) so
   * it works behind any mount prefix or proxy.
   */
  index?: string | false;
  /**
   * Paths with a segment starting with `.` (`.env`, `.git/config`).
   * Default `"deny"`: answered 404, even with `fallthrough`. `"ignore"`:
   * treated as missing (404, or `next()` with `fallthrough`). `"allow"`:
   * served like any other file.
   */
  dotfiles?: DotfilesPolicy;
  /**
   * Serve `file.br` / `file.zst` / `file.gz` next to `file` when the
   * request's `Accept-Encoding` accepts that coding, choosing the highest
   * q-value (ties go to the order given here). The variant is sent with the
   * original's `Content-Type`, `Content-Encoding` and its own `ETag`; every
   * response of the handler then carries `Vary: Accept-Encoding`. Default
   * `false`; `true` means `["br", "gzip"]`. Each accepted coding costs one
   * extra path lookup per request while its file is missing.
   */
  precompressed?: boolean | readonly PrecompressedEncoding[];
  /**
   * `ETag` of file responses. Default `"strong"`: made from the size and the
   * modification time (cheap; changes whenever the file is rewritten).
   * `"hash"`: a SHA-256 of the content, computed once per (path, size,
   * modification time) by reading the file through before its first
   * response, and kept in a cache of the 1024 most recently used files;
   * meant for assets whose copies must share tags across servers. `false`:
   * no `ETag` (If-None-Match then never matches).
   */
  etag?: EtagMode;
  /**
   * Send `Last-Modified` and honour `If-Modified-Since`,
   * `If-Unmodified-Since` and HTTP-date `If-Range`. Default `true`.
   */
  lastModified?: boolean;
  /**
   * `max-age` of `Cache-Control: public, max-age=N` on file responses, in
   * seconds. Default 0: caches may store the file but must revalidate it
   * (with its `ETag` / `Last-Modified`) before each reuse. Must be a
   * non-negative integer.
   */
  maxAgeSec?: number;
  /**
   * Paths (the wildcard match, e.g. `app.3f9a1c.js`) of fingerprinted files
   * whose content never changes under that name: they get
   * `Cache-Control: public, max-age=31536000, immutable` instead. Default
   * `false` (none). Must not have the `g` or `y` flag.
   */
  immutable?: RegExp | false;
  /**
   * On a miss (no such file, an ignored dotfile, a refused name), call
   * `next()` instead of answering 404, so a later handler can answer.
   * Default `false`.
   */
  fallthrough?: boolean;
  /**
   * Default `false`: a path that goes through a symlink anywhere below
   * `root` is a 404 (a symlink whose target leaves `root` is a 404 however
   * its name looks). `true`: symlinks are followed when their final target
   * is inside `root`; targets outside `root` are still a 404.
   */
  followSymlinks?: boolean;
  /**
   * Render an HTML listing for a directory without an index. Default
   * `false` (404). Names are HTML-escaped and links percent-encoded;
   * dotfiles are listed only with `dotfiles: "allow"` and symlinks only
   * with `followSymlinks`; at most 10 000 entries are shown.
   */
  listing?: boolean;
  /**
   * Extension → media type entries (`{ "ts": "text/typescript" }`) taking
   * precedence over the built-in `mime-db` table. Default `{}`. Textual
   * types get `charset=utf-8`; unknown extensions are sent as
   * `application/octet-stream`.
   */
  mimeTypes?: Readonly<Record<string, string>>;
}

const ENCODING_SUFFIX: Record<PrecompressedEncoding, string> = {
  br: ".br",
  zstd: ".zst",
  gzip: ".gz",
};

/** One precompressed coding with the file suffix it is stored under. */
export interface Variant {
  readonly encoding: PrecompressedEncoding;
  readonly suffix: string;
}

/** Validated options with per-factory values precomputed; internal. */
export interface StaticConfig {
  readonly root: string;
  readonly index: string | false;
  readonly dotfiles: DotfilesPolicy;
  readonly variants: readonly Variant[];
  readonly etag: EtagMode;
  readonly lastModified: boolean;
  readonly cacheControl: string;
  readonly immutable: RegExp | false;
  readonly fallthrough: boolean;
  readonly followSymlinks: boolean;
  readonly listing: boolean;
  readonly typeOf: (name: string) => string;
}

function oneOf<T extends string | boolean>(
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    const names = allowed.map((v) => JSON.stringify(v));
    const what = allowed.length === 2 && allowed[0] === true
      ? "a boolean"
      : names.slice(0, -1).join(", ") + " or " + names[names.length - 1];
    throw new TypeError(
      `Option ${name} must be ${what}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

function validIndex(index: unknown): string | false {
  if (index === undefined) return "index.html";
  if (index === false) return false;
  if (
    typeof index !== "string" || index === "" || index === "." ||
    index === ".." || /[/\\\0:]/.test(index)
  ) {
    throw new TypeError(
      `Option index must be a file name or false, got ${JSON.stringify(index)}`,
    );
  }
  return index;
}

function validVariants(value: unknown): Variant[] {
  if (value === undefined || value === false) return [];
  const list = value === true ? ["br", "gzip"] : value;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `Option precompressed must be a boolean or an array of "br", "zstd", "gzip", got ${
        JSON.stringify(value)
      }`,
    );
  }
  const out: Variant[] = [];
  for (const encoding of list) {
    if (!Object.hasOwn(ENCODING_SUFFIX, encoding)) {
      throw new TypeError(
        `Option precompressed must list only "br", "zstd" and "gzip", got ${
          JSON.stringify(encoding)
        }`,
      );
    }
    if (out.some((v) => v.encoding === encoding)) {
      throw new TypeError(
        `Option precompressed lists "${encoding}" more than once`,
      );
    }
    const e = encoding as PrecompressedEncoding;
    out.push({ encoding: e, suffix: ENCODING_SUFFIX[e] });
  }
  return out;
}

/**
 * Validates `options` and resolves `root` (which must be an existing
 * directory) to its real path.
 *
 * @throws {TypeError} naming the option and the value when one is invalid.
 */
export function resolveOptions(options: ServeStaticOptions): StaticConfig {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `serveStatic options must be an object, got ${String(options)}`,
    );
  }
  const { root } = options;
  if (typeof root !== "string" || root === "") {
    throw new TypeError(
      `Option root must be a non-empty path, got ${JSON.stringify(root)}`,
    );
  }
  let realRoot: string;
  try {
    realRoot = Deno.realPathSync(root);
  } catch (cause) {
    throw new TypeError(
      `Option root must be an existing directory, got "${root}"`,
      { cause },
    );
  }
  if (!Deno.statSync(realRoot).isDirectory) {
    throw new TypeError(`Option root must be a directory, got "${root}"`);
  }
  const maxAgeSec = options.maxAgeSec ?? 0;
  if (!Number.isSafeInteger(maxAgeSec) || maxAgeSec < 0) {
    throw new TypeError(
      `Option maxAgeSec must be a non-negative integer, got ${
        String(maxAgeSec)
      }`,
    );
  }
  const immutable = options.immutable ?? false;
  if (immutable !== false) {
    if (!(immutable instanceof RegExp)) {
      throw new TypeError(
        `Option immutable must be a RegExp or false, got ${String(immutable)}`,
      );
    }
    if (immutable.global || immutable.sticky) {
      throw new TypeError(
        `Option immutable must not have the g or y flag, got ${immutable}`,
      );
    }
  }
  const mimeTypes = options.mimeTypes;
  if (
    mimeTypes !== undefined && (mimeTypes === null ||
      typeof mimeTypes !== "object" || Array.isArray(mimeTypes))
  ) {
    throw new TypeError(
      `Option mimeTypes must be an object, got ${JSON.stringify(mimeTypes)}`,
    );
  }
  return {
    root: realRoot,
    index: validIndex(options.index),
    dotfiles: oneOf(
      "dotfiles",
      options.dotfiles,
      ["deny", "allow", "ignore"],
      "deny",
    ),
    variants: validVariants(options.precompressed),
    etag: oneOf("etag", options.etag, ["strong", "hash", false], "strong"),
    lastModified: oneOf(
      "lastModified",
      options.lastModified,
      [true, false],
      true,
    ),
    cacheControl: `public, max-age=${maxAgeSec}`,
    immutable,
    fallthrough: oneOf(
      "fallthrough",
      options.fallthrough,
      [true, false],
      false,
    ),
    followSymlinks: oneOf(
      "followSymlinks",
      options.followSymlinks,
      [true, false],
      false,
    ),
    listing: oneOf("listing", options.listing, [true, false], false),
    typeOf: contentTypes(mimeTypes),
  };
}
