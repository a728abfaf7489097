import assert from "node:assert/strict";
import {
  resolveClientAddr,
  type TrustProxyOptions,
} from "../../src/net/client_addr.ts";

const PROXY = { hostname: "10.0.0.1", port: 41000 };

function resolve(
  headers: Record<string, string>,
  trust: TrustProxyOptions,
  peer: { hostname: string; port: number } = PROXY,
): { hostname: string; port: number } {
  // A raw getter: transports may hand over bytes that `Headers` would refuse.
  return resolveClientAddr(peer, (name) => headers[name] ?? null, trust);
}

const xff = { proxies: ["10.0.0.1"] };
const fwd: TrustProxyOptions = { proxies: ["10.0.0.1"], header: "forwarded" };

Deno.test("proxy: an untrusted peer keeps its address whatever it sends", () => {
  const peer = { hostname: "203.0.113.9", port: 5000 };
  const got = resolve({ "x-forwarded-for": "1.2.3.4" }, xff, peer);
  assert.equal(got, peer);
  assert.deepEqual(
    resolve({ forwarded: "for=1.2.3.4" }, fwd, peer),
    peer,
  );
  assert.deepEqual(
    resolve({ "x-forwarded-for": "1.2.3.4" }, { proxies: [] }),
    PROXY,
  );
});

Deno.test("proxy: a trusted peer's X-Forwarded-For gives the client", () => {
  assert.deepEqual(resolve({ "x-forwarded-for": "203.0.113.7" }, xff), {
    hostname: "203.0.113.7",
    port: 0,
  });
  assert.deepEqual(resolve({}, xff), PROXY);
});

Deno.test("proxy: X-Forwarded-For is walked from the right past trusted proxies only", () => {
  const trust = { proxies: ["10.0.0.0/8"] };
  // The client forged the leftmost entry; the first untrusted from the right wins.
  assert.deepEqual(
    resolve(
      { "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.3, 10.0.0.2" },
      trust,
    )
      .hostname,
    "203.0.113.7",
  );
  // Several header lines are one list.
  const h = new Headers();
  h.append("x-forwarded-for", "6.6.6.6");
  h.append("x-forwarded-for", "203.0.113.7,10.9.9.9");
  assert.equal(
    resolveClientAddr(PROXY, (n) => h.get(n), trust).hostname,
    "203.0.113.7",
  );
  // Every hop trusted: the leftmost one is the client.
  assert.equal(
    resolve({ "x-forwarded-for": "10.0.0.5, 10.0.0.4" }, trust).hostname,
    "10.0.0.5",
  );
});

Deno.test("proxy: entries with ports and IPv6 forms are understood and normalised", () => {
  const cases: [string, string, number][] = [
    ["203.0.113.7:8443", "203.0.113.7", 8443],
    ["[2001:db8::1]:443", "2001:db8::1", 443],
    ["[2001:DB8:0:0:0:0:0:1]", "2001:db8::1", 0],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", 0],
    ["::ffff:203.0.113.7", "203.0.113.7", 0],
    ["::FFFF:cb00:7107", "203.0.113.7", 0],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1", 0],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1", 0],
    ["1::", "1::", 0],
    ["::2", "::2", 0],
    ["::", "::", 0],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", 0],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221", 0],
    ["  \t203.0.113.7 \t", "203.0.113.7", 0],
  ];
  for (const [entry, hostname, port] of cases) {
    assert.deepEqual(resolve({ "x-forwarded-for": entry }, xff), {
      hostname,
      port,
    }, entry);
  }
});

Deno.test("proxy: IPv6 and mapped peers and CIDR proxies match", () => {
  const header = { "x-forwarded-for": "203.0.113.7" };
  const client = "203.0.113.7";
  assert.equal(
    resolve(header, { proxies: ["::1"] }, { hostname: "::1", port: 1 })
      .hostname,
    client,
  );
  assert.equal(
    resolve(header, { proxies: ["0:0::1"] }, { hostname: "::1", port: 1 })
      .hostname,
    client,
  );
  assert.equal(
    resolve(header, { proxies: ["127.0.0.1"] }, {
      hostname: "::ffff:127.0.0.1",
      port: 1,
    }).hostname,
    client,
  );
  assert.equal(
    resolve(header, { proxies: ["::ffff:127.0.0.1"] }, {
      hostname: "127.0.0.1",
      port: 1,
    }).hostname,
    client,
  );
  const cidrs = { proxies: ["192.168.0.0/16", "fd00::/8", "172.16.0.0/12"] };
  for (const peer of ["192.168.44.3", "fd12:3456::1", "172.31.255.255"]) {
    assert.equal(
      resolve(header, cidrs, { hostname: peer, port: 1 }).hostname,
      client,
      peer,
    );
  }
  for (const peer of ["192.169.0.1", "fe00::1", "172.32.0.0", "10.0.0.1"]) {
    assert.equal(
      resolve(header, cidrs, { hostname: peer, port: 1 }).hostname,
      peer,
      peer,
    );
  }
  assert.equal(
    resolve(header, { proxies: ["0.0.0.0/0"] }, {
      hostname: "8.8.8.8",
      port: 1,
    })
      .hostname,
    client,
  );
  assert.equal(
    resolve(header, { proxies: ["10.1.2.3/32"] }, {
      hostname: "10.1.2.4",
      port: 1,
    }).hostname,
    "10.1.2.4",
  );
});

