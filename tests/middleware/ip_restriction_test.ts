import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import {
  ipRestriction,
  type IpRestrictionOptions,
} from "../../src/middleware/ip_restriction.ts";

function appWith(options: IpRestrictionOptions, appOptions = {}): App {
  const app = new App(appOptions);
  app.use(ipRestriction(options));
  app.get("/", (ctx) => ctx.text(`hi ${ctx.remote.hostname}`));
  return app;
}

async function statusFrom(app: App, hostname: string): Promise<number> {
  const res = await app.fetch(new Request("http://localhost/"), {
    remoteAddr: { hostname, port: 40000 },
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("ipRestriction: an allow list refuses everything outside it", async () => {
  const app = appWith({
    allow: ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"],
  });
  const cases: [string, number][] = [
    ["10.0.0.1", 200],
    ["10.255.255.255", 200],
    ["11.0.0.1", 403],
    ["192.168.1.7", 200],
    ["192.168.1.8", 403],
    ["2001:db8::1", 200],
    ["2001:db8:ffff::1", 200],
    ["2001:db9::1", 403],
    ["::ffff:10.1.2.3", 200], // IPv4-mapped IPv6 is the IPv4 address
    ["::ffff:11.1.2.3", 403],
    ["::1", 403],
  ];
  for (const [ip, want] of cases) {
    assert.equal(await statusFrom(app, ip), want, ip);
  }
});

Deno.test("ipRestriction: deny wins over allow; a deny list alone allows the rest", async () => {
  const both = appWith({
    allow: ["10.0.0.0/8"],
    deny: ["10.66.0.0/16", "::ffff:10.1.1.1"],
  });
  assert.equal(await statusFrom(both, "10.1.2.3"), 200);
  assert.equal(await statusFrom(both, "10.66.1.1"), 403);
  assert.equal(await statusFrom(both, "10.1.1.1"), 403); // mapped entry matches plain IPv4
  const denyOnly = appWith({ deny: ["203.0.113.0/24", "fe80::/10"] });
  assert.equal(await statusFrom(denyOnly, "198.51.100.1"), 200);
  assert.equal(await statusFrom(denyOnly, "203.0.113.9"), 403);
  assert.equal(await statusFrom(denyOnly, "::ffff:203.0.113.9"), 403);
  assert.equal(await statusFrom(denyOnly, "fe80::1%eth0"), 403);
  assert.equal(await statusFrom(denyOnly, "2001:db8::1"), 200);
});

Deno.test("ipRestriction: an unparseable client address is refused; the 403 is problem+json", async () => {
  const app = appWith({ deny: ["203.0.113.0/24"] });
  for (const host of ["", "localhost", "10.0.0.1.2", "[::1]"]) {
    assert.equal(await statusFrom(app, host), 403, host);
  }
  const res = await app.fetch(new Request("http://localhost/"), {
    remoteAddr: { hostname: "203.0.113.1", port: 1 },
  });
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.deepEqual(await res.json(), {
    type: "about:blank",
    title: "Forbidden",
    status: 403,
    detail: "Client address is not allowed",
  });
});

Deno.test("ipRestriction: invalid entries throw a TypeError at factory time", () => {
  const bad: [IpRestrictionOptions, string][] = [
    [{}, "Options of ipRestriction need a non-empty allow or deny list"],
    [
      { allow: [], deny: [] },
      "Options of ipRestriction need a non-empty allow or deny list",
    ],
    [
      { allow: ["10.0.0.0/33"] },
      'Option allow must list IP addresses or CIDR ranges, got "10.0.0.0/33"',
    ],
    [
      { allow: ["10.0.0"] },
      'Option allow must list IP addresses or CIDR ranges, got "10.0.0"',
    ],
    [
      { deny: ["::1/129"] },
      'Option deny must list IP addresses or CIDR ranges, got "::1/129"',
    ],
    [
      { deny: ["example.com"] },
      'Option deny must list IP addresses or CIDR ranges, got "example.com"',
    ],
    [
      { deny: ["010.0.0.1"] },
      'Option deny must list IP addresses or CIDR ranges, got "010.0.0.1"',
    ],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => ipRestriction(options),
      (e: unknown) => e instanceof TypeError && e.message === message,
      message,
    );
  }
});

Deno.test("ipRestriction: over real sockets, with and without a trusted proxy", async () => {
  for (const transport of ["h1", "deno"] as const) {
    const allowed = serve(appWith({ allow: ["127.0.0.0/8"] }), {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    const denied = serve(appWith({ deny: ["127.0.0.1"] }), {
      port: 0,
      hostname: "127.0.0.1",
      transport,
      shutdown: { signals: [] },
    });
    // Behind a trusted proxy (here the loopback peer), the forwarded client decides.
    const proxied = serve(
      appWith({ allow: ["203.0.113.0/24"] }, {
        trustProxy: { proxies: ["127.0.0.1"] },
      }),
      {
        port: 0,
        hostname: "127.0.0.1",
        transport,
        shutdown: { signals: [] },
      },
    );
    try {
      const ok = await fetch(`http://127.0.0.1:${allowed.addr.port}/`);
      assert.equal(await ok.text(), "hi 127.0.0.1");
      const no = await fetch(`http://127.0.0.1:${denied.addr.port}/`);
      assert.equal(no.status, 403, transport);
      await no.body?.cancel();
      const viaProxy = await fetch(`http://127.0.0.1:${proxied.addr.port}/`, {
        headers: { "x-forwarded-for": "203.0.113.50" },
      });
      assert.equal(await viaProxy.text(), "hi 203.0.113.50");
      const direct = await fetch(`http://127.0.0.1:${proxied.addr.port}/`);
      assert.equal(direct.status, 403);
      await direct.body?.cancel();
    } finally {
      await allowed.shutdown();
      await denied.shutdown();
      await proxied.shutdown();
    }
  }
});
