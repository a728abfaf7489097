/**
 * The one place that reads Deno's internal, symbol-keyed state of `Response`,
 * `Headers` and connection objects. Every symbol is looked up once by its description;
 * when a Deno version renames one, the lookup finds nothing and every helper
 * falls back to the public API (slower, same results).
 *
 * @module
 */

import net from "node:net";
import process from "node:process";

function symbolOf(target: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(target).find((s) =>
    s.description === description
  );
}

const probeResponse = new Response("");
const probeHeaders = new Headers();
const RESPONSE = symbolOf(probeResponse, "response");
const HEADERS_GUARD = symbolOf(probeResponse, "headers guard");
const HEADER_LIST = symbolOf(probeHeaders, "header list");
const HEADER_TARGET = symbolOf(probeHeaders, "header target");
const GUARD = symbolOf(probeHeaders, "guard");
const LAZY_STATIC_BODY = symbolOf(probeResponse, "lazy static body");

type Pairs = [string, string][];
type Bag = Record<symbol, unknown>;

/**
 * Whether `res` has immutable headers (`Response.redirect`, `Response.error`,
 * a `fetch()` result), without materialising its `Headers` object.
 */
export function hasImmutableHeaders(res: Response): boolean {
  if (HEADERS_GUARD !== undefined) {
    const guard = (res as unknown as Bag)[HEADERS_GUARD];
    if (typeof guard === "string") return guard === "immutable";
  }
  const headers = res.headers;
  if (GUARD !== undefined) {
    const guard = (headers as unknown as Bag)[GUARD];
    if (typeof guard === "string") return guard === "immutable";
  }
  try {
    headers.append("x-palisade-probe", "");
    headers.delete("x-palisade-probe");
    return false;
  } catch {
    return true;
  }
}

/**
 * The raw field list of `headers` in arrival order (names as given,
 * duplicates separate), or null when it cannot be reached. Iterating
 * `Headers` instead sorts and combines the fields on every call.
 */
export function headerPairs(headers: Headers): Pairs | null {
  if (HEADER_LIST === undefined) return null;
  const bag = headers as unknown as Bag;
  const own = bag[HEADER_LIST];
  if (Array.isArray(own)) return own as Pairs;
  const target = HEADER_TARGET === undefined
    ? undefined
    : bag[HEADER_TARGET] as { headerList?: unknown } | null | undefined;
  const list = target?.headerList;
  return Array.isArray(list) ? list as Pairs : null;
}

/**
 * The header fields of `res` in order (materialising its `Headers` when it
 * was built lazily): Deno's internal list when reachable, else the iterated
 * `Headers`.
 */
export function responseHeaderPairs(res: Response): Iterable<[string, string]> {
  const headers = res.headers;
  const list = RESPONSE === undefined
    ? undefined
    : ((res as unknown as Bag)[RESPONSE] as { headerList?: unknown })
      ?.headerList;
  return Array.isArray(list) ? list as Pairs : headers;
}

interface StaticBody {
  body: unknown;
  consumed: boolean;
}

/** The inner static body record of `res`, when it has one. */
function staticRecord(res: Response): StaticBody | undefined {
  if (RESPONSE === undefined) return undefined;
  const inner = (res as unknown as Bag)[RESPONSE] as
    | { body?: { streamOrStatic?: unknown } | null }
    | undefined;
  const sos = inner?.body?.streamOrStatic as StaticBody | undefined;
  return sos === undefined || sos === null || sos instanceof ReadableStream ||
      sos.consumed !== false
    ? undefined
    : sos;
}

/**
 * The body of `new Response(string | Uint8Array)` (or `Response.json`) as
 * that value, without consuming it; undefined for a stream, no body, or
 * when the internals are not reachable. Middleware use it to learn a body's
 * size without reading a stream.
 */
export function peekStaticBody(res: Response): string | Uint8Array | undefined {
  if (LAZY_STATIC_BODY !== undefined) {
    const lazy = (res as unknown as Bag)[LAZY_STATIC_BODY];
    if (typeof lazy === "string" || lazy instanceof Uint8Array) return lazy;
  }
  const value = staticRecord(res)?.body;
  return typeof value === "string" || value instanceof Uint8Array
    ? value
    : undefined;
}

/**
 * The body of `new Response(string | Uint8Array)` as that value, marked
 * consumed, or undefined for a stream or when the internals are not
 * reachable. `Deno.serve` writes such bodies without a stream; the h1 engine
 * does the same with this. Read `res.headers` first: Deno builds the inner
 * body of a lazily built Response together with its headers.
 */
export function takeStaticBody(res: Response): string | Uint8Array | undefined {
  const sos = staticRecord(res);
  if (sos === undefined) return undefined;
  const value = sos.body;
  if (typeof value === "string" || value instanceof Uint8Array) {
    sos.consumed = true;
    return value;
  }
  return undefined;
}

/** What kind of body a Response has; see {@linkcode bodyKind}. */
export type BodyKind = "none" | "static" | "stream";

/**
 * Whether `res` has no body, a static one (a string or bytes given to
 * `new Response`), or a stream, without reading `res.body` (which turns a
 * static body into a stream).
 */
