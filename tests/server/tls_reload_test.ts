/**
 * Certificate reload (`server.reloadTls()`, `tls.watch`), SNI, `ctx.tls`
 * and the handshake metrics. Certificates are told apart by their subject,
 * read with a `node:tls` client that trusts both test CAs.
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";
import type { ServeOptions } from "../../src/server/options.ts";
import { find, parseExposition } from "../fixtures/prometheus.ts";

const dir = new URL("../fixtures/", import.meta.url).pathname;
const main = {
  certFile: `${dir}server_cert.pem`,
  keyFile: `${dir}server_key.pem`,
};
const alt = { certFile: `${dir}alt_cert.pem`, keyFile: `${dir}alt_key.pem` };
const ca = [
  Deno.readTextFileSync(`${dir}ca_cert.pem`),
  Deno.readTextFileSync(`${dir}alt_ca_cert.pem`),
];
const MAIN_CN = "localhost";
const ALT_CN = "Palisade Alt Leaf";

function testApp(): App {
  const app = new App();
  app.get("/", (ctx) => ctx.json(ctx.tls));
  return app;
}

function start(app: App, options: ServeOptions) {
  return serve(app, {
    hostname: "127.0.0.1",
    port: 0,
    shutdown: { signals: [], graceMs: 1000 },
    ...options,
  });
}

/**
 * One request over a fresh TLS connection: the certificate's CN and the
 * response body.
 */
async function get(
  port: number,
  servername = "localhost",
): Promise<{ cn: string; body: string }> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    servername,
    ca,
    ALPNProtocols: ["http/1.1"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    const cn = String(socket.getPeerCertificate().subject?.CN);
    socket.write(
      "GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
    );
    let text = "";
    socket.on("data", (d: Uint8Array) => text += new TextDecoder().decode(d));
    await new Promise<void>((resolve, reject) => {
      socket.once("end", resolve);
      socket.once("error", reject);
    });
    assert.match(text, /^HTTP\/1\.1 200 /);
    return { cn, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    socket.destroy();
  }
}

/**
 * `get` right after a reload. The deno transport swaps listeners, and a
 * connection caught in the old one's backlog is reset (documented): it is
 * tried again, up to three times; on h1 the first failure fails the test.
 */
async function getAfterReload(
  port: number,
  transport: "h1" | "deno",
): Promise<{ cn: string; body: string }> {
  for (let attempt = 1;; attempt++) {
    try {
      return await get(port);
    } catch (e) {
      const reset = /ECONNRESET|socket hang up/.test(String(e));
      if (transport === "h1" || !reset || attempt === 3) throw e;
    }
  }
}

function counter(app: App, name: string, result: string): number {
  const [sample] = find(parseExposition(app.metrics.text()).samples, name, {
    result,
  });
  return sample?.value ?? 0;
}

