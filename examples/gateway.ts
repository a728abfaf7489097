/**
 * A small API gateway: `/api/*` is load-balanced over two upstream services
 * with health checks (WebSockets included), and `/quote/:item` calls a
 * third service with Palisade's outbound client. Everything runs in this
 * one process so the example is self-contained: the three services are
 * plain `Deno.serve` servers on ports 3001–3003.
 *
 *   npx -y deno@2.9.6 run --allow-net examples/gateway.ts   # http://127.0.0.1:8000
 *
 * Try:
 *   curl 127.0.0.1:8000/api/hello          # answered by 3001 or 3002, in turn
 *   curl -i 127.0.0.1:8000/api/slow        # 504 after the proxy's 2 s budget
 *   curl 127.0.0.1:8000/quote/apple        # the gateway calls the pricing service
 *   curl -i 127.0.0.1:8000/quote/caviar    # the pricing service's 404, as problem+json
 *   curl 127.0.0.1:8000/metrics | grep -E 'palisade_proxy|http_client'
 *
 * and a WebSocket through the proxy, from `deno repl`:
 *   const ws = new WebSocket("ws://127.0.0.1:8000/api/echo");
 *   ws.onmessage = (e) => console.log(e.data); ws.onopen = () => ws.send("hi");
 *
 * @module
 */

import { App, HttpError, serve, type Server } from "../mod.ts";
import { createClient } from "../src/client/mod.ts";
import { proxy } from "../src/proxy/mod.ts";

const HOST = "127.0.0.1";

/**
 * One of the load-balanced services: says who answered and what it got;
 * `/echo` is a WebSocket that echoes with its name in front.
 */
function service(name: string, port: number): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: HOST, port, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (url.pathname === "/echo" && req.headers.get("upgrade") !== null) {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send(`${name}: ${e.data}`);
      return response;
    }
    if (url.pathname === "/slow") {
      await new Promise((r) => setTimeout(r, 5_000));
    }
    return Response.json({
      service: name,
      path: url.pathname,
      forwardedFor: req.headers.get("x-forwarded-for"),
    });
  });
}

/** The pricing service the gateway calls itself. */
function pricing(port: number): Deno.HttpServer<Deno.NetAddr> {
  const prices: Record<string, number> = { apple: 0.5, bread: 2.25 };
  return Deno.serve({ hostname: HOST, port, onListen() {} }, (req) => {
    const item = new URL(req.url).pathname.split("/").pop() ?? "";
    return item in prices
      ? Response.json({ item, price: prices[item] })
      : Response.json({ error: "unknown item" }, { status: 404 });
  });
}

/** Where the gateway and its services listen; 0 = any free port. */
export interface GatewayPorts {
  gateway: number;
  services: [number, number, number];
}

/** A running gateway and its three services. */
export interface Gateway {
  /** The gateway's base URL. */
  readonly url: string;
  /** The gateway's server. */
  readonly server: Server;
  /** Stops the gateway, then the services. */
  stop(): Promise<void>;
}

/**
 * Starts the three services and the gateway in front of them. With
 * `signals`, SIGINT/SIGTERM shut the gateway down gracefully.
 */
export function startGateway(
  ports: GatewayPorts,
  options: { signals?: boolean } = {},
): Gateway {
  const services = [
    service("a", ports.services[0]),
    service("b", ports.services[1]),
    pricing(ports.services[2]),
  ];
  const [a, b, p] = services.map((s) => `http://${HOST}:${s.addr.port}`);

  const api = proxy({
    upstreams: [a, b],
    healthCheck: { path: "/healthz", intervalMs: 2_000, timeoutMs: 500 },
    timeoutMs: 2_000,
    websocket: { idleTimeoutMs: 30_000 },
  });
  const app = new App({ deadlineMs: 10_000 });
  // Calls to the pricing service: 1 s per call, one retry for idempotent
  // calls, a breaker that fails fast while the service keeps failing, and
  // at most 64 KiB read back. Its metrics go to the App's registry.
  const prices = createClient({
    baseUrl: p,
    timeoutMs: 1_000,
    retry: { attempts: 2 },
    breaker: { failureRate: 0.5, minRequests: 5, cooldownMs: 5_000 },
    maxResponseBytes: 64 * 1024,
    metrics: app.metrics,
  });

  app.all("/api/*", api);
  app.get("/quote/:item", async (ctx) => {
    // With `ctx`, the request's deadline caps the call, a client that
    // leaves cancels it, and the request id travels as x-request-id. A
    // timeout, connection failure or open breaker escapes as 504/502/503.
    const res = await prices.get(
      `/price/${encodeURIComponent(ctx.params.item)}`,
      { ctx },
    );
    if (res.status === 404) {
      await res.body?.cancel();
      throw new HttpError(404, `No price for ${ctx.params.item}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new HttpError(502, "The pricing service failed");
    }
    const { price } = await res.json<{ price: number }>();
    return ctx.json({ item: ctx.params.item, price, currency: "EUR" });
  });
  app.get("/metrics", app.metrics.handler());

  const server = serve(app, {
    hostname: HOST,
    port: ports.gateway,
    transport: "h1",
    shutdown: options.signals ? {} : { signals: [] },
    onListen: (addr) =>
      options.signals &&
      console.log(`Gateway on http://${addr.hostname}:${addr.port}`),
  });
  let stopped: Promise<void> | null = null;
  const cleanup = async () => {
    await server.finished;
    await api.close();
    prices.close();
    await Promise.all(services.map((s) => s.shutdown()));
  };
  const done = cleanup();
  return {
    url: `http://${HOST}:${server.addr.port}`,
    server,
    stop: () =>
      stopped ??= (async () => {
        await server.shutdown();
        await done;
      })(),
  };
}

if (import.meta.main) {
  const gateway = startGateway({
    gateway: 8000,
    services: [3001, 3002, 3003],
  }, { signals: true });
  await gateway.server.finished;
  await gateway.stop();
}
