/**
 * RFC 6455 rules on the h1 transport, byte by byte over raw sockets: every
 * protocol violation a client can commit gets the right close code, and
 * valid but unusual framing (splits, coalescing, fragments, interleaved
 * control frames, length encodings) works.
 */

import assert from "node:assert/strict";
import { App } from "../../../../src/app/app.ts";
import { serve } from "../../../../src/server/serve.ts";
import { upgradeWebSocket } from "../../../../src/websocket/mod.ts";
import type { WSCloseEvent } from "../../../../src/websocket/mod.ts";
import {
  closePayload,
  concat,
  frame,
  type FrameSpec,
  RawWs,
  text,
} from "./_raw_ws.ts";

const MAX_FRAME = 1000;
const MAX_MESSAGE = 2000;

interface Harness {
  port: number;
  closes: WSCloseEvent[];
  errors: string[];
  stop(): Promise<void>;
}

function start(): Harness {
  const closes: WSCloseEvent[] = [];
  const errors: string[] = [];
  const app = new App();
  app.get(
    "/ws",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.send(event.data);
      },
      onError(event) {
        errors.push(event.message);
      },
      onClose(event) {
        closes.push(event);
      },
    }), {
      maxFrameBytes: MAX_FRAME,
      maxMessageBytes: MAX_MESSAGE,
      idleTimeoutMs: 0,
    }),
  );
  app.get(
    "/big",
    upgradeWebSocket(() => ({
      onMessage(event, ws) {
        ws.send(event.data);
      },
    }), { maxMessageBytes: 200_000, idleTimeoutMs: 0 }),
  );
  const server = serve(app, {
    transport: "h1",
    port: 0,
    hostname: "127.0.0.1",
    shutdown: { signals: [], graceMs: 1000 },
  });
  return {
    port: server.addr.port,
    closes,
    errors,
    async stop() {
      await server.shutdown();
    },
  };
}

/** Opens a WebSocket on a fresh server, runs `fn`, then shuts down. */
async function withSocket(
  fn: (ws: RawWs, h: Harness) => Promise<void>,
  path = "/ws",
): Promise<void> {
  const h = start();
  const { ws, res } = await RawWs.open(h.port, path);
  try {
    assert.equal(res.status, 101);
    await fn(ws, h);
  } finally {
    ws.close();
    await h.stop();
  }
}

const f = (spec: FrameSpec): Uint8Array => frame(spec);
const TEXT = 1;
const BINARY = 2;
const CLOSE = 8;
const PING = 9;
const PONG = 10;

/** Sends `bytes`, expects a close frame with `code`, then the end of the connection. */
function expectClose(
  name: string,
  bytes: Uint8Array,
  code: number,
): void {
  Deno.test(`h1 websocket: ${name} → close ${code}`, async () => {
    await withSocket(async (ws, h) => {
      await ws.send(bytes);
      const close = await ws.readClose();
      assert.ok(close !== null, "a close frame before EOF");
      assert.equal(close.code, code);
      assert.ok(new TextEncoder().encode(close.reason).length <= 123);
      // Answer like a browser would; the server then closes TCP.
      await ws.send(f({ opcode: CLOSE, payload: closePayload(code) }));
      assert.ok(await ws.eof());
      await waitFor(() => h.closes.length === 1);
      assert.equal(h.closes[0].code, code);
      assert.equal(h.closes[0].wasClean, false);
      assert.equal(h.errors.length, 1);
    });
  });
}

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

// ---- masking, reserved bits, opcodes ----

expectClose(
  "unmasked text frame",
  f({ opcode: TEXT, payload: "hi", masked: false }),
  1002,
);
expectClose("unmasked close frame", f({ opcode: CLOSE, masked: false }), 1002);
for (const [rsv, bit] of [[4, "RSV1"], [2, "RSV2"], [1, "RSV3"]] as const) {
  expectClose(
    `${bit} set on a text frame`,
    f({ opcode: TEXT, payload: "x", rsv }),
    1002,
  );
}
expectClose("RSV1 set on a ping", f({ opcode: PING, rsv: 4 }), 1002);
for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
  expectClose(`opcode ${opcode}`, f({ opcode, payload: "x" }), 1002);
}

// ---- control frames ----

