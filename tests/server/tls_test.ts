import assert from "node:assert/strict";
import { App } from "../../src/app/app.ts";
import { serve } from "../../src/server/serve.ts";

const dir = new URL("../fixtures/", import.meta.url);
const certFile = new URL("server_cert.pem", dir).pathname;
const keyFile = new URL("server_key.pem", dir).pathname;
const ca = Deno.readTextFileSync(new URL("ca_cert.pem", dir));

function app(): App {
  const app = new App();
  app.get("/", (ctx) => ctx.text("secure"));
  return app;
}

Deno.test("tls: serves HTTPS from certFile/keyFile and negotiates h2", async () => {
  const server = serve(app(), {
    transport: "deno", // HTTP/2 is Deno.serve's
    hostname: "127.0.0.1",
    port: 0,
    tls: { certFile, keyFile },
    shutdown: { signals: [] },
  });
  const port = server.addr.port;
  // A client that speaks only HTTP/2 and trusts only the test CA.
  const client = Deno.createHttpClient({
    caCerts: [ca],
    http1: false,
    http2: true,
  });
  try {
    for (const host of ["127.0.0.1", "localhost"]) {
      const res = await fetch(`https://${host}:${port}/`, { client });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "secure");
    }
  } finally {
    client.close();
  }
  // ALPN picks h2 when offered, and http/1.1 still works.
  for (
    const [offer, expected] of [[["h2", "http/1.1"], "h2"], [
      ["http/1.1"],
      "http/1.1",
    ]]
  ) {
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port,
      caCerts: [ca],
      alpnProtocols: offer as string[],
    });
    const { alpnProtocol } = await conn.handshake();
    assert.equal(alpnProtocol, expected);
    conn.close();
  }
  await server.shutdown();
});

Deno.test("tls: serves HTTPS from PEM strings; clients without the test CA refuse it", async () => {
  const server = serve(app(), {
    hostname: "127.0.0.1",
    port: 0,
    tls: {
      cert: Deno.readTextFileSync(certFile),
      key: Deno.readTextFileSync(keyFile),
    },
    shutdown: { signals: [] },
  });
  const port = server.addr.port;
  const client = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const res = await fetch(`https://localhost:${port}/`, { client });
    assert.equal(await res.text(), "secure");
  } finally {
    client.close();
  }
  // Without the test CA the certificate is not trusted.
  await assert.rejects(fetch(`https://localhost:${port}/`));
  await server.shutdown();
});

Deno.test("tls: curl --http2 with the test CA gets HTTP/2", async (t) => {
  let curl: Deno.CommandOutput | undefined;
  const server = serve(app(), {
    transport: "deno", // HTTP/2 is Deno.serve's
    hostname: "127.0.0.1",
    port: 0,
    tls: { certFile, keyFile },
    shutdown: { signals: [] },
  });
  try {
    curl = await new Deno.Command("curl", {
      args: [
        "--silent",
        "--http2",
        "--cacert",
        new URL("ca_cert.pem", dir).pathname,
        "--write-out",
        "\n%{http_version}",
        `https://localhost:${server.addr.port}/`,
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  } finally {
    await server.shutdown();
  }
  if (curl === undefined) {
    await t.step({ name: "curl is not installed", ignore: true, fn: () => {} });
    return;
  }
  assert.equal(curl.code, 0);
  assert.equal(new TextDecoder().decode(curl.stdout), "secure\n2");
});

Deno.test("tls: missing files and half-given options are refused before listening", () => {
  assert.throws(
    () =>
      serve(app(), {
        port: 0,
        tls: { certFile: "/nonexistent/cert.pem", keyFile },
      }),
    (e: unknown) =>
      e instanceof Error &&
      e.message === 'Cannot read tls.certFile "/nonexistent/cert.pem"',
  );
  assert.throws(
    // @ts-expect-error: key is missing
    () => serve(app(), { port: 0, tls: { cert: "x" } }),
    TypeError,
  );
});
