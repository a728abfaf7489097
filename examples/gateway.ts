/**
 * A small API gateway: `/api/*` is load-balanced over two upstream services
 * with health checks, and `/quote/:item` calls a third service itself.
 * Everything runs in this one process so the example is self-contained: the
 * three services are plain `Deno.serve` servers on ports 3001–3003.
 *
 *   npx -y deno@2.9.6 run --allow-net examples/gateway.ts   # http://127.0.0.1:8000
 *
 * Try:
 *   curl 127.0.0.1:8000/api/hello          # answered by 3001 or 3002, in turn
 *   curl -i 127.0.0.1:8000/api/slow        # 504 after the proxy's 2 s budget
 *   curl 127.0.0.1:8000/quote/apple        # the gateway calls the pricing service
 *   curl 127.0.0.1:8000/metrics | grep palisade_proxy
 *
 * @module
 */

import { App, HttpError, serve } from "../mod.ts";
import { proxy } from "../src/proxy/mod.ts";

const HOST = "127.0.0.1";

/** One of the load-balanced services: says who answered and what it got. */
function service(port: number): Deno.HttpServer {
  return Deno.serve({ hostname: HOST, port, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (url.pathname === "/slow") {
      await new Promise((r) => setTimeout(r, 5_000));
    }
    return Response.json({
      service: port,
      path: url.pathname,
      forwardedFor: req.headers.get("x-forwarded-for"),
    });
  });
}

/** The pricing service the gateway calls itself. */
function pricing(port: number): Deno.HttpServer {
  const prices: Record<string, number> = { apple: 0.5, bread: 2.25 };
  return Deno.serve({ hostname: HOST, port, onListen() {} }, (req) => {
    const item = new URL(req.url).pathname.split("/").pop() ?? "";
    return item in prices
      ? Response.json({ item, price: prices[item] })
      : Response.json({ error: "unknown item" }, { status: 404 });
  });
}

const services = [service(3001), service(3002), pricing(3003)];

const api = proxy({
  upstreams: [`http://${HOST}:3001`, `http://${HOST}:3002`],
  healthCheck: { path: "/healthz", intervalMs: 2_000, timeoutMs: 500 },
  timeoutMs: 2_000,
});

const app = new App({ deadlineMs: 10_000 });
app.all("/api/*", api);
app.get("/quote/:item", async (ctx) => {
  // A plain fetch with a time budget, tied to the request's own signal.
  let res: Response;
  try {
    res = await fetch(
      `http://${HOST}:3003/price/${encodeURIComponent(ctx.params.item)}`,
      { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(1_000)]) },
    );
  } catch (error) {
    throw new HttpError(502, "The pricing service is unavailable", {
      cause: error,
    });
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new HttpError(404, `No price for ${ctx.params.item}`);
  }
  const { price } = await res.json();
  return ctx.json({ item: ctx.params.item, price, currency: "EUR" });
});
app.get("/metrics", app.metrics.handler());

const server = serve(app, {
  hostname: HOST,
  port: 8000,
  transport: "h1",
  onListen: (addr) =>
    console.log(`Gateway on http://${addr.hostname}:${addr.port}`),
});
await server.finished;
await api.close();
await Promise.all(services.map((s) => s.shutdown()));
