/**
 * Content-hash `ETag`s (`etag: "hash"`), computed once per (path, size,
 * modification time) and kept in a bounded least-recently-used cache.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { STREAM_CHUNK_BYTES } from "./file_body.ts";

/** Files whose hash is remembered per `serveStatic` handler. */
export const HASH_CACHE_ENTRIES = 1024;

/**
 * A bounded cache of content-hash entity tags. Concurrent requests for the
 * same file share one computation; a file that changed while it was being
 * hashed is not cached.
 */
export class HashEtags {
  #entries = new Map<string, Promise<string>>();
  #max: number;

  /** Creates a cache holding at most `max` files. */
  constructor(max: number = HASH_CACHE_ENTRIES) {
    this.#max = max;
  }

  /** Number of cached files (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The `ETag` of the file at `path` whose stat gave `size` and `mtime`:
   * 22 base64url characters of its SHA-256 in quotes, plus `-coding` for a
   * precompressed variant.
   */
  get(
    path: string,
    size: number,
    mtime: Date | null,
    coding: string,
  ): Promise<string> {
    const key = `${path}\0${size}\0${mtime?.getTime() ?? ""}`;
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key); // refresh its place as most recent
      this.#entries.set(key, hit);
      return hit;
    }
    const tail = coding === "" ? "" : "-" + coding;
    const job = hashFile(path).then(async (digest) => {
      const now = await Deno.stat(path);
      if (now.size !== size || now.mtime?.getTime() !== mtime?.getTime()) {
        this.#entries.delete(key); // changed while hashed: do not keep it
      }
      return `"${digest}${tail}"`;
    });
    job.catch(() => this.#entries.delete(key));
    this.#entries.set(key, job);
    if (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return job;
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(STREAM_CHUNK_BYTES);
  while (true) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest("base64url").slice(0, 22);
}