Deno.test("proxy: invalid trusted proxy entries throw naming the entry", () => {
  for (
    const entry of [
      "",
      "localhost",
      "10.0.0",
      "10.0.0.256",
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    assert.throws(
      () => resolve({}, { proxies: [entry] }),
      (err: unknown) =>
        err instanceof TypeError && err.message.includes(`"${entry}"`),
      entry,
    );
  }
});

Deno.test("proxy: malformed X-Forwarded-For yields the peer", () => {
  for (
    const value of [
      "",
      " ",
      ",",
      "203.0.113.7,",
      "not-an-ip",
      "unknown",
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "1.2.3.4:99999",
      "1.2.3.4:",
      "[::1",
      "[::1]x",
      "::1]",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      ":::",
      "1:",
      "fe80::1%eth0",
      "12345::1",
      "1.2.3.4\u0000",
      "１.２.３.４",
    ]
  ) {
    assert.deepEqual(resolve({ "x-forwarded-for": value }, xff), PROXY, value);
  }
});

Deno.test("proxy: Forwarded for= is walked from the right", () => {
  const trust: TrustProxyOptions = {
    proxies: ["10.0.0.0/8"],
    header: "forwarded",
  };
  assert.deepEqual(
    resolve({ forwarded: "for=192.0.2.60;proto=http;by=203.0.113.43" }, trust),
    { hostname: "192.0.2.60", port: 0 },
  );
  assert.deepEqual(
    resolve({
      forwarded: 'for=6.6.6.6, For="[2001:db8:cafe::17]:4711", for=10.0.0.9',
    }, trust),
    { hostname: "2001:db8:cafe::17", port: 4711 },
  );
  assert.deepEqual(
    resolve({ forwarded: 'proto=https;FOR="192.0.2.43:47011"' }, trust),
    { hostname: "192.0.2.43", port: 47011 },
  );
  // Quoted commas and semicolons do not split elements.
  assert.deepEqual(
    resolve({ forwarded: 'for=192.0.2.1;host="a,b;c", for=10.0.0.2' }, trust),
    { hostname: "192.0.2.1", port: 0 },
  );
  // Empty list elements are skipped.
  assert.deepEqual(
    resolve({ forwarded: ", for=192.0.2.1 ,, " }, trust),
    { hostname: "192.0.2.1", port: 0 },
  );
  // X-Forwarded-For is ignored when the proxies speak Forwarded, and vice versa.
  assert.deepEqual(resolve({ "x-forwarded-for": "192.0.2.1" }, trust), PROXY);
  assert.deepEqual(resolve({ forwarded: "for=192.0.2.1" }, xff), PROXY);
});

Deno.test("proxy: malformed or opaque Forwarded yields the peer", () => {
  for (
    const value of [
      "for=unknown",
      "for=_hidden",
      'for="_gazonk"',
      "for=",
      "proto=https",
      "for=1.2.3.4;for=5.6.7.8",
      'for="1.2.3.4',
      'for="[2001:db8::1"',
      'for="\\',
      "for=1.2.3.4, proto=http",
      'for=""',
    ]
  ) {
    assert.deepEqual(resolve({ forwarded: value }, fwd), PROXY, value);
  }
});

Deno.test("proxy: a 100 KB header is handled without blowing up", () => {
  const trust = { proxies: ["10.0.0.0/8"] };
  const trustF: TrustProxyOptions = { ...trust, header: "forwarded" };
  const many = Array.from({ length: 12_000 }, () => "10.1.2.3").join(",");
  const big: [string, string, TrustProxyOptions, string][] = [
    ["x-forwarded-for", "1".repeat(100_000), trust, "10.0.0.1"],
    ["x-forwarded-for", ",".repeat(100_000), trust, "10.0.0.1"],
    ["x-forwarded-for", " ".repeat(100_000) + "1.2.3.4", trust, "1.2.3.4"],
    ["x-forwarded-for", "[" + ":".repeat(100_000) + "]", trust, "10.0.0.1"],
    ["x-forwarded-for", "1.1.1.1," + many, trust, "10.1.2.3"],
    ["forwarded", '"'.repeat(100_000), trustF, "10.0.0.1"],
    ["forwarded", ";".repeat(100_000), trustF, "10.0.0.1"],
    [
      "forwarded",
      "for=1.1.1.1," + "for=10.1.2.3,".repeat(8000),
      trustF,
      "10.1.2.3",
    ],
    ["forwarded", "for=" + "\\".repeat(100_000), trustF, "10.0.0.1"],
    ["forwarded", "for=" + " ".repeat(100_000) + "1.2.3.4", trustF, "1.2.3.4"],
  ];
  // A chain of trusted hops longer than 32 stops at the last hop examined.
  for (const [name, value, t, hostname] of big) {
    assert.ok(value.length > 90_000);
    const got = resolve({ [name]: value }, t);
    assert.equal(got.hostname, hostname, `${name}: ${value.slice(0, 20)}`);
  }
});

Deno.test("proxy: ctx.remote believes X-Forwarded-For only from a trusted proxy", async () => {
  const { App } = await import("../../src/app/app.ts");
  const { serve } = await import("../../src/server/serve.ts");
  async function remoteVia(
    trust: TrustProxyOptions | undefined,
  ): Promise<string> {
    const app = new App({ trustProxy: trust });
    app.get("/", (ctx) => ctx.text(ctx.remote.hostname));
    const server = serve(app, {
      hostname: "127.0.0.1",
      port: 0,
      shutdown: { signals: [] },
    });
    try {
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.7" },
      });
      return await res.text();
    } finally {
      await server.shutdown();
    }
  }
  assert.equal(await remoteVia(undefined), "127.0.0.1");
  assert.equal(await remoteVia({ proxies: ["10.0.0.1"] }), "127.0.0.1");
  assert.equal(await remoteVia({ proxies: ["127.0.0.1"] }), "203.0.113.7");
});
