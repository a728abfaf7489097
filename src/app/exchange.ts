/**
 * The exchange: everything the App keeps about one request while it is in
 * flight (its phase, deadline links, the stream it answered with, what the
 * access log needs). It belongs to the App's lifecycle; the request's
 * Context holds it privately, so none of it is reachable by users.
 *
 * @module
 */

import { Body } from "../body/body.ts";
import type { BodyCoding } from "../body/encoding.ts";
import type { Context } from "../context/context.ts";
import { Cookies, type CookiesOptions } from "../context/cookies.ts";
import type {
  RequestCore,
  SocketClosed,
  TrackedSocket,
} from "../context/core.ts";
import type { StreamControl } from "../context/stream.ts";
import type { Limits, RejectReason } from "../http/limits.ts";
import type { Metrics } from "../observe/metrics.ts";
import type {
  RemoteAddr,
  RequestSource,
  ServeInfo,
} from "../transport/contract.ts";
import type { DeadlineList, Inflight } from "./inflight.ts";
import { LOCAL_INFO } from "./request_info.ts";
import type { RouteEntry } from "./route_table.ts";

/**
 * Where a request is: `"handling"` until a response is chosen,
 * `"responded"` while its streamed body is still being sent, `"finished"`
 * once complete (or cut).
 */
export type Phase = "handling" | "responded" | "finished";

/** What an exchange reports to the App that owns it. */
export interface ExchangeOwner {
  readonly metrics: Metrics | undefined;
  /** The App's signing keys for cookies. */
  readonly keys: readonly string[] | undefined;
  /** How request cookies are parsed. */
  readonly cookieOptions: CookiesOptions | undefined;
  /** Request `Content-Encoding`s the body readers decode. */
  readonly requestEncodings: readonly BodyCoding[];
  remoteOf(ex: Exchange, peer: RemoteAddr): RemoteAddr;
  reject(
    reason: RejectReason,
    status: number,
    detail: string,
    ex: Exchange | null,
  ): void;
  expire(ex: Exchange): void;
  streamEnded(ex: Exchange, control: StreamControl, error?: unknown): void;
  track(ex: Exchange, socket: TrackedSocket): (closed: SocketClosed) => void;
}

const UNKNOWN_PEER: RemoteAddr = { hostname: "", port: 0 };

function clientGone(): DOMException {
  return new DOMException("Client disconnected", "AbortError");
}

/** One request in flight; see the module doc. */
export class Exchange implements Inflight, RequestCore {
  // In-flight registry links.
  deadline: number = Infinity;
  prev: Inflight | null = null;
  next: Inflight | null = null;
  list: DeadlineList | null = null;

  phase: Phase = "handling";
  /** A HEAD request answered by its GET route: the body is dropped. */
  headViaGet = false;
  /** Resolves the promise the transport waits on, for async handlers. */
  resolve: ((res: Response) => void) | null = null;
  /** The ending-capable body the response streams, once there is one. */
  stream: StreamControl | null = null;
  /** `performance.now()` at the start. */
  start = 0;
  /** Status of the response sent. */
  status = 0;
  /** The body given to `ctx.json/text/html`, for the access log's size. */
  sentValue: unknown = undefined;
  /** Whether `sentValue` is a value to serialise as JSON. */
  sentJson = false;
  /** Bytes the streamed body delivered, once it ended. */
  streamBytes: number | null = null;
  /** The last rejection reason recorded for this request. */
  reason: RejectReason | null = null;
  requestId = "";
  readonly owner: ExchangeOwner;
  readonly entry: RouteEntry;
  readonly req: Request | null;
  readonly src: RequestSource | null;
  readonly info: ServeInfo | undefined;
  readonly query: string;
  readonly rawPath: string;
  ctx!: Context;
  #request: Request | null;
  #body: Body | undefined;
  #cookies: Cookies | undefined;
  #ac: AbortController | undefined;
  #client: AbortSignal | undefined;
  #onClientAbort: (() => void) | undefined;
  #remote: RemoteAddr | undefined;

  constructor(
    owner: ExchangeOwner,
    entry: RouteEntry,
    req: Request | null,
    src: RequestSource | null,
    info: ServeInfo | undefined,
    rawPath: string,
    query: string,
  ) {
    this.owner = owner;
    this.entry = entry;
    this.req = req;
    this.#request = req;
    this.src = src;
    this.info = info;
    this.rawPath = rawPath;
    this.query = query;
  }

  get limits(): Readonly<Limits> {
    return this.entry.limits;
  }

  get metrics(): Metrics | undefined {
    return this.owner.metrics;
  }

  /** The cookie jar, if the handler used `ctx.cookies`. */
  get cookiesIfUsed(): Cookies | undefined {
    return this.#cookies;
  }

  /** The body reader, if the handler created one. */
  get bodyIfUsed(): Body | undefined {
    return this.#body;
  }

  header(name: string): string | null {
    return this.req !== null
      ? this.req.headers.get(name)
      : this.src!.header(name);
  }

  request(): Request {
    return this.#request ??= this.src!.toRequest();
  }

  cookies(): Cookies {
    return this.#cookies ??= new Cookies(
      this.header("cookie"),
      this.owner.keys,
      this.owner.cookieOptions,
    );
  }

  body(): Body {
    return this.#body ??= new Body(
      this.#request ?? this.src!,
      this.entry.limits,
      (reason, status, detail) => this.reject(reason, status, detail),
      this.owner.requestEncodings,
    );
  }

  signal(): AbortSignal {
    if (this.#ac === undefined) {
      this.#ac = new AbortController();
      const client = this.req !== null ? this.req.signal : this.src!.signal;
      if (client.aborted) this.abort(clientGone());
      else if (this.phase !== "finished") {
        this.#client = client;
        this.#onClientAbort = () => {
          if (this.phase !== "finished") this.abort(clientGone());
        };
        client.addEventListener("abort", this.#onClientAbort);
      }
    }
    return this.#ac.signal;
  }

  /** Aborts the signal (if anyone holds it, or later) with `reason`. */
  abort(reason: unknown): void {
    const ac = this.#ac ??= new AbortController();
    if (!ac.signal.aborted) ac.abort(reason);
  }

  /**
   * Stops listening for client disconnects once the response is complete
   * (`Deno.serve` aborts `request.signal` after normal responses too).
   */
  detach(): void {
    if (this.#onClientAbort !== undefined) {
      this.#client!.removeEventListener("abort", this.#onClientAbort);
      this.#onClientAbort = undefined;
    }
  }

  remote(): RemoteAddr {
    if (this.#remote === undefined) {
      const peer = this.info?.remoteAddr;
      this.#remote = this.owner.remoteOf(
        this,
        peer && "hostname" in peer
          ? { hostname: peer.hostname, port: peer.port }
          : UNKNOWN_PEER,
      );
    }
    return this.#remote;
  }

  sent(value: unknown, json: boolean): void {
    this.sentValue = value;
    this.sentJson = json;
  }

  streaming(control: StreamControl): void {
    this.stream = control;
  }

  streamEnded(control: StreamControl, error?: unknown): void {
    this.owner.streamEnded(this, control, error);
  }

  reject(reason: RejectReason, status: number, detail: string): void {
    this.owner.reject(reason, status, detail, this);
  }

  track(socket: TrackedSocket): (closed: SocketClosed) => void {
    return this.owner.track(this, socket);
  }

  get fromDenoServe(): boolean {
    return this.req !== null && this.info !== undefined &&
      this.info !== LOCAL_INFO;
  }

  /** The in-flight registry's callback: the deadline passed. */
  expire(): void {
    this.owner.expire(this);
  }
}