for (const transport of ["h1", "deno"] as const) {
  Deno.test(`tls reload [${transport}]: ten reloads under load (h1: no failed request), the new certificate afterwards`, async () => {
    const app = testApp();
    const server = start(app, { transport, tls: main, reusePort: true });
    const port = server.addr.port;
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        try {
          await get(port);
          ok++;
        } catch (e) {
          failures.push(String(e));
        }
      }
    })();
    try {
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 100));
        await server.reloadTls(i % 2 === 0 ? alt : main);
      }
      await server.reloadTls(alt);
      await new Promise((r) => setTimeout(r, 100));
      running = false;
      await load;
      if (transport === "h1") {
        assert.deepEqual(failures, []);
      } else {
        // The listener swap resets connections caught in it (documented):
        // they fail before any response, never with a wrong answer.
        for (const f of failures) {
          assert.match(f, /ECONNRESET|Input:\n\n''|socket hang up/, f);
        }
      }
      assert.ok(ok > 10, `${ok} requests`);
      assert.equal((await getAfterReload(port, transport)).cn, ALT_CN);
      assert.equal(counter(app, "palisade_tls_reloads_total", "ok"), 11);
      console.log(
        `  ${ok} requests over fresh TLS connections during 11 reloads, ${failures.length} failed`,
      );
    } finally {
      running = false;
      await load;
      await server.shutdown();
    }
  });

  Deno.test(`tls reload [${transport}]: a bad pair is refused and the old certificate stays`, async () => {
    const app = testApp();
    const server = start(app, { transport, tls: main, reusePort: true });
    try {
      await assert.rejects(
        server.reloadTls({ certFile: main.certFile, keyFile: alt.keyFile }),
        /The TLS certificate is invalid/,
      );
      await assert.rejects(
        server.reloadTls({
          cert: "-----BEGIN CERTIFICATE-----\nAAAA",
          key: "x",
        }),
        /The TLS certificate is invalid/,
      );
      await assert.rejects(
        server.reloadTls({ certFile: "/nonexistent/c.pem", keyFile: "/x" }),
        /Cannot read tls\.certFile "\/nonexistent\/c\.pem"/,
      );
      assert.equal((await get(server.addr.port)).cn, MAIN_CN);
      assert.equal(counter(app, "palisade_tls_reloads_total", "failed"), 3);
    } finally {
      await server.shutdown();
    }
  });

  Deno.test(`tls watch [${transport}]: a half-written or mismatched pair keeps the old certificate, a good one is loaded`, async () => {
    const tmp = await Deno.makeTempDir();
    const certFile = `${tmp}/cert.pem`;
    const keyFile = `${tmp}/key.pem`;
    await Deno.copyFile(main.certFile, certFile);
    await Deno.copyFile(main.keyFile, keyFile);
    const app = testApp();
    const errors: string[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(" "));
    const server = start(app, {
      transport,
      tls: { certFile, keyFile, watch: true },
      reusePort: true,
    });
    const port = server.addr.port;
    const waitFor = async (what: () => boolean, label: string) => {
      for (let i = 0; i < 100 && !what(); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(what(), label);
    };
    try {
      // Half written: the certificate is cut in the middle.
      const altCert = await Deno.readTextFile(alt.certFile);
      await Deno.writeTextFile(certFile, altCert.slice(0, 200));
      await waitFor(
        () => counter(app, "palisade_tls_reloads_total", "failed") >= 1,
        "the half-written certificate is refused",
      );
      assert.equal((await get(port)).cn, MAIN_CN);
      // The whole new certificate, but still the old key: mismatched.
      await Deno.writeTextFile(certFile, altCert);
      await waitFor(
        () => counter(app, "palisade_tls_reloads_total", "failed") >= 2,
        "the mismatched pair is refused",
      );
      assert.equal((await get(port)).cn, MAIN_CN);
      assert.ok(
        errors.some((e) => e.includes("the previous one stays in force")),
        errors.join("\n"),
      );
      // Other files of the directory change: the same refused pair is not
      // refused (logged, counted) again.
      const refusals = errors.length;
      await Deno.writeTextFile(`${tmp}/unrelated.log`, "x");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(errors.length, refusals, errors.join("\n"));
      assert.equal(counter(app, "palisade_tls_reloads_total", "failed"), 2);
      // The matching key arrives: the pair is loaded.
      await Deno.copyFile(alt.keyFile, keyFile);
      await waitFor(
        () => counter(app, "palisade_tls_reloads_total", "ok") >= 1,
        "the good pair is loaded",
      );
      assert.equal((await getAfterReload(port, transport)).cn, ALT_CN);
    } finally {
      console.error = originalError;
      await server.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  });
}

Deno.test("tls sni [h1]: exact and wildcard names get their certificate, others the default", async () => {
  const server = start(testApp(), {
    tls: { ...main, sni: { "api.test": alt, "*.wild.test": alt } },
  });
  const port = server.addr.port;
  try {
    const api = await get(port, "api.test");
    assert.equal(api.cn, ALT_CN);
    assert.deepEqual(JSON.parse(api.body), {
      version: "TLSv1.3",
      alpnProtocol: "http/1.1",
      serverName: "api.test",
    });
    assert.equal((await get(port, "x.wild.test")).cn, ALT_CN);
    assert.equal((await get(port, "localhost")).cn, MAIN_CN);
    // A wildcard covers one label only.
    await assert.rejects(get(port, "a.b.wild.test"));
  } finally {
    await server.shutdown();
  }
});

Deno.test("tls reload [deno]: without reusePort a reload and a watch are refused", async () => {
  const server = start(testApp(), { transport: "deno", tls: main });
  try {
    await assert.rejects(
      server.reloadTls(alt),
      /needs the reusePort: true option/,
    );
    assert.equal((await get(server.addr.port)).cn, MAIN_CN);
  } finally {
    await server.shutdown();
  }
  assert.throws(
    () =>
      start(testApp(), { transport: "deno", tls: { ...main, watch: true } }),
    /Option tls\.watch: Reloading TLS on the deno transport needs the reusePort/,
  );
});

Deno.test("tls sni [deno]: refused at start, Deno.serve takes one certificate", () => {
  assert.throws(
    () =>
      start(testApp(), {
        transport: "deno",
        tls: { ...main, sni: { "api.test": alt } },
      }),
    /Option tls\.sni needs the h1 transport/,
  );
});

Deno.test("tls: ctx.tls is null on plain HTTP and reloadTls is refused", async () => {
  const server = start(testApp(), {});
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(await res.text(), "null");
    await assert.rejects(server.reloadTls(main), /does not use TLS/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("tls handshakes [h1]: ok, failed, stalled and refused handshakes are counted", async () => {
  const app = testApp();
  const server = start(app, {
    tls: main,
    tlsHandshakeTimeoutMs: 300,
    maxTlsHandshakes: 2,
  });
  const port = server.addr.port;
  const silent: Deno.Conn[] = [];
  try {
    await get(port);
    // Failed: plain HTTP sent to the TLS port.
    const plain = await Deno.connect({ hostname: "127.0.0.1", port });
    await plain.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    assert.equal(await plain.read(new Uint8Array(64)).catch(() => null), null);
    plain.close();
    // Stalled: two connections that never send a ClientHello fill
    // maxTlsHandshakes; a third is refused at once.
    silent.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    silent.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await new Promise((r) => setTimeout(r, 50));
    const third = await Deno.connect({ hostname: "127.0.0.1", port });
    assert.equal(await third.read(new Uint8Array(64)).catch(() => null), null);
    third.close();
    // At the timeout both stalled ones are closed.
    for (const c of silent) {
      assert.equal(await c.read(new Uint8Array(64)).catch(() => null), null);
    }
    // The places are free again.
    assert.equal((await get(port)).cn, MAIN_CN);
    const name = "palisade_tls_handshakes_total";
    assert.equal(counter(app, name, "ok"), 2);
    assert.equal(counter(app, name, "failed"), 1);
    assert.equal(counter(app, name, "timeout"), 2);
    assert.equal(counter(app, name, "refused"), 1);
    const [durations] = find(
      parseExposition(app.metrics.text()).samples,
      "palisade_tls_handshake_duration_seconds_count",
    );
    assert.equal(durations?.value, 5);
  } finally {
    for (const c of silent) c.close();
    await server.shutdown();
  }
});
