/**
 * Helpers of the multipart parser tests: building bodies, streaming them in
 * chosen chunks, and collecting the parts.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type MultipartLimits,
  parseMultipartStream,
} from "../../src/body/multipart_stream.ts";
import { HttpError } from "../../src/http/errors.ts";
import type { RejectReason } from "../../src/http/limits.ts";

export const enc: TextEncoder = new TextEncoder();

export const BIG: MultipartLimits = {
  fileBytes: 1 << 30,
  files: 1000,
  formFields: 1000,
  fieldBytes: 1 << 30,
  partHeaderBytes: 16 * 1024,
  bodyBytes: 1 << 30,
};

export interface Spec {
  name: string;
  filename?: string;
  type?: string;
  headers?: string[];
  content: Uint8Array | string;
}

export function bytesOf(x: Uint8Array | string): Uint8Array {
  return typeof x === "string" ? enc.encode(x) : x;
}

/** A multipart body for `parts`. */
export function build(
  boundary: string,
  parts: Spec[],
  opts: { preamble?: string; epilogue?: string; close?: boolean } = {},
): Uint8Array {
  const chunks: Uint8Array[] = [];
  if (opts.preamble) chunks.push(enc.encode(opts.preamble + "\r\n"));
  for (const p of parts) {
    let head =
      `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += "\r\n";
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    for (const h of p.headers ?? []) head += h + "\r\n";
    chunks.push(
      enc.encode(head + "\r\n"),
      bytesOf(p.content),
      enc.encode("\r\n"),
    );
  }
  if (opts.close !== false) chunks.push(enc.encode(`--${boundary}--\r\n`));
  if (opts.epilogue) chunks.push(enc.encode(opts.epilogue));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A stream of `bytes` cut at `cuts` (sorted offsets), counting what was pulled. */
export function source(
  bytes: Uint8Array,
  cuts: number[] | "bytes" = [],
): {
  stream: ReadableStream<Uint8Array>;
  pulled: () => number;
  cancelled: () => boolean;
} {
  const edges = cuts === "bytes"
    ? Array.from({ length: bytes.length }, (_, i) => i + 1)
    : [...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  let i = 0;
  let start = 0;
  let pulled = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      while (i < edges.length && edges[i] <= start) i++;
      if (i >= edges.length || start >= bytes.length) {
        controller.close();
        return;
      }
      const end = edges[i++];
      const chunk = bytes.slice(start, end);
      pulled += chunk.length;
      start = end;
      controller.enqueue(chunk);
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => pulled, cancelled: () => cancelled };
}

export interface Got {
  kind: "field" | "file";
  name: string;
  value?: string;
  filename?: string;
  type?: string;
  content?: Uint8Array;
}

/** Parses fully, reading every file stream before moving on. */
export async function collect(
  stream: ReadableStream<Uint8Array>,
  boundary: string,
  limits: MultipartLimits = BIG,
  onReject?: (reason: RejectReason, status: number, detail: string) => void,
): Promise<Got[]> {
  const out: Got[] = [];
  for await (
    const part of parseMultipartStream(stream, boundary, limits, onReject)
  ) {
    if (part.kind === "field") {
      out.push({ kind: "field", name: part.name, value: part.value });
    } else {
      const content = new Uint8Array(
        await new Response(part.stream).arrayBuffer(),
      );
      out.push({
        kind: "file",
        name: part.name,
        filename: part.filename,
        type: part.type,
        content,
      });
    }
  }
  return out;
}

export async function rejection(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
    return error;
  }
  assert.fail("did not reject");
}
