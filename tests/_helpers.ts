/**
 * Test helpers: real servers on 127.0.0.1:0 and raw-socket HTTP exchanges.
 *
 * @module
 */

import type { App } from "../src/app/app.ts";

/** A running Deno.serve server for an App. */
export interface TestServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `app.fetch` with plain `Deno.serve` on an ephemeral port. */
export function denoServe(app: App): TestServer {
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen() {},
  }, app.fetch);
  return {
    port: server.addr.port,
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}

const decoder = new TextDecoder();

/** Parsed raw HTTP response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/** Parses the first response of `raw` (content-length or chunked or until end). */
export function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf("\r\n\r\n");
  const head = end === -1 ? raw : raw.slice(0, end);
  const [statusLine, ...lines] = head.split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = end === -1 ? "" : raw.slice(end + 4);
  if (headers["transfer-encoding"] === "chunked") {
    let out = "";
    let rest = body;
    while (true) {
      const nl = rest.indexOf("\r\n");
      if (nl === -1) break;
      const size = parseInt(rest.slice(0, nl), 16);
      if (!size) break;
      out += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 2 + size + 2);
    }
    body = out;
  } else if (headers["content-length"] !== undefined) {
    body = body.slice(0, Number(headers["content-length"]));
  }
  return { status, headers, body, raw };
}

/**
 * Sends `request` bytes and reads until the server closes or `until` says the
 * collected text is complete; bounded by `timeoutMs`.
 */
export async function rawExchange(
  port: number,
  request: string | Uint8Array,
  options: { until?: (text: string) => boolean; timeoutMs?: number } = {},
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, options.timeoutMs ?? 5000);
  let text = "";
  try {
    await conn.write(
      typeof request === "string" ? new TextEncoder().encode(request) : request,
    );
    const buf = new Uint8Array(64 * 1024);
    while (true) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        break;
      }
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
      if (options.until?.(text)) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
  return text;
}

/** True once `text` holds one complete response with a content-length body. */
export function hasCompleteResponse(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const r = parseResponse(text);
  if (r.headers["transfer-encoding"] === "chunked") {
    return text.endsWith("0\r\n\r\n");
  }
  const len = Number(r.headers["content-length"] ?? 0);
  return text.length - end - 4 >= len;
}
