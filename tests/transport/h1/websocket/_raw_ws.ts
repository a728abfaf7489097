/**
 * Test helper: a WebSocket client over a raw TCP socket that does the HTTP
 * handshake by hand, then sends whatever frames a test builds (masked or
 * not, any bits, any split) and reads the server's frames back.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frame to build with {@linkcode frame}. */
export interface FrameSpec {
  /** Opcode, 0–15. */
  opcode: number;
  /** Payload; a string is UTF-8 encoded. Default empty. */
  payload?: Uint8Array | string;
  /** FIN bit. Default true. */
  fin?: boolean;
  /** RSV1–3 bits as a number 0–7 (RSV1 = 4). Default 0. */
  rsv?: number;
  /** Whether to mask. Default true (clients must). */
  masked?: boolean;
  /** Override the declared length (the payload is sent as given). */
  declaredLength?: number | bigint;
  /** Force the 64-bit length form. */
  long?: boolean;
  /** The 4 masking bytes. Default a fixed key. */
  maskKey?: readonly number[];
}

/** Builds the bytes of one client frame. */
export function frame(spec: FrameSpec): Uint8Array {
  const payload = typeof spec.payload === "string"
    ? encoder.encode(spec.payload)
    : spec.payload ?? new Uint8Array(0);
  const masked = spec.masked ?? true;
  const declared = BigInt(spec.declaredLength ?? payload.length);
  const head: number[] = [
    ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode,
  ];
  const m = masked ? 0x80 : 0;
  if (declared < 126n && !spec.long) head.push(m | Number(declared));
  else if (declared < 0x10000n && !spec.long) {
    head.push(m | 126, Number(declared >> 8n), Number(declared & 0xffn));
  } else {
    head.push(m | 127);
    for (let i = 7; i >= 0; i--) {
      head.push(Number((declared >> BigInt(i * 8)) & 0xffn));
    }
  }
  const key = spec.maskKey ?? [0x37, 0xfa, 0x21, 0x3d];
  if (masked) head.push(...key);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  for (let i = 0; i < payload.length; i++) {
    out[head.length + i] = masked ? payload[i] ^ key[i & 3] : payload[i];
  }
  return out;
}

/** A close frame payload: 2-byte code then the reason. */
export function closePayload(
  code: number,
  reason: string | Uint8Array = "",
): Uint8Array {
  const r = typeof reason === "string" ? encoder.encode(reason) : reason;
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A frame read from the server. */
export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** The server's answer to the handshake. */
export interface HandshakeResponse {
  status: number;
  headers: Headers;
  /** The response body (problem+json for refusals), when it had a Content-Length. */
  body: string;
}

/** The standard key of RFC 6455's example. */
export const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A raw WebSocket client connection. */
export class RawWs {
  conn: Deno.Conn;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port` without sending anything. */
  static async connect(port: number): Promise<RawWs> {
    return new RawWs(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /**
   * Connects and sends a handshake for `path` with the standard headers,
   * `headers` added or overriding (a null value removes a header).
   */
  static async open(
    port: number,
    path = "/ws",
    headers: Record<string, string | null> = {},
  ): Promise<{ ws: RawWs; res: HandshakeResponse }> {
    const ws = await RawWs.connect(port);
    const all: Record<string, string | null> = {
      host: `127.0.0.1:${port}`,
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": SAMPLE_KEY,
      "sec-websocket-version": "13",
      ...headers,
    };
    let head = `GET ${path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(all)) {
      if (v !== null) head += `${k}: ${v}\r\n`;
    }
    await ws.send(head + "\r\n");
    const res = await ws.readHead();
    return { ws, res };
  }

  /** Writes bytes (or text) completely. */
  async send(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let n = 0;
    while (n < bytes.length) n += await this.conn.write(bytes.subarray(n));
  }

  /** Sends `bytes` one byte per write. */
  async sendBytewise(bytes: Uint8Array): Promise<void> {
    for (let i = 0; i < bytes.length; i++) {
      await this.send(bytes.subarray(i, i + 1));
    }
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      n = null; // reset by the peer counts as the end
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

  async #need(n: number): Promise<boolean> {
    while (this.#buf.length < n) if (!(await this.#fill())) return false;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** Reads the HTTP response head (and a Content-Length body). */
  async readHead(): Promise<HandshakeResponse> {
    let end = -1;
    while ((end = findHeadEnd(this.#buf)) === -1) {
      if (!(await this.#fill())) {
        throw new Error("Closed before the response head");
      }
    }
    const head = decoder.decode(this.#take(end + 4));
    const [statusLine, ...lines] = head.trimEnd().split("\r\n");
    const headers = new Headers();
    for (const line of lines) {
      const i = line.indexOf(":");
      headers.append(line.slice(0, i), line.slice(i + 1).trim());
    }
    const status = Number(statusLine.split(" ")[1]);
    let body = "";
    const length = Number(headers.get("content-length") ?? 0);
    if (status !== 101 && length > 0 && (await this.#need(length))) {
      body = decoder.decode(this.#take(length));
    }
    return { status, headers, body };
  }

  /** Reads one server frame; null at the end of the connection. */
  async readFrame(): Promise<ServerFrame | null> {
    if (!(await this.#need(2))) return null;
    const b0 = this.#buf[0];
    const b1 = this.#buf[1];
    let len = b1 & 0x7f;
    let at = 2;
    if (len === 126) {
      if (!(await this.#need(4))) return null;
      len = (this.#buf[2] << 8) | this.#buf[3];
      at = 4;
    } else if (len === 127) {
      if (!(await this.#need(10))) return null;
      len = Number(
        new DataView(this.#buf.buffer, this.#buf.byteOffset + 2, 8)
          .getBigUint64(0),
      );
      at = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) at += 4;
    if (!(await this.#need(at + len))) return null;
    const bytes = this.#take(at + len);
    return {
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 7,
      opcode: b0 & 0x0f,
      masked,
      payload: bytes.subarray(at),
    };
  }

  /** Reads frames until a close frame; returns its code (1005 if none) and reason, or null at EOF. */
  async readClose(): Promise<
    { code: number; reason: string; before: ServerFrame[] } | null
  > {
    const before: ServerFrame[] = [];
    for (;;) {
      const f = await this.readFrame();
      if (f === null) return null;
      if (f.opcode !== 8) {
        before.push(f);
        continue;
      }
      const p = f.payload;
      return {
        code: p.length >= 2 ? (p[0] << 8) | p[1] : 1005,
        reason: decoder.decode(p.subarray(2)),
        before,
      };
    }
  }

  /** Waits for the end of the connection, discarding what arrives; true at EOF. */
  async eof(): Promise<boolean> {
    this.#buf = new Uint8Array(0);
    while (await this.#fill()) this.#buf = new Uint8Array(0);
    return true;
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

function findHeadEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (
      buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 &&
      buf[i + 3] === 10
    ) {
      return i;
    }
  }
  return -1;
}

/** Decodes a payload as UTF-8. */
export function text(payload: Uint8Array): string {
  return decoder.decode(payload);
}
