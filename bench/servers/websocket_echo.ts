/**
 * WebSocket echo server for `bench/websocket_load.ts`.
 *
 * - `--impl=raw`: `Deno.serve` + `Deno.upgradeWebSocket`, the baseline
 *   (Deno's defaults, as a user would write it).
 * - `--impl=deno`: Palisade's `upgradeWebSocket()` on the deno transport.
 * - `--impl=h1`: Palisade's `upgradeWebSocket()` on the h1 transport
 *   (Palisade's own RFC 6455 implementation).
 *
 * Palisade runs with its defaults (metrics on, 30 s idle pings, 1 MiB
 * limits). Prints `READY <port>` once listening.
 *
 * Run: `deno run -A bench/servers/websocket_echo.ts --impl=h1 --port=0`
 *
 * @module
 */

import { App, serve } from "../../mod.ts";
import { upgradeWebSocket } from "../../src/websocket/mod.ts";
import { parseServerArgs, ready } from "./_common.ts";

const impl = Deno.args.find((a) => a.startsWith("--impl="))?.slice(7) ?? "h1";
const { port } = parseServerArgs();

if (impl === "raw") {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: (addr) => ready(addr.port),
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  });
  Deno.addSignalListener("SIGTERM", () => server.shutdown());
} else if (impl === "deno" || impl === "h1") {
  const app = new App();
  app.get(
    "/",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.send(event.data);
      },
    })),
  );
  serve(app, {
    hostname: "127.0.0.1",
    port,
    transport: impl,
    maxConnections: 50_000,
    shutdown: { graceMs: 1_000 },
    onListen: (addr) => ready(addr.port),
  });
} else {
  throw new Error(`--impl must be raw, deno or h1, got ${impl}`);
}
