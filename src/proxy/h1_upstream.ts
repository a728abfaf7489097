/**
 * The proxy's own HTTP/1.1 client for `http:` upstreams, over `Deno.connect`
 * with pooled keep-alive connections (`wire/pool.ts`): about a quarter of
 * the CPU of Deno's `fetch` per proxied request (measured with
 * `bench/proxy_load.ts`), because it parses and writes bytes the way the h1
 * engine does instead of building `Request`/`Response` pairs and crossing
 * into hyper. `https:` upstreams still go through `fetch`.
 *
 * - Request: `method target HTTP/1.1`, the fields the proxy chose, `Host`,
 *   and the body framed by `Content-Length` (a body read whole, or one whose
 *   client declared its length) or chunked (any other streamed body),
 *   written while the response is awaited.
 * - Response: the head parsed strictly within its limits
 *   (`wire/response_head.ts`), interim 1xx answers skipped, the body framed
 *   by RFC 9112 §6.3 (`wire/body.ts`). A body of at most 64 KiB by its
 *   `Content-Length` is read whole; larger and chunked ones are streamed
 *   with backpressure.
 * - A connection goes back to its pool only after its response was read
 *   whole, its request body sent whole, and when both sides keep it alive
 *   (HTTP/1.1, no `Connection: close`, unambiguous framing).
 * - A pooled connection that fails before any byte of the response (the
 *   upstream closed it as the request went out) is retried once on a new
 *   connection when the request may be sent twice (idempotent, body
 *   replayable); every other failure is the attempt's.
 *
 * @module
 */

import type { Exchange } from "./exchange.ts";
import type { OutgoingBody } from "./request_body.ts";
import type { Upstream } from "./upstreams.ts";
import {
  BodyReader,
  bodyStream,
  copyEndToEnd,
  type Relay,
  relayOf,
} from "./wire/body.ts";
import { dial, type UpstreamConn, WireError } from "./wire/conn.ts";
import type { ConnPool } from "./wire/pool.ts";
import { HeadReader, type ResponseHead } from "./wire/response_head.ts";

/** Largest response body (by `Content-Length`) read whole. */
const BUFFER_BYTES = 64 * 1024;
/** Most interim (1xx) answers skipped before the final one. */
const MAX_INTERIM = 8;

const CRLF = new Uint8Array([0x0d, 0x0a]);
const LAST_CHUNK = new TextEncoder().encode("0\r\n\r\n");
const encoder = new TextEncoder();

/** One request as the proxy sends it upstream. */
export interface UpstreamRequest {
  readonly method: string;
  /** End-to-end and forwarding fields; not `Host`, not framing fields. */
  readonly fields: readonly (readonly [string, string])[];
  /** The client's `Host`, when `preserveHost` keeps it; else null. */
  readonly host: string | null;
  readonly body: OutgoingBody;
  /** A streamed body's declared `Content-Length`; null = chunked. */
  readonly bodyLength: number | null;
  /** Whether the request may be sent twice (RFC 9110 §9.2.2). */
  readonly idempotent: boolean;
}

/** Per-connection parsing state, kept with the connection. */
const readers = new WeakMap<UpstreamConn, HeadReader>();

/**
 * Sends `req` to `target` (path and query) on `u`, an `http:` upstream,
 * for the attempt `ex`, and returns the client's
 * Response (status, end-to-end fields, body). Ends `ex` once the body has
 * been read whole (at once for no body or a small one; when the relayed
 * stream ends otherwise).
 *
 * @throws {WireError} with the failure cause; the client's own body error
 * as it is (`req.body.error`).
 */
export async function sendH1(
  ex: Exchange,
  u: Upstream,
  req: UpstreamRequest,
  target: string,
): Promise<Response> {
  const pool = u.pool!;
  const head = requestHead(req, u, target);
  let c = pool.take();
  let sending: Sending;
  let res: ResponseHead;
  for (;;) {
    c ??= await dial(u, ex.signal, []);
    ex.conn = c;
    try {
      sending = await send(c, head, req);
      res = await finalHead(c);
      break;
    } catch (error) {
      c.close();
      const stale = c.reused && c.end === 0 && error instanceof WireError &&
        error.failure === "reset" && req.idempotent && req.body.replayable;
      if (req.body.error !== undefined) throw req.body.error;
      if (!stale || ex.aborted) throw error;
      c = null; // the upstream closed a pooled connection: once more, fresh
    }
  }
  return await respond(ex, c, pool, req.method, res, sending);
}

/** The request head for `target` on `u`, with the body's framing field. */
function requestHead(
  req: UpstreamRequest,
  u: Upstream,
  target: string,
): string {
  let head = req.method + " " + target + " HTTP/1.1\r\nhost: " +
    (req.host ?? u.host) + "\r\n";
  const fields = req.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    head += f[0] + ": " + f[1] + "\r\n";
  }
  const body = req.body.init;
  if (body instanceof Uint8Array) {
    head += "content-length: " + body.length + "\r\n";
  } else if (body !== null) {
    head += req.bodyLength === null
      ? "transfer-encoding: chunked\r\n"
      : "content-length: " + req.bodyLength + "\r\n";
  }
  return head + "\r\n";
}