expectClose(
  "fragmented ping",
  f({ opcode: PING, fin: false, payload: "p" }),
  1002,
);
expectClose("fragmented close", f({ opcode: CLOSE, fin: false }), 1002);
expectClose(
  "126-byte ping",
  f({ opcode: PING, payload: new Uint8Array(126) }),
  1002,
);
expectClose(
  "126-byte pong",
  f({ opcode: PONG, payload: new Uint8Array(126) }),
  1002,
);
expectClose(
  "126-byte close",
  f({ opcode: CLOSE, payload: closePayload(1000, "r".repeat(124)) }),
  1002,
);

// ---- fragmentation ----

expectClose(
  "continuation without a message",
  f({ opcode: 0, payload: "x" }),
  1002,
);
expectClose(
  "text frame inside a fragmented text message",
  concat(
    f({ opcode: TEXT, fin: false, payload: "a" }),
    f({ opcode: TEXT, payload: "b" }),
  ),
  1002,
);
expectClose(
  "binary frame inside a fragmented text message",
  concat(
    f({ opcode: TEXT, fin: false, payload: "a" }),
    f({ opcode: BINARY, payload: "b" }),
  ),
  1002,
);
expectClose(
  "continuation after a complete message",
  concat(f({ opcode: TEXT, payload: "a" }), f({ opcode: 0, payload: "b" })),
  1002,
);

// ---- UTF-8 ----

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
expectClose(
  "invalid UTF-8 in one frame (0xff)",
  f({ opcode: TEXT, payload: bytes(0x61, 0xff) }),
  1007,
);
expectClose(
  "overlong encoding (C0 AF)",
  f({ opcode: TEXT, payload: bytes(0xc0, 0xaf) }),
  1007,
);
expectClose(
  "UTF-16 surrogate (ED A0 80)",
  f({ opcode: TEXT, payload: bytes(0xed, 0xa0, 0x80) }),
  1007,
);
expectClose(
  "code point above U+10FFFF (F4 90 80 80)",
  f({ opcode: TEXT, payload: bytes(0xf4, 0x90, 0x80, 0x80) }),
  1007,
);
expectClose(
  "text ending inside a sequence",
  f({ opcode: TEXT, payload: bytes(0x61, 0xe2, 0x82) }),
  1007,
);
expectClose(
  "invalid UTF-8 split across fragments",
  concat(
    f({ opcode: TEXT, fin: false, payload: bytes(0x61, 0xce) }),
    f({ opcode: 0, payload: bytes(0x28, 0x62) }),
  ),
  1007,
);
expectClose(
  "fragmented text ending inside a sequence",
  concat(
    f({ opcode: TEXT, fin: false, payload: "ab" }),
    f({ opcode: 0, payload: bytes(0xf0, 0x9f) }),
  ),
  1007,
);

Deno.test("h1 websocket: invalid UTF-8 fails before the message ends (first fragment only)", async () => {
  await withSocket(async (ws) => {
    // The message is never finished: the close must come from the first fragment.
    await ws.send(
      f({ opcode: TEXT, fin: false, payload: bytes(0x68, 0x69, 0xc0, 0x80) }),
    );
    const close = await ws.readClose();
    assert.equal(close?.code, 1007);
  });
});

Deno.test("h1 websocket: invalid UTF-8 fails before the frame ends (split frame)", async () => {
  await withSocket(async (ws) => {
    const whole = f({
      opcode: TEXT,
      payload: concat(bytes(0x61, 0xff), new Uint8Array(500).fill(0x61)),
    });
    // Header and the first payload bytes only; the rest never comes.
    await ws.send(whole.subarray(0, 8 + 4));
    const close = await ws.readClose();
    assert.equal(close?.code, 1007);
  });
});

// ---- close frames ----

for (const code of [1005, 1006, 1015, 999, 5000, 1004, 2999, 0, 1016, 65535]) {
  expectClose(
    `close code ${code}`,
    f({ opcode: CLOSE, payload: closePayload(code) }),
    1002,
  );
}
expectClose(
  "1-byte close payload",
  f({ opcode: CLOSE, payload: bytes(0x03) }),
  1002,
);
expectClose(
  "close reason that is not UTF-8",
  f({ opcode: CLOSE, payload: closePayload(1000, bytes(0xce, 0x28)) }),
  1007,
);

// ---- lengths and limits ----

