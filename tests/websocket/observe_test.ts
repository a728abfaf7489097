/**
 * What the application and operators see on both transports: metrics, the
 * `onClosed` hook, handler errors that never crash a connection, async
 * `createEvents`, and `ws` state.
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { upgradeWebSocket } from "../../src/websocket/mod.ts";
import type { WebSocketClosedInfo } from "../../src/websocket/mod.ts";
import { Client, start, TRANSPORTS, waitFor } from "./_helpers.ts";

function metricLines(app: App): string[] {
  return app.metrics.text().split("\n").filter((l) =>
    l.startsWith("palisade_websocket_")
  );
}

for (const transport of TRANSPORTS) {
  Deno.test(`websocket observe [${transport}]: metrics and the onClosed hook`, async () => {
    const closed: WebSocketClosedInfo[] = [];
    const app = new App();
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        onMessage(event, ws) {
          ws.send(event.data);
          ws.send("ack");
        },
      }), { onClosed: (info) => closed.push(info) }),
    );
    const s = start(app, transport);
    try {
      const c = new Client(s.url("/ws"));
      await c.opened;
      await waitFor(() =>
        metricLines(app).includes("palisade_websocket_connections_active 1")
      );
      c.ws.send("héllo"); // 6 bytes
      c.ws.send(new Uint8Array(10));
      await c.received(4);
      c.ws.close(4321, "bye");
      await c.closed;
      await waitFor(() => closed.length === 1);
      const lines = metricLines(app);
      assert.ok(
        lines.includes("palisade_websocket_connections_active 0"),
        lines.join("\n"),
      );
      assert.ok(
        lines.includes('palisade_websocket_messages_total{direction="in"} 2'),
      );
      assert.ok(
        lines.includes('palisade_websocket_messages_total{direction="out"} 4'),
      );
      // An application code is counted as "other": the label set stays bounded.
      assert.ok(
        lines.includes('palisade_websocket_closes_total{code="other"} 1'),
      );
      const info = closed[0];
      assert.deepEqual(
        { ...info, durationMs: 0 },
        {
          durationMs: 0,
          messagesIn: 2,
          messagesOut: 4,
          bytesIn: 16,
          bytesOut: 6 + 10 + 3 + 3,
          code: 4321,
          reason: "bye",
          wasClean: true,
        },
      );
      assert.ok(info.durationMs > 0);
    } finally {
      await s.stop();
    }
  });

  Deno.test(`websocket observe [${transport}]: handler errors are reported, the connection goes on`, async () => {
    const reported: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => reported.push(args);
    const app = new App();
    let closes = 0;
    app.get(
      "/ws",
      upgradeWebSocket(async () => {
        await Promise.resolve();
        return {
          onOpen() {
            throw new Error("open failed");
          },
          async onMessage(event, ws) {
            if (event.data === "sync") throw new Error("sync failure");
            if (event.data === "async") {
              await Promise.resolve();
              throw new Error("async failure");
            }
            ws.send(`ok ${event.data}`);
          },
          onClose() {
            closes++;
            throw new Error("close failed");
          },
        };
      }),
    );
    const s = start(app, transport);
    try {
      const c = new Client(s.url("/ws"));
      await c.opened;
      c.ws.send("sync");
      c.ws.send("async");
      c.ws.send("after");
      assert.deepEqual(await c.received(1), ["ok after"]);
      c.ws.close();
      await c.closed;
      await waitFor(() => closes === 1 && reported.length === 4);
      const messages = reported.map((args) => (args[1] as Error).message)
        .sort();
      assert.deepEqual(messages, [
        "async failure",
        "close failed",
        "open failed",
        "sync failure",
      ]);
      for (const args of reported) {
        assert.match(String(args[0]), /WebSocket on\w+ handler threw/);
      }
    } finally {
      console.error = original;
      await s.stop();
    }
  });

  Deno.test(`websocket observe [${transport}]: readyState, bufferedAmount and raw`, async () => {
    const seen: unknown[] = [];
    const app = new App();
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        onOpen(_e, ws) {
          seen.push(
            ws.readyState,
            typeof ws.bufferedAmount,
            ws.raw instanceof WebSocket,
          );
          ws.ping();
        },
        onMessage(_e, ws) {
          ws.close(1000);
          seen.push(ws.readyState);
          ws.send("dropped: closing");
        },
        onClose(_e, ws) {
          seen.push(ws.readyState);
        },
      })),
    );
    const s = start(app, transport);
    try {
      const c = new Client(s.url("/ws"));
      await c.opened;
      c.ws.send("x");
      await c.closed;
      await waitFor(() => seen.length === 5);
      assert.deepEqual(seen, [1, "number", transport === "deno", 2, 3]);
      assert.deepEqual(c.messages, []);
    } finally {
      await s.stop();
    }
  });
}