export function bodyKind(res: Response): BodyKind {
  if (RESPONSE !== undefined && LAZY_STATIC_BODY !== undefined) {
    const bag = res as unknown as Bag;
    const lazy = bag[LAZY_STATIC_BODY];
    if (typeof lazy === "string" || lazy instanceof Uint8Array) {
      return "static";
    }
    const inner = bag[RESPONSE] as
      | { body?: { streamOrStatic?: unknown } | null }
      | undefined;
    if (inner !== undefined) {
      const body = inner.body;
      if (body === null || body === undefined) return "none";
      return body.streamOrStatic instanceof ReadableStream
        ? "stream"
        : "static";
    }
  }
  return res.body === null ? "none" : "stream";
}

/**
 * Whether the current call was made by `deno serve`'s declarative server
 * (`export default app`): its wrapper, named `handler` in Deno's serve
 * module, is the caller's caller. Read from the stack once, when the App
 * first sees a request; false when the frame is not recognised.
 */
export function calledByDenoServe(): boolean {
  const frames = new Error().stack?.split("\n") ?? [];
  // [0] "Error", [1] this function, [2] the App's fetch, [3] its caller.
  return /^\s*at handler \(ext:deno_http\/00_serve\./.test(frames[3] ?? "");
}

const FAST_STATUS = symbolOf(probeResponse, "serve fast status");
const FAST_BODY = symbolOf(probeResponse, "serve fast body");
const FAST_KIND = symbolOf(probeResponse, "serve fast header kind");
const FAST_TYPE = symbolOf(probeResponse, "serve fast content type");
const FAST_CONSUMED = symbolOf(probeResponse, "serve fast consumed");

/** A Response in Deno's fast form: a status, a static body, one content type. */
export interface FastResponse {
  /** The status code. */
  readonly status: number;
  /** The body as given. */
  readonly body: string | Uint8Array;
  /** The content type, or null for none (a bytes body). */
  readonly contentType: string | null;
}

const TEXT_TYPE = "text/plain;charset=UTF-8";

/**
 * The status, body and content type of a Response Deno keeps in its fast
 * form (`new Response(string | bytes)`, `Response.json(data)`, a single
 * `content-type` init; never touched since), marked consumed; null for any
 * other Response (its headers were read or set, a stream, another status
 * than 200, several headers). Lets the h1 engine write such a Response
 * without building its `Headers`.
 */
export function takeFastResponse(res: Response): FastResponse | null {
  if (FAST_STATUS === undefined || FAST_CONSUMED === undefined) return null;
  const bag = res as unknown as Bag;
  const status = bag[FAST_STATUS];
  if (typeof status !== "number" || status === 0) return null;
  const body = bag[FAST_BODY!];
  if (
    bag[FAST_CONSUMED] !== false ||
    (typeof body !== "string" && !(body instanceof Uint8Array))
  ) return null;
  const kind = bag[FAST_KIND!];
  const contentType = kind === 1
    ? TEXT_TYPE
    : kind === 2
    ? bag[FAST_TYPE!] as string
    : kind === 0
    ? null
    : undefined;
  if (contentType === undefined) return null;
  bag[FAST_CONSUMED] = true;
  return { status, body, contentType };
}

/** Deno's libuv-style TCP handle class, as `node:net` sockets use. */
interface TcpHandleClass {
  new (type: number): { openFromRid(rid: number): number };
}

let tcpWrap: { TCP: TcpHandleClass; SOCKET: number } | null | undefined;
/** The symbol under which a `Deno.Conn` keeps its resource id. */
let ridSymbol: symbol | null | undefined;

/**
 * A `node:net` socket over the same socket as `conn`, backed by Deno's
 * native TCP handle, so `node:tls` can run TLS on it inside Deno (about
 * twice as fast as over a JavaScript stream, measured on 2.9.6). The
 * handle shares `conn`'s resource and holds a second descriptor: close
 * both. Null when this Deno has no such handle; the caller then falls back
 * to a stream over `conn`.
 */
export function nativeSocket(conn: Deno.Conn): net.Socket | null {
  if (tcpWrap === undefined) {
    try {
      const binding = (process as unknown as {
        binding(name: string): {
          TCP: TcpHandleClass;
          constants: { SOCKET: number };
        };
      }).binding("tcp_wrap");
      tcpWrap = typeof binding?.TCP === "function"
        ? { TCP: binding.TCP, SOCKET: binding.constants.SOCKET }
        : null;
    } catch {
      tcpWrap = null;
    }
  }
  if (tcpWrap === null) return null;
  ridSymbol ??= symbolOf(conn, "Deno.internal.rid") ?? null;
  const rid = ridSymbol === null
    ? undefined
    : (conn as unknown as Bag)[ridSymbol];
  if (typeof rid !== "number") return null;
  const handle = new tcpWrap.TCP(tcpWrap.SOCKET);
  if (handle.openFromRid(rid) !== 0) return null;
  return new net.Socket({ handle, readable: true, writable: true } as never);
}