expectClose(
  "64-bit length with the most significant bit set",
  f({ opcode: BINARY, declaredLength: 1n << 63n, long: true }),
  1002,
);
expectClose(
  "header declaring more than maxFrameBytes (16-bit length, no payload sent)",
  f({ opcode: BINARY, declaredLength: MAX_FRAME + 1 }),
  1009,
);
expectClose(
  "header declaring a terabyte (64-bit length)",
  f({ opcode: TEXT, declaredLength: 1n << 40n, long: true }),
  1009,
);
expectClose(
  "fragments summing over maxMessageBytes",
  concat(
    f({ opcode: BINARY, fin: false, payload: new Uint8Array(MAX_FRAME) }),
    f({ opcode: 0, fin: false, payload: new Uint8Array(MAX_FRAME) }),
    f({ opcode: 0, declaredLength: 1 }),
  ),
  1009,
);

Deno.test("h1 websocket: after failing a connection the server waits a bounded time for the client's close", async () => {
  await withSocket(async (ws, h) => {
    await ws.send(f({ opcode: 3 }));
    assert.equal((await ws.readClose())?.code, 1002);
    // No answer: the server gives up after its close timeout and closes TCP.
    assert.ok(await ws.eof());
    assert.equal(h.closes[0].code, 1002);
  });
});

// ---- valid traffic ----

Deno.test("h1 websocket: frames split byte by byte are reassembled", async () => {
  await withSocket(async (ws) => {
    await ws.sendBytewise(concat(
      f({ opcode: TEXT, payload: "héllo wörld" }),
      f({ opcode: BINARY, payload: bytes(0, 1, 2, 255) }),
      f({ opcode: TEXT, fin: false, payload: bytes(0xe2, 0x82) }),
      f({ opcode: 0, payload: bytes(0xac) }),
    ));
    const a = await ws.readFrame();
    assert.equal(a?.opcode, TEXT);
    assert.equal(text(a!.payload), "héllo wörld");
    const b = await ws.readFrame();
    assert.equal(b?.opcode, BINARY);
    assert.deepEqual([...b!.payload], [0, 1, 2, 255]);
    const c = await ws.readFrame();
    assert.equal(text(c!.payload), "€");
  });
});

Deno.test("h1 websocket: many frames coalesced into one write are all answered in order", async () => {
  await withSocket(async (ws) => {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      frames.push(f({ opcode: TEXT, payload: `m${i}` }));
    }
    await ws.send(concat(...frames));
    for (let i = 0; i < 200; i++) {
      const got = await ws.readFrame();
      assert.equal(text(got!.payload), `m${i}`);
    }
  });
});

Deno.test("h1 websocket: server frames are unmasked, final, without reserved bits", async () => {
  await withSocket(async (ws) => {
    await ws.send(f({ opcode: BINARY, payload: bytes(9, 8, 7) }));
    const got = await ws.readFrame();
    assert.deepEqual(
      {
        fin: got?.fin,
        rsv: got?.rsv,
        masked: got?.masked,
        opcode: got?.opcode,
      },
      { fin: true, rsv: 0, masked: false, opcode: BINARY },
    );
  });
});

Deno.test("h1 websocket: ping is answered with a pong carrying the same payload", async () => {
  await withSocket(async (ws) => {
    const payload = bytes(...Array.from({ length: 125 }, (_, i) => i));
    await ws.send(f({ opcode: PING, payload }));
    const pong = await ws.readFrame();
    assert.equal(pong?.opcode, PONG);
    assert.deepEqual([...pong!.payload], [...payload]);
    await ws.send(f({ opcode: PING }));
    const empty = await ws.readFrame();
    assert.equal(empty?.opcode, PONG);
    assert.equal(empty?.payload.length, 0);
  });
});

Deno.test("h1 websocket: an unsolicited pong is ignored", async () => {
  await withSocket(async (ws) => {
    await ws.send(
      concat(
        f({ opcode: PONG, payload: "x" }),
        f({ opcode: TEXT, payload: "after" }),
      ),
    );
    assert.equal(text((await ws.readFrame())!.payload), "after");
  });
});

Deno.test("h1 websocket: control frames between fragments are handled, the message is kept", async () => {
  await withSocket(async (ws) => {
    await ws.send(concat(
      f({ opcode: TEXT, fin: false, payload: "frag" }),
      f({ opcode: PING, payload: "p1" }),
      f({ opcode: 0, fin: false, payload: "men" }),
      f({ opcode: PONG, payload: "x" }),
      f({ opcode: 0, payload: "ted" }),
    ));
    const pong = await ws.readFrame();
    assert.equal(pong?.opcode, PONG);
    assert.equal(text(pong!.payload), "p1");
    const msg = await ws.readFrame();
    assert.equal(text(msg!.payload), "fragmented");
  });
});