/**
 * How the request went out: all of it (null), or a body still streaming:
 * `done` resolves true once it was sent whole (false when it failed, which
 * also closed the connection and so failed the response read).
 */
type Sending = { readonly done: Promise<boolean> } | null;

/** Writes the head, and a body read whole; starts streaming any other. */
async function send(
  c: UpstreamConn,
  head: string,
  req: UpstreamRequest,
): Promise<Sending> {
  const body = req.body.init;
  if (body === null || body instanceof Uint8Array) {
    await c.writeHead(head, body);
    return null;
  }
  await c.writeHead(head, null);
  const streamed = body as ReadableStream<Uint8Array>;
  const done = pump(c, streamed, req.bodyLength === null).then(
    () => true,
    () => {
      c.close();
      return false;
    },
  );
  return { done };
}

async function pump(
  c: UpstreamConn,
  body: ReadableStream<Uint8Array>,
  chunked: boolean,
): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      const data = r.value;
      if (data.length === 0) continue;
      if (chunked) {
        const size = encoder.encode(data.length.toString(16) + "\r\n");
        const frame = new Uint8Array(size.length + data.length + 2);
        frame.set(size);
        frame.set(data, size.length);
        frame.set(CRLF, size.length + data.length);
        await c.write(frame);
      } else await c.write(data);
    }
    if (chunked) await c.write(LAST_CHUNK);
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  }
}

/** Reads the final response head, skipping interim ones. */
async function finalHead(c: UpstreamConn): Promise<ResponseHead> {
  let reader = readers.get(c);
  if (reader === undefined) readers.set(c, reader = new HeadReader());
  for (let i = 0; i < MAX_INTERIM; i++) {
    const head = await reader.read(c);
    if (head.status >= 200) return head;
    if (head.status === 101) {
      throw new WireError("protocol", "Unexpected 101 to a plain request");
    }
  }
  throw new WireError("protocol", "Too many interim responses");
}

/**
 * Builds the client's Response for `head` on `c`, synchronously when the
 * body is none or already buffered whole (the common case); releases `c`
 * once the body was read.
 */
function respond(
  ex: Exchange,
  c: UpstreamConn,
  pool: ConnPool,
  method: string,
  head: ResponseHead,
  sending: Sending,
): Response | Promise<Response> {
  let relay;
  try {
    relay = relayOf(head, method);
  } catch (error) {
    c.close();
    throw error;
  }
  const framing = relay.framing;
  const keep = relay.keepAlive;
  if (framing.kind === "none") {
    ex.end(null);
    release(ex, c, pool, keep, sending);
    return responseOf(null, head, relay);
  }
  if (framing.kind === "length" && framing.length <= BUFFER_BYTES) {
    const whole = framing.length;
    if (c.buffered >= whole) {
      // The body came with the head.
      const bytes = c.buf.slice(c.start, c.start + whole);
      c.start += whole;
      ex.end(null);
      release(ex, c, pool, keep, sending);
      return responseOf(bytes, head, relay);
    }
    return readWhole(ex, c, pool, keep, sending, whole, head, relay);
  }
  const reader = new BodyReader(c, framing);
  const body = bodyStream(
    reader,
    c,
    () => release(ex, c, pool, keep, sending),
  );
  ex.relaying = true;
  return responseOf(ex.relay(body), head, relay);
}

/** Reads a small body that did not come with its head, then answers. */
async function readWhole(
  ex: Exchange,
  c: UpstreamConn,
  pool: ConnPool,
  keep: boolean,
  sending: Sending,
  whole: number,
  head: ResponseHead,
  relay: Relay,
): Promise<Response> {
  const reader = new BodyReader(c, relay.framing);
  const bytes = new Uint8Array(whole);
  let at = 0;
  try {
    for (;;) {
      const piece = await reader.next();
      if (piece === null) break;
      bytes.set(piece, at);
      at += piece.length;
    }
  } catch (error) {
    c.close();
    throw error;
  }
  ex.end(null);
  release(ex, c, pool, keep, sending);
  return responseOf(bytes, head, relay);
}

/**
 * Hands `c` back to its pool once its response was read whole, when it
 * keeps alive, nothing unexpected follows, and the request body went out
 * whole; else closes it.
 */
function release(
  ex: Exchange,
  c: UpstreamConn,
  pool: ConnPool,
  keep: boolean,
  sending: Sending,
): void {
  ex.conn = null;
  if (!keep || c.buffered !== 0 || c.closed) c.close();
  else if (sending === null) pool.put(c);
  else sending.done.then((sent) => sent ? pool.put(c) : c.close());
}

/** The client's Response: `body`, with the status and end-to-end fields of `head`. */
function responseOf(
  body: BodyInit | null,
  head: ResponseHead,
  relay: Relay,
): Response {
  const res = new Response(body, { status: head.status });
  copyEndToEnd(head.fields, relay.named, res.headers);
  return res;
}
