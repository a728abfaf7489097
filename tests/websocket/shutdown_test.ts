/**
 * Graceful shutdown with open WebSockets on both transports: every socket
 * gets close 1001, `server.finished` resolves once the close handshakes
 * are done (well within the grace period), and a client that never
 * answers is cut off when the grace period ends.
 */

import assert from "node:assert/strict";
// @ts-types="./_ws_client.d.ts"
import WsClient from "npm:ws@8";
import { App } from "../../src/app/app.ts";
import { upgradeWebSocket } from "../../src/websocket/mod.ts";
import type { WSCloseEvent } from "../../src/websocket/mod.ts";
import { RawWs } from "../transport/h1/websocket/_raw_ws.ts";
import { Client, start, TRANSPORTS, waitFor } from "./_helpers.ts";

function app(closes: WSCloseEvent[]): App {
  const a = new App();
  a.get("/", (ctx) => ctx.text("ok"));
  a.get(
    "/ws",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.send(event.data);
      },
      onClose(event) {
        closes.push(event);
      },
    })),
  );
  return a;
}

for (const transport of TRANSPORTS) {
  Deno.test(`websocket shutdown [${transport}]: open sockets get 1001 and finished resolves within grace`, async () => {
    const closes: WSCloseEvent[] = [];
    const graceMs = 10_000;
    const s = start(app(closes), transport, graceMs);
    const a = new Client(s.url("/ws"));
    const b = new WsClient(s.url("/ws"));
    const bOpen = new Promise((resolve) => b.once("open", resolve));
    const bClosed = new Promise<[number, string]>((resolve) =>
      b.once(
        "close",
        (code: number, reason: Uint8Array) => resolve([code, String(reason)]),
      )
    );
    await a.opened;
    await bOpen;
    a.ws.send("before");
    assert.deepEqual(await a.received(1), ["before"]);

    const report = await s.server.shutdown();
    const closed = await a.closed;
    assert.equal(closed.code, 1001);
    assert.equal(closed.wasClean, true);
    assert.deepEqual((await bClosed)[0], 1001);
    assert.ok(report.durationMs < graceMs, `took ${report.durationMs} ms`);
    await waitFor(() => closes.length === 2);
    for (const c of closes) assert.equal(c.wasClean, true);
    // Nothing is accepted any more.
    await assert.rejects(fetch(`http://127.0.0.1:${s.port}/`));
  });
}

Deno.test("websocket shutdown [h1]: a client that never answers the close is cut off at the end of the grace", async () => {
  const closes: WSCloseEvent[] = [];
  const s = start(app(closes), "h1", 300);
  const { ws } = await RawWs.open(s.port);
  try {
    const finished = s.server.shutdown();
    const close = await ws.readClose();
    assert.equal(close?.code, 1001);
    // No answer: the grace period ends, the connection is closed.
    assert.ok(await ws.eof());
    await finished;
    await waitFor(() => closes.length === 1);
    assert.equal(closes[0].code, 1006);
    assert.equal(closes[0].wasClean, false);
  } finally {
    ws.close();
  }
});
