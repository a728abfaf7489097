/**
 * WebSocket helpers for the proxy tests: an echo upstream on `Deno.serve`
 * that records the handshakes it got and the close codes it saw, and a raw
 * handshake over TCP for checking what the proxy answers.
 *
 * @module
 */

/** A running WebSocket echo upstream. */
export interface WsUpstream {
  readonly url: string;
  /** The upgrade requests it got: URL and header fields. */
  readonly seen: { url: string; headers: Record<string, string> }[];
  /** Close codes of its sockets, in order. */
  readonly closes: number[];
  /** Its open sockets. */
  readonly sockets: Set<WebSocket>;
  stop(): Promise<void>;
}

/**
 * Starts an echo upstream: every message comes back, except the text
 * `close:<code>`, which makes the upstream close with that code. A
 * request without `Upgrade` gets `refusal` (default 403 "no").
 */
export function wsUpstream(
  refusal: () => Response = () => new Response("no", { status: 403 }),
  tls?: { cert: string; key: string },
): WsUpstream {
  const seen: WsUpstream["seen"] = [];
  const closes: number[] = [];
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    ...tls,
  }, (req) => {
    seen.push({ url: req.url, headers: Object.fromEntries(req.headers) });
    if (req.headers.get("x-refuse") !== null) return refusal();
    const offered = req.headers.get("sec-websocket-protocol");
    const { socket, response } = Deno.upgradeWebSocket(req, {
      protocol: offered?.includes("chat") ? "chat" : undefined,
    });
    sockets.add(socket);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => {
      if (typeof e.data === "string" && e.data.startsWith("close:")) {
        socket.close(Number(e.data.slice(6)), "bye");
      } else socket.send(e.data);
    };
    socket.onclose = (e) => {
      sockets.delete(socket);
      closes.push(e.code);
    };
    return response;
  });
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`,
    seen,
    closes,
    sockets,
    stop: async () => {
      for (const s of sockets) s.close(1001);
      await server.shutdown();
    },
  };
}

/** The key of RFC 6455's example and its accept value. */
export const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** The head lines of a WebSocket handshake for `path` on `port`. */
export function upgradeHead(
  port: number,
  path: string,
  extra: string[] = [],
): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
    extra.map((l) => l + "\r\n").join("") + "\r\n";
}

/** Resolves once `cond` holds, polling every 10 ms. */
export async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}
