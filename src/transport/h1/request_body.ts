/**
 * The request body of an h1 connection: delivers body bytes to the App's
 * stream as it pulls (so backpressure reaches the socket), sends
 * `100 Continue` only once the App reads, and after an early answer
 * discards a bounded rest of the body so the connection can be reused.
 *
 * @module
 */

import { HttpError } from "../../http/errors.ts";
import type { RejectReason } from "../../http/limits.ts";
import type { Input } from "./input.ts";
import {
  ParseError,
  type RequestHead,
  type RequestParser,
} from "./parser/parser.ts";
import type { BodyPump, H1Source } from "./source.ts";

/** Most request body bytes read and discarded after an early response. */
export const DISCARD_LIMIT = 64 * 1024;

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * Where the current request's body is: `"done"` (none, or read to its end),
 * `"pending"` (bytes left to read), `"failed"` (broken, timed out or cut).
 */
export type BodyState = "done" | "pending" | "failed";

/** What the body needs from its connection. */
export interface BodyHost {
  /** The connection's read side. */
  readonly input: Input;
  /** The connection's parser. */
  readonly parser: RequestParser;
  /** Arms the body timeout. */
  armBody(): void;
  /** Clears the body timeout. */
  disarm(): void;
  /** Writes all of `bytes` to the client. */
  write(bytes: Uint8Array): Promise<void>;
  /** Counts a rejection. */
  reject(reason: RejectReason, status: number, detail: string): void;
}

function clientGone(): DOMException {
  return new DOMException("Client disconnected", "AbortError");
}

/** See the module doc; one per connection, reused for each request. */
export class RequestBody implements BodyPump {
  state: BodyState = "done";
  #host: BodyHost;
  #src: H1Source | null = null;
  #read = 0;
  #ctl: ReadableStreamDefaultController<Uint8Array> | null = null;
  #cancelled = false;
  #sentContinue = false;

  constructor(host: BodyHost) {
    this.#host = host;
  }

  /** Starts the body of `src` (or parses the end of a bodyless request). */
  begin(src: H1Source): void {
    const head = src.head;
    this.#src = src;
    this.#read = 0;
    this.#cancelled = false;
    this.#sentContinue = false;
    this.#ctl = null;
    if (head.chunked || head.contentLength > 0) {
      this.state = "pending";
      return;
    }
    this.state = "done";
    const input = this.#host.input;
    const parser = this.#host.parser;
    parser.next(input.chunk, input.pos); // "end" of a bodyless request
    input.pos = parser.offset;
  }

  /** The response was written: the App can no longer read the body. */
  finish(): void {
    this.#src = null;
    this.#ctl = null;
  }

  /** Delivers the next body bytes of `src` to `ctl`. */
  async pullBody(
    src: H1Source,
    ctl: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    if (!this.#pulling(src)) {
      ctl.error(
        new HttpError(
          400,
          "Request body is no longer readable: the response was sent",
        ),
      );
      return;
    }
    const host = this.#host;
    if (src.head.expectContinue && !this.#sentContinue) {
      // The App wants the body: now the client may send it.
      this.#sentContinue = true;
      try {
        await host.write(CONTINUE);
      } catch {
        this.fail(clientGone());
        return;
      }
      if (!this.#pulling(src)) return;
    }
    const { input, parser } = host;
    for (;;) {
      // Called even with no bytes left: the end of a body may need none.
      let ev;
      try {
        ev = parser.next(input.chunk, input.pos);
      } catch (e) {
        this.#ctl = ctl;
        this.fail(this.#error(e));
        return;
      }
      input.pos = parser.offset;
      if (ev === "data") {
        const data = parser.data;
        input.lent = true;
        this.#read += data.length;
        ctl.enqueue(data);
        return;
      }
      if (ev === "end") {
        this.state = "done";
        ctl.close();
        // Watch for a disconnect while the App works on the request.
        if (!input.hasBytes) input.read();
        return;
      }
      this.#ctl = ctl;
      host.armBody();
      const ok = await input.read(true);
      if (!this.#pulling(src)) return;
      host.disarm();
      this.#ctl = null;
      if (!ok) {
        const head = src.head;
        const detail = head.chunked
          ? "Connection closed before the chunked request body was complete"
          : `Request body ended after ${this.#read} of the ${head.contentLength} bytes declared by Content-Length`;
        this.#ctl = ctl;
        host.reject("body_incomplete", 400, detail);
        this.fail(new HttpError(400, detail, { reason: "body_incomplete" }));
        return;
      }
    }
  }

  /** The App will not read the rest of the body of `src`. */
  cancelBody(src: H1Source): void {
    if (src !== this.#src) return;
    this.#cancelled = true;
    if (this.#ctl !== null) {
      this.#ctl = null;
      this.#host.disarm();
    }
  }

  /** Whether the unread rest of the body could be discarded to keep the connection. */
  mayDiscard(head: RequestHead): boolean {
    if (this.state === "failed") return false;
    if (head.expectContinue && !this.#sentContinue) return false;
    return head.chunked || head.contentLength - this.#read <= DISCARD_LIMIT;
  }

  /**
   * Reads and drops the rest of a request body the App did not read, at
   * most {@linkcode DISCARD_LIMIT} bytes; false when the connection must
   * close instead.
   */
  async discard(head: RequestHead): Promise<boolean> {
    if (!this.mayDiscard(head)) return false;
    const { input, parser } = this.#host;
    let budget = DISCARD_LIMIT;
    for (;;) {
      let ev;
      try {
        ev = parser.next(input.chunk, input.pos);
      } catch {
        return false;
      }
      input.pos = parser.offset;
      if (ev === "data") {
        budget -= parser.data.length;
        if (budget < 0) return false;
        continue;
      }
      if (ev === "end") {
        this.state = "done";
        return true;
      }
      this.#host.armBody();
      const ok = await input.read(true);
      this.#host.disarm();
      if (!ok) return false;
    }
  }

  /** Errors the body stream of the current request with `error`. */
  fail(error: unknown): void {
    this.state = "failed";
    const ctl = this.#ctl;
    this.#ctl = null;
    this.#host.disarm();
    if (ctl !== null) {
      try {
        ctl.error(error);
      } catch { /* already closed or errored */ }
    }
  }

  /** Whether a pull for `src` may go on (after an await, too). */
  #pulling(src: H1Source): boolean {
    return src === this.#src && this.state === "pending" && !this.#cancelled;
  }

  /** Maps a body parse failure to the error the App sees, and reports it. */
  #error(e: unknown): HttpError {
    if (e instanceof ParseError) {
      this.#host.reject(e.reason, e.status, e.message);
      return new HttpError(e.status, e.message, { reason: e.reason });
    }
    this.#host.reject("bad_request", 400, "Request body is malformed");
    return new HttpError(400, "Request body is malformed", {
      reason: "bad_request",
    });
  }
}
