/**
 * Content types of served files: the extension table generated from
 * `mime-db` ({@link ./mime_db.ts}), per-app overrides, and the charset rule.
 *
 * @module
 */

import { parseMediaType } from "../body/content_type.ts";
import { MIME_DB } from "./mime_db.ts";

/** The type of a file whose extension is unknown. */
export const DEFAULT_TYPE = "application/octet-stream";

const TEXT_APPLICATIONS = new Set([
  "application/json",
  "application/javascript",
  "application/ecmascript",
  "application/x-javascript",
  "application/xml",
  "application/x-sh",
]);

/**
 * Returns the `Content-Type` value to send for the media type `type`:
 * `; charset=utf-8` is appended to textual types (`text/*`, JSON and XML
 * including `+json`/`+xml` types such as `image/svg+xml`, JavaScript) that do
 * not name a charset already.
 *
 * @example Usage
 * ```ts
 * import { withCharset } from "./mime.ts";
 * withCharset("text/css"); // "text/css; charset=utf-8"
 * withCharset("image/png"); // "image/png"
 * ```
 */
export function withCharset(type: string): string {
  const mt = parseMediaType(type);
  if (mt === null || "charset" in mt.params) return type;
  const textual = mt.type === "text" || TEXT_APPLICATIONS.has(mt.essence) ||
    mt.subtype.endsWith("+json") || mt.subtype.endsWith("+xml");
  return textual ? type + "; charset=utf-8" : type;
}

/** Extension (lower case, no dot) → `Content-Type` value with charset. */
const TABLE: Map<string, string> = new Map();
for (const line of MIME_DB.split("\n")) {
  for (const group of line.split("|")) {
    const words = group.trim().split(" ");
    if (words[0] === "") continue;
    const value = withCharset(words[0]);
    for (let i = 1; i < words.length; i++) TABLE.set(words[i], value);
  }
}

/**
 * The lower-case extension of the last segment of a `/`-separated path
 * without its dot (`"js/app.JS"` → `"js"`), or `""` when it has none
 * (`"README"`, `".env"`, `"a.d/file"`).
 */
export function extensionOf(path: string): string {
  const dot = path.lastIndexOf(".");
  const base = path.lastIndexOf("/") + 1;
  return dot <= base ? "" : path.slice(dot + 1).toLowerCase();
}

/**
 * Builds the lookup from file names to `Content-Type` values: `overrides`
 * (extension → media type, validated) first, then the `mime-db` table, then
 * `application/octet-stream`.
 *
 * @throws {TypeError} naming the extension when an override is not a valid
 * media type.
 */
export function contentTypes(
  overrides: Readonly<Record<string, string>> | undefined,
): (name: string) => string {
  if (overrides === undefined) {
    return (name) => TABLE.get(extensionOf(name)) ?? DEFAULT_TYPE;
  }
  const own = new Map<string, string>();
  for (const [key, type] of Object.entries(overrides)) {
    const ext = (key.startsWith(".") ? key.slice(1) : key).toLowerCase();
    if (ext === "" || ext.includes(".") || ext.includes("/")) {
      throw new TypeError(
        `Option mimeTypes must map extensions like "js", got "${key}"`,
      );
    }
    if (typeof type !== "string" || parseMediaType(type) === null) {
      throw new TypeError(
        `Option mimeTypes["${key}"] must be a valid media type, got ${
          JSON.stringify(type)
        }`,
      );
    }
    own.set(ext, withCharset(type));
  }
  return (name) => {
    const ext = extensionOf(name);
    return own.get(ext) ?? TABLE.get(ext) ?? DEFAULT_TYPE;
  };
}

/**
 * Every extension of the built-in table with its `Content-Type` value; for
 * tests and tools.
 */
export function builtinTypes(): ReadonlyMap<string, string> {
  return TABLE;
}
