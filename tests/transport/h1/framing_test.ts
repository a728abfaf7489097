/**
 * h1 engine, message framing over raw sockets: request smuggling shapes
 * (CL.TE, TE.CL, TE.TE variants), protocol errors and their exact statuses.
 * Every refused request must be answered once and the connection closed,
 * so nothing smuggled after it is ever served.
 */

import assert from "node:assert/strict";
import type { RejectInfo } from "../../../mod.ts";
import { type H1TestServer, startH1, testApp, Wire } from "./_helpers.ts";

interface Refusal {
  name: string;
  /** The request head and whatever follows (a smuggled request). */
  wire: string;
  status: number;
  reason: string;
}

const SMUGGLED = "GET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

function post(fields: string, body = ""): string {
  return `POST /echo HTTP/1.1\r\nHost: x\r\n${fields}\r\n${body}`;
}

const refusals: Refusal[] = [
  // CL.TE and TE.CL: both framings present.
  {
    name: "CL.TE: Content-Length then Transfer-Encoding",
    wire: post(
      "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
      "0\r\n\r\nG",
    ) + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.CL: Transfer-Encoding then Content-Length",
    wire: post(
      "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
      "5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n",
    ) +
      SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  // TE.TE: obfuscated Transfer-Encoding.
  {
    name: "TE.TE: chunked then a second coding line",
    wire: post(
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
      "0\r\n\r\n",
    ) + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: chunked listed twice",
    wire: post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n") +
      SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: chunked on two lines",
    wire: post(
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
      "0\r\n\r\n",
    ) + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: space before the colon",
    wire: post("Transfer-Encoding : chunked\r\n", "0\r\n\r\n") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: tab before the colon",
    wire: post("Transfer-Encoding\t: chunked\r\n", "0\r\n\r\n") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: obs-fold continuation line",
    wire: post("Transfer-Encoding: x\r\n chunked\r\n", "0\r\n\r\n") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: vertical tab in the value",
    wire: post("Transfer-Encoding: \x0bchunked\r\n", "0\r\n\r\n") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: chunked not the last coding",
    wire: post("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: quoted chunked",
    wire: post('Transfer-Encoding: "chunked"\r\n', "0\r\n\r\n") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "TE.TE: xchunked",
    wire: post("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n") + SMUGGLED,
    status: 501,
    reason: "unsupported_transfer_encoding",
  },
  {
    name: "TE: gzip, chunked is not supported",
    wire: post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n") + SMUGGLED,
    status: 501,
    reason: "unsupported_transfer_encoding",
  },
  {
    name: "TE: identity is not a coding any more",
    wire: post("Transfer-Encoding: identity\r\n", "") + SMUGGLED,
    status: 501,
    reason: "unsupported_transfer_encoding",
  },
  {
    name: "TE on HTTP/1.0",
    wire: "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
      SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  // Content-Length variants.
  {
    name: "CL.CL: two different lengths",
    wire: post("Content-Length: 3\r\nContent-Length: 5\r\n", "abcde") +
      SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "CL: a list of lengths",
    wire: post("Content-Length: 3, 3\r\n", "abc") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "CL: a sign",
    wire: post("Content-Length: +3\r\n", "abc") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "CL: negative",
    wire: post("Content-Length: -1\r\n", "") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "CL: hex",
    wire: post("Content-Length: 0x3\r\n", "abc") + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  // Chunked body framing (the head was fine: the App answers, then close).
  {
    name: "chunked: size with a 0x prefix",
    wire: post("Transfer-Encoding: chunked\r\n", "0x3\r\nabc\r\n0\r\n\r\n") +
      SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "chunked: negative size",
    wire: post("Transfer-Encoding: chunked\r\n", "-3\r\nabc\r\n0\r\n\r\n") +
      SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "chunked: size overflowing 64 bits",
    wire: post(
      "Transfer-Encoding: chunked\r\n",
      "10000000000000003\r\nabc\r\n0\r\n\r\n",
    ) + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "chunked: data longer than its size",
    wire: post("Transfer-Encoding: chunked\r\n", "3\r\nabcdef\r\n0\r\n\r\n") +
      SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  // Head syntax.
  {
    name: "bare CR in a field",
    wire: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "NUL in a field value",
    wire: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "field without a colon",
    wire: "GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "space inside the request target",
    wire: "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  // Host.
  {
    name: "HTTP/1.1 without Host",
    wire: "GET / HTTP/1.1\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_host",
  },
  {
    name: "two Host fields",
    wire: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_host",
  },
  {
    name: "Host with userinfo",
    wire: "GET / HTTP/1.1\r\nHost: user@evil.test\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_host",
  },
  {
    name: "Host with a path",
    wire: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_host",
  },
  // Versions and methods.
  {
    name: "HTTP/2.0 request line",
    wire: "GET / HTTP/2.0\r\nHost: x\r\n\r\n" + SMUGGLED,
    status: 505,
    reason: "unsupported_version",
  },
  {
    name: "HTTP/0.9-style request line",
    wire: "GET /\r\n\r\n" + SMUGGLED,
    status: 400,
    reason: "bad_request",
  },
  {
    name: "method longer than 32 bytes",
    wire: "A".repeat(40) + " / HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED,
    status: 501,
    reason: "bad_request",
  },
];

async function refusedOnce(
  s: H1TestServer,
  wire: string,
  size?: number,
): Promise<
  { status: number; text: string; closed: boolean; type: string | null }
> {
  const w = await Wire.open(s.port);
  try {
    if (size === undefined) await w.send(wire);
    else await w.trickle(wire, size);
    const res = await w.read();
    const closed = res.headers.get("connection") === "close" &&
      await w.closedWithin(3000);
    return {
      status: res.status,
      text: res.text,
      closed,
      type: res.headers.get("content-type"),
    };
  } finally {
    w.close();
  }
}

Deno.test("h1 framing: refused requests get their status, once, then close", async (t) => {
  const rejects: RejectInfo[] = [];
  const s = startH1(testApp({ onReject: (r) => rejects.push(r) }));
  try {
    for (const c of refusals) {
      await t.step(c.name, async () => {
        const before = rejects.length;
        const r = await refusedOnce(s, c.wire);
        assert.equal(r.status, c.status, r.text);
        assert.equal(r.closed, true, "connection closed after the answer");
        assert.equal(r.type, "application/problem+json");
        // Counted once, with a reason (the method case is the parser's 501).
        assert.equal(rejects.length, before + 1);
        if (c.status !== 501 || c.reason !== "bad_request") {
          assert.equal(rejects.at(-1)!.reason, c.reason);
        }
      });
    }
  } finally {
    await s.close();
  }
});

Deno.test("h1 framing: refusals are the same when the bytes trickle in one at a time", async () => {
  const s = startH1(testApp());
  try {
    for (const c of refusals.slice(0, 6)) {
      const r = await refusedOnce(s, c.wire, 1);
      assert.equal(r.status, c.status, c.name);
      assert.equal(r.closed, true, c.name);
    }
  } finally {
    await s.close();
  }
});

Deno.test("h1 framing: valid spellings of chunked are accepted", async (t) => {
  const s = startH1(testApp());
  const spellings = [
    "Transfer-Encoding: chunked",
    "Transfer-Encoding: CHUNKED",
    "Transfer-Encoding: Chunked ",
    "Transfer-Encoding:\tchunked\t",
    "transfer-encoding:chunked",
    "Transfer-Encoding: ,chunked",
  ];
  try {
    for (const field of spellings) {
      await t.step(JSON.stringify(field), async () => {
        const w = await Wire.open(s.port);
        try {
          await w.send(
            post(field + "\r\n", "2\r\nok\r\n0\r\n\r\n") +
              SMUGGLED.replace("smuggled", "next"),
          );
          const [a, b] = await w.readMany(2);
          assert.equal(a.text, "ok");
          assert.equal(b.text, "hello next");
        } finally {
          w.close();
        }
      });
    }
  } finally {
    await s.close();
  }
});

Deno.test("h1 framing: identical repeated Content-Length and absolute-form targets are accepted", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    await w.send(
      post("Content-Length: 2\r\nContent-Length: 2\r\n", "ok") +
        "GET http://other.test/hello/abs HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const [a, b] = await w.readMany(2);
    assert.equal(a.text, "ok");
    assert.equal(b.text, "hello abs");
  } finally {
    w.close();
    await s.close();
  }
});

Deno.test("h1 framing: limits before routing answer 414 and 431", async (t) => {
  const rejects: RejectInfo[] = [];
  const s = startH1(testApp({ onReject: (r) => rejects.push(r) }));
  const cases: [string, string, number, string][] = [
    [
      "target over urlBytes",
      `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      414,
      "url_too_long",
    ],
    [
      "fields over headerBytes",
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(17_000)}\r\n\r\n`,
      431,
      "headers_too_large",
    ],
    [
      "more fields than headerCount",
      "GET / HTTP/1.1\r\nHost: x\r\n" + "X-A: 1\r\n".repeat(101) + "\r\n",
      431,
      "too_many_headers",
    ],
  ];
  try {
    for (const [name, wire, status, reason] of cases) {
      await t.step(name, async () => {
        const r = await refusedOnce(s, wire);
        assert.equal(r.status, status);
        assert.equal(r.closed, true);
        assert.equal(rejects.at(-1)?.reason, reason);
        assert.match(JSON.parse(r.text).detail, /limit/);
      });
    }
  } finally {
    await s.close();
  }
});

Deno.test("h1 framing: a head that never ends is refused within the head limits", async () => {
  const s = startH1(testApp());
  const w = await Wire.open(s.port);
  try {
    await w.send("GET / HTTP/1.1\r\nHost: x\r\n");
    const line = "X-Pad: " + "p".repeat(1000) + "\r\n";
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) {
      try {
        await w.send(line);
      } catch {
        refused = true;
      }
    }
    const res = await w.read();
    assert.equal(res.status, 431); // never buffered past headerBytes
  } finally {
    w.close();
    await s.close();
  }
});
