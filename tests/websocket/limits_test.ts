/**
 * Limits on both transports over real sockets: an oversized message is
 * closed with 1009, a peer that stops answering pings is dropped, one that
 * answers stays, and a client that stops reading is dropped with 1008
 * instead of growing the server's memory.
 */

import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { upgradeWebSocket } from "../../src/websocket/mod.ts";
import type {
  UpgradeWebSocketOptions,
  WSCloseEvent,
} from "../../src/websocket/mod.ts";
import { frame, RawWs } from "../transport/h1/websocket/_raw_ws.ts";
import { Client, start, TRANSPORTS, waitFor } from "./_helpers.ts";

interface Recorded {
  app: App;
  closes: WSCloseEvent[];
  errors: string[];
  messages: unknown[];
}

function recordingApp(
  options: UpgradeWebSocketOptions,
  onOpen?: (ws: import("../../src/websocket/mod.ts").WSContext) => void,
): Recorded {
  const r: Recorded = { app: new App(), closes: [], errors: [], messages: [] };
  r.app.get(
    "/ws",
    upgradeWebSocket(() => ({
      onOpen: (_e, ws) => onOpen?.(ws),
      onMessage(event, ws) {
        r.messages.push(event.data);
        ws.send(event.data);
      },
      onError(event) {
        r.errors.push(event.message);
      },
      onClose(event) {
        r.closes.push(event);
      },
    }), options),
  );
  return r;
}

for (const transport of TRANSPORTS) {
  Deno.test(`websocket limits [${transport}]: a message over maxMessageBytes closes with 1009`, async () => {
    const r = recordingApp({ maxMessageBytes: 1024 });
    const s = start(r.app, transport);
    try {
      const c = new Client(s.url("/ws"));
      await c.opened;
      c.ws.send("x".repeat(1024)); // at the limit: fine
      await c.received(1);
      c.ws.send("é".repeat(513)); // 1026 bytes of UTF-8
      const closed = await c.closed;
      assert.equal(closed.code, 1009);
      await waitFor(() => r.closes.length === 1);
      assert.equal(r.closes[0].code, 1009);
      assert.equal(r.closes[0].wasClean, false);
      assert.equal(r.messages.length, 1);
      assert.match(
        r.errors[0],
        /(maxMessageBytes|maxFrameBytes) limit of 1024/,
      );
    } finally {
      await s.stop();
    }
  });

  Deno.test(`websocket limits [${transport}]: a peer that stops answering pings is dropped`, async () => {
    const r = recordingApp({ idleTimeoutMs: 150 });
    const s = start(r.app, transport);
    const { ws, res } = await RawWs.open(s.port);
    try {
      assert.equal(res.status, 101);
      // Never answer: the server pings once, then gives up.
      const ping = await ws.readFrame();
      assert.equal(ping?.opcode, 9);
      const rest: number[] = [];
      for (let f = await ws.readFrame(); f !== null; f = await ws.readFrame()) {
        rest.push(f.opcode);
      }
      // h1 just drops the connection; Deno sends close 1001 first.
      assert.ok(rest.every((op) => op === 8 || op === 9), `frames ${rest}`);
      await waitFor(() => r.closes.length === 1);
      assert.equal(r.closes[0].wasClean, false);
      assert.equal(r.closes[0].code, transport === "h1" ? 1006 : 1001);
    } finally {
      ws.close();
      await s.stop();
    }
  });

  Deno.test(`websocket limits [${transport}]: a peer that answers pings stays connected`, async () => {
    const r = recordingApp({ idleTimeoutMs: 100 });
    const s = start(r.app, transport);
    try {
      const c = new Client(s.url("/ws")); // Deno's client answers pings itself
      await c.opened;
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(c.ws.readyState, WebSocket.OPEN);
      c.ws.send("still here");
      assert.deepEqual(await c.received(1), ["still here"]);
      c.ws.close();
      await c.closed;
    } finally {
      await s.stop();
    }
  });

  Deno.test(`websocket limits [${transport}]: a client that stops reading is dropped with 1008`, async () => {
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const r = recordingApp({ maxBufferedBytes: 256 * 1024 }, async (ws) => {
      // Send paced, as a feed would, until the socket is no longer open.
      while (ws.readyState === 1 && sent < 20_000) {
        ws.send(chunk);
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    });
    const s = start(r.app, transport);
    const { ws, res } = await RawWs.open(s.port);
    try {
      assert.equal(res.status, 101);
      // Read nothing until the server gives up on this client.
      await waitFor(() => r.errors.length > 0);
      assert.match(r.errors[0], /Slow reader/);
      ws.close();
      await waitFor(() => r.closes.length === 1);
      assert.equal(r.closes[0].code, 1008);
      assert.equal(r.closes[0].wasClean, false);
      assert.ok(sent < 20_000, `stopped after ${sent} sends`);
    } finally {
      ws.close();
      await s.stop();
    }
  });
}

Deno.test("websocket limits [h1]: a frame header over maxFrameBytes is refused before its payload", async () => {
  const r = recordingApp({ maxFrameBytes: 100, maxMessageBytes: 1000 });
  const s = start(r.app, "h1");
  const { ws } = await RawWs.open(s.port);
  try {
    // Fragments within the frame limit make a message within the message limit.
    await ws.send(frame({ opcode: 1, fin: false, payload: "a".repeat(100) }));
    await ws.send(frame({ opcode: 0, payload: "b".repeat(100) }));
    assert.equal((await ws.readFrame())?.payload.length, 200);
    // A header declaring 101 bytes: refused with no payload sent.
    await ws.send(frame({ opcode: 2, declaredLength: 101 }));
    assert.equal((await ws.readClose())?.code, 1009);
  } finally {
    ws.close();
    await s.stop();
  }
});
