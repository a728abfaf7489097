/**
 * `upgradeWebSocket()` over real sockets on both transports: echo of text
 * and binary messages with Deno's `WebSocket` and with `npm:ws` (an
 * independent client), subprotocol negotiation, and the state the
 * application sees.
 */

import assert from "node:assert/strict";
// @ts-types="./_ws_client.d.ts"
import WsClient from "npm:ws@8";
import { App } from "../../src/app/app.ts";
import { upgradeWebSocket } from "../../src/websocket/mod.ts";
import type { WSCloseEvent } from "../../src/websocket/mod.ts";
import { Client, start, TRANSPORTS, waitFor } from "./_helpers.ts";

function echoApp(log: string[] = []): App {
  const app = new App();
  app.get(
    "/echo",
    upgradeWebSocket((ctx) => ({
      onOpen(_event, ws) {
        log.push(`open ${ws.readyState} ${ctx.path}`);
      },
      onMessage(event, ws) {
        ws.send(event.data);
      },
      onClose(event, ws) {
        log.push(`close ${event.code} ${ws.readyState}`);
      },
    }), { maxMessageBytes: 1 << 20 }),
  );
  return app;
}

const unicode = "héllo wörld ✓ 𝄞 日本語";
const binary = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);

for (const transport of TRANSPORTS) {
  Deno.test(`websocket [${transport}]: Deno WebSocket echoes text and binary`, async () => {
    const log: string[] = [];
    const s = start(echoApp(log), transport);
    const c = new Client(s.url("/echo"));
    try {
      await c.opened;
      c.ws.send("hi");
      c.ws.send(unicode);
      c.ws.send(new Uint8Array([0, 1, 2, 255]));
      c.ws.send(binary);
      c.ws.send("");
      const got = await c.received(5);
      assert.equal(got[0], "hi");
      assert.equal(got[1], unicode);
      assert.ok(got[2] instanceof ArrayBuffer);
      assert.deepEqual([...new Uint8Array(got[2] as ArrayBuffer)], [
        0,
        1,
        2,
        255,
      ]);
      assert.deepEqual(new Uint8Array(got[3] as ArrayBuffer), binary);
      assert.equal(got[4], "");
      c.ws.close(1000, "done");
      const closed = await c.closed;
      assert.equal(closed.code, 1000);
      assert.equal(closed.wasClean, true);
      await waitFor(() => log.length === 2);
      assert.deepEqual(log, ["open 1 /echo", "close 1000 3"]);
    } finally {
      await s.stop();
    }
  });

  Deno.test(`websocket [${transport}]: npm:ws echoes text and binary`, async () => {
    const s = start(echoApp(), transport);
    const client = new WsClient(s.url("/echo"));
    try {
      await new Promise((resolve, reject) => {
        client.once("open", resolve);
        client.once("error", reject);
      });
      const got: { data: unknown; isBinary: boolean }[] = [];
      const all = new Promise<void>((resolve) =>
        client.on("message", (data: unknown, isBinary: boolean) => {
          got.push({ data, isBinary });
          if (got.length === 3) resolve();
        })
      );
      client.send(unicode);
      client.send(binary);
      client.send(new Uint8Array([42]));
      await all;
      assert.equal(got[0].isBinary, false);
      assert.equal(String(got[0].data), unicode);
      assert.equal(got[1].isBinary, true);
      assert.deepEqual(new Uint8Array(got[1].data as Uint8Array), binary);
      assert.deepEqual([...(got[2].data as Uint8Array)], [42]);
      const closed = new Promise<number>((resolve) =>
        client.once("close", (code: number) => resolve(code))
      );
      client.close(4001, "bye");
      assert.equal(await closed, 4001);
    } finally {
      client.terminate();
      await s.stop();
    }
  });

  Deno.test(`websocket [${transport}]: subprotocol: the server's first choice among the client's offers`, async () => {
    const app = new App();
    const seen: string[] = [];
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        onOpen(_e, ws) {
          seen.push(ws.protocol);
          ws.send(ws.protocol);
        },
      }), { protocols: ["chat.v2", "chat.v1"] }),
    );
    const s = start(app, transport);
    try {
      const a = new Client(s.url("/ws"), ["chat.v1", "chat.v2"]);
      await a.opened;
      assert.equal(a.ws.protocol, "chat.v2");
      assert.deepEqual(await a.received(1), ["chat.v2"]);
      a.ws.close();
      await a.closed;

      const b = new Client(s.url("/ws"), ["chat.v1", "other"]);
      await b.opened;
      assert.equal(b.ws.protocol, "chat.v1");
      b.ws.close();
      await b.closed;

      // No offer: no header, no protocol.
      const c = new Client(s.url("/ws"));
      await c.opened;
      assert.equal(c.ws.protocol, "");
      c.ws.close();
      await c.closed;
      assert.deepEqual(seen, ["chat.v2", "chat.v1", ""]);
    } finally {
      await s.stop();
    }
  });

  Deno.test(`websocket [${transport}]: ws.close(code, reason) reaches the client; bad arguments throw`, async () => {
    const app = new App();
    const errors: string[] = [];
    const closes: WSCloseEvent[] = [];
    app.get(
      "/ws",
      upgradeWebSocket(() => ({
        onMessage(event, ws) {
          for (
            const [code, reason] of [
              [1001, undefined],
              [2000, undefined],
              [5000, undefined],
              [4000, "é".repeat(62)],
              [3000.5, undefined],
            ] as const
          ) {
            try {
              ws.close(code, reason);
            } catch (e) {
              errors.push((e as Error).constructor.name);
            }
          }
          ws.close(4000 + Number(event.data), "é".repeat(61)); // 122 bytes: fine
        },
        onClose(event) {
          closes.push(event);
        },
      })),
    );
    const s = start(app, transport);
    try {
      const c = new Client(s.url("/ws"));
      await c.opened;
      c.ws.send("7");
      const closed = await c.closed;
      assert.equal(closed.code, 4007);
      assert.equal(closed.reason, "é".repeat(61));
      assert.deepEqual(errors, Array(5).fill("TypeError"));
      await waitFor(() => closes.length === 1);
      assert.equal(closes[0].code, 4007);
      assert.equal(closes[0].wasClean, true);
    } finally {
      await s.stop();
    }
  });
}
