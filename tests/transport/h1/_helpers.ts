/**
 * Test helpers for the h1 engine: a server on 127.0.0.1:0 and a raw-socket
 * client that sees the wire (status lines, framing, closes).
 *
 * @module
 */

import { App } from "../../../src/app/app.ts";
import {
  serve,
  type ServeOptions,
  type Server,
} from "../../../src/server/serve.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const latin1 = new TextDecoder("latin1");

/** A running h1 server for a test. */
export interface H1TestServer {
  server: Server;
  port: number;
  /** Shuts down (forced after 500 ms) and waits for the end. */
  close(): Promise<void>;
}

/** Serves `app` with the h1 transport on an ephemeral port. */
export function startH1(
  app: App,
  options: Partial<ServeOptions> = {},
): H1TestServer {
  const server = serve(app, {
    hostname: "127.0.0.1",
    port: 0,
    transport: "h1",
    shutdown: { graceMs: 500, signals: [] },
    ...options,
  });
  return {
    server,
    port: server.addr.port,
    async close() {
      await server.shutdown();
    },
  };
}

/** A parsed response read off the wire. */
export interface WireResponse {
  status: number;
  /** Header lines as received (names lower-cased), in order. */
  fields: [string, string][];
  headers: Headers;
  body: Uint8Array;
  text: string;
  /** The head exactly as received. */
  head: string;
}

/** A raw TCP (or TLS) connection speaking HTTP/1.1 by hand. */
export class Wire {
  conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #eof = false;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async open(port: number): Promise<Wire> {
    return new Wire(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text or bytes. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let n = 0;
    while (n < bytes.length) n += await this.conn.write(bytes.subarray(n));
  }

  /** Writes `data` in pieces of `size` bytes, pausing `delayMs` between them. */
  async trickle(data: string, size = 1, delayMs = 0): Promise<void> {
    const bytes = encoder.encode(data);
    for (let i = 0; i < bytes.length; i += size) {
      await this.send(bytes.subarray(i, i + size));
      if (delayMs > 0) await delay(delayMs);
    }
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      n = null;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  async #line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf(0x0a);
      if (i !== -1) {
        return latin1.decode(this.#take(i + 1)).replace(/\r?\n$/, "");
      }
      if (!await this.#fill()) throw new Error("Connection closed mid-line");
    }
  }

  /**
   * Reads one response. `head: true` for a HEAD request (no body whatever
   * the headers say).
   */
  async read(options: { head?: boolean } = {}): Promise<WireResponse> {
    let statusLine = await this.#line();
    let rawHead = statusLine + "\r\n";
    const status = Number(statusLine.split(" ")[1]);
    const fields: [string, string][] = [];
    for (;;) {
      const line = await this.#line();
      rawHead += line + "\r\n";
      if (line === "") break;
      const colon = line.indexOf(":");
      fields.push([
        line.slice(0, colon).toLowerCase(),
        line.slice(colon + 1).trim(),
      ]);
    }
    statusLine = "";
    const headers = new Headers(fields);
    let body: Uint8Array = new Uint8Array(0);
    const noBody = options.head || status === 204 || status === 304 ||
      (status >= 100 && status < 200);
    if (noBody) {
      // nothing
    } else if (headers.get("transfer-encoding") === "chunked") {
      const parts: Uint8Array[] = [];
      for (;;) {
        const size = parseInt(await this.#line(), 16);
        if (size === 0) {
          while ((await this.#line()) !== "") { /* trailers */ }
          break;
        }
        while (this.#buf.length < size + 2) {
          if (!await this.#fill()) {
            throw new Error("Connection closed mid-chunk");
          }
        }
        parts.push(this.#take(size));
        this.#take(2);
      }
      body = concat(parts);
    } else if (headers.has("content-length")) {
      const length = Number(headers.get("content-length"));
      while (this.#buf.length < length) {
        if (!await this.#fill()) throw new Error("Connection closed mid-body");
      }
      body = this.#take(length);
    } else {
      while (await this.#fill()) { /* close-delimited */ }
      body = this.#take(this.#buf.length);
    }
    return {
      status,
      fields,
      headers,
      body,
      text: decoder.decode(body),
      head: rawHead,
    };
  }

  /** Reads `n` responses. */
  async readMany(n: number): Promise<WireResponse[]> {
    const out: WireResponse[] = [];
    for (let i = 0; i < n; i++) out.push(await this.read());
    return out;
  }

  /**
   * Resolves true when the server closes the connection (EOF or reset)
   * within `ms` with no further bytes, false when it stays open that long;
   * throws if bytes arrive.
   */
  async closedWithin(ms: number): Promise<boolean> {
    if (this.#buf.length > 0) {
      throw new Error(`Unexpected bytes: ${decoder.decode(this.#buf)}`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ms);
    });
    const fill = this.#fill();
    const r = await Promise.race([fill, timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      this.close();
      await fill;
      return false;
    }
    if (r === true) {
      throw new Error(`Unexpected bytes: ${decoder.decode(this.#buf)}`);
    }
    return true;
  }

  /** Reads everything until the server closes (bounded by `ms`). */
  async readToEnd(ms = 3000): Promise<string> {
    const timer = setTimeout(() => this.close(), ms);
    try {
      while (await this.#fill()) { /* collect */ }
    } finally {
      clearTimeout(timer);
    }
    return decoder.decode(this.#take(this.#buf.length));
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A simple GET request text. */
export function get(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
}

/** An App with the routes most h1 tests use. */
export function testApp(
  options: ConstructorParameters<typeof App>[0] = {},
): App {
  const app = new App(options);
  app.get("/", (ctx) => ctx.text("ok"));
  app.get("/hello/:name", (ctx) => ctx.text(`hello ${ctx.params.name}`));
  app.post("/echo", async (ctx) => ctx.text(await ctx.body.text()));
  app.post("/small", { limits: { bodyBytes: 1024 } }, async (ctx) => {
    const bytes = await ctx.body.bytes();
    return ctx.text(`got ${bytes.length}`);
  });
  app.post("/ignore", (ctx) => ctx.text("ignored"));
  app.get("/stream", (ctx) =>
    ctx.stream((function* () {
      yield "a";
      yield "bb";
      yield "ccc";
    })()));
  app.get("/empty", (ctx) => ctx.empty(204));
  app.get(
    "/not-modified",
    () => new Response(null, { status: 304, headers: { etag: '"x"' } }),
  );
  return app;
}