Deno.test("h1 websocket: empty text and binary messages and empty fragments", async () => {
  await withSocket(async (ws) => {
    await ws.send(concat(
      f({ opcode: TEXT }),
      f({ opcode: BINARY }),
      f({ opcode: BINARY, fin: false }),
      f({ opcode: 0, fin: false, payload: bytes(5) }),
      f({ opcode: 0 }),
    ));
    const a = await ws.readFrame();
    assert.deepEqual([a?.opcode, a?.payload.length], [TEXT, 0]);
    const b = await ws.readFrame();
    assert.deepEqual([b?.opcode, b?.payload.length], [BINARY, 0]);
    const c = await ws.readFrame();
    assert.deepEqual([c?.opcode, [...c!.payload]], [BINARY, [5]]);
  });
});

Deno.test("h1 websocket: 16-bit and 64-bit lengths, a frame exactly at maxFrameBytes", async () => {
  await withSocket(async (ws) => {
    const medium = new Uint8Array(300).fill(7);
    await ws.send(f({ opcode: BINARY, payload: medium }));
    const a = await ws.readFrame();
    assert.equal(a?.payload.length, 300);
    const large = new Uint8Array(70_000).map((_, i) => i & 0xff);
    await ws.send(f({ opcode: BINARY, payload: large }));
    const b = await ws.readFrame();
    assert.deepEqual(b?.payload, large);
    // A non-minimal (64-bit) encoding of a short length is accepted too.
    await ws.send(f({ opcode: TEXT, payload: "short", long: true }));
    assert.equal(text((await ws.readFrame())!.payload), "short");
  }, "/big");
  await withSocket(async (ws) => {
    await ws.send(f({ opcode: BINARY, payload: new Uint8Array(MAX_FRAME) }));
    assert.equal((await ws.readFrame())?.payload.length, MAX_FRAME);
  });
});

Deno.test("h1 websocket: close handshake: the code and reason are echoed, then TCP closes", async () => {
  await withSocket(async (ws, h) => {
    await ws.send(f({ opcode: CLOSE, payload: closePayload(1000, "bye") }));
    const close = await ws.readClose();
    assert.deepEqual([close?.code, close?.reason], [1000, "bye"]);
    assert.ok(await ws.eof());
    await waitFor(() => h.closes.length === 1);
    assert.deepEqual(h.closes[0], {
      type: "close",
      code: 1000,
      reason: "bye",
      wasClean: true,
    });
  });
});

Deno.test("h1 websocket: an empty close frame is echoed empty (reported as 1005)", async () => {
  await withSocket(async (ws, h) => {
    await ws.send(f({ opcode: CLOSE }));
    const got = await ws.readFrame();
    assert.equal(got?.opcode, CLOSE);
    assert.equal(got?.payload.length, 0);
    assert.ok(await ws.eof());
    await waitFor(() => h.closes.length === 1);
    assert.equal(h.closes[0].code, 1005);
    assert.equal(h.closes[0].wasClean, true);
  });
});

for (const code of [1001, 1003, 1007, 1011, 1014, 3000, 4999]) {
  Deno.test(`h1 websocket: valid close code ${code} is accepted and echoed`, async () => {
    await withSocket(async (ws) => {
      await ws.send(f({ opcode: CLOSE, payload: closePayload(code) }));
      assert.equal((await ws.readClose())?.code, code);
    });
  });
}

Deno.test("h1 websocket: frames after the client's close frame are ignored", async () => {
  await withSocket(async (ws) => {
    await ws.send(concat(
      f({ opcode: CLOSE, payload: closePayload(1000) }),
      f({ opcode: TEXT, payload: "late" }),
    ));
    const close = await ws.readClose();
    assert.equal(close?.code, 1000);
    assert.equal(close?.before.length, 0);
    assert.ok(await ws.eof());
  });
});

Deno.test("h1 websocket: a client that disconnects without a close frame is reported as 1006", async () => {
  await withSocket(async (ws, h) => {
    await ws.send(f({ opcode: TEXT, payload: "hi" }));
    await ws.readFrame();
    ws.close();
    await waitFor(() => h.closes.length === 1);
    assert.deepEqual(h.closes[0], {
      type: "close",
      code: 1006,
      reason: "",
      wasClean: false,
    });
  });
});
