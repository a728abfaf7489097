/**
 * A flood of idle connections up to the process's descriptor limit must not
 * end the server: `Deno.serve`'s accept loop stops on EMFILE (the deno
 * transport serves again after a backoff) and the h1 accept loop backs off.
 * Once the flood is gone, a normal client is served. TLS clients that never
 * finish their handshake lose their socket at `tlsHandshakeTimeoutMs` on
 * h1, so HTTPS is served again while they are still connected. The server
 * runs in a subprocess under `ulimit -n 128`, so the flood stays small and
 * fast.
 */

import assert from "node:assert/strict";

const fixture =
  new URL("../fixtures/flood_server.ts", import.meta.url).pathname;
const hasShell = (() => {
  try {
    return Deno.statSync("/bin/sh").isFile;
  } catch {
    return false;
  }
})();

async function startServer(
  transport: string,
  tls = false,
): Promise<{ port: number; child: Deno.ChildProcess; stderr: () => string }> {
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      `ulimit -n 128 && exec "${Deno.execPath()}" run -A "${fixture}" ${transport}${
        tls ? " tls" : ""
      }`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      err += chunk;
    }
  })();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  for (;;) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`server exited: ${err}`);
    out += value;
    const m = out.match(/port (\d+)/);
    if (m) {
      lines.releaseLock();
      return { port: Number(m[1]), child, stderr: () => err };
    }
  }
}

for (const transport of ["deno", "h1"]) {
  Deno.test({
    name:
      `flood [${transport}]: idle connections up to the descriptor limit do not end the server`,
    ignore: !hasShell,
    async fn() {
      const { port, child, stderr } = await startServer(transport);
      const conns: Deno.Conn[] = [];
      try {
        for (let i = 0; i < 200; i++) {
          try {
            conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
          } catch {
            break; // refused while the server backs off: the flood is full
          }
        }
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        for (const c of conns) {
          try {
            c.close();
          } catch { /* closed by the server */ }
        }
      }
      // The flood is gone: the server (still running) serves again.
      let served = "";
      for (let attempt = 0; attempt < 50 && served !== "ok"; attempt++) {
        try {
          served = await (await fetch(`http://127.0.0.1:${port}/`)).text();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(served, "ok", stderr());
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`))
        .text();
      const errors = metrics.match(
        new RegExp(
          `palisade_accept_errors_total\\{transport="${transport}"\\} (\\d+)`,
        ),
      );
      assert.ok(errors !== null && Number(errors[1]) > 0, metrics);
      assert.match(stderr(), new RegExp(`the ${transport} transport`));
      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.code, 0, stderr());
    },
  });
}

/**
 * Descriptors the process `pid` holds open (Linux), counted by a shell:
 * Deno lets only `--allow-all` read `/proc`.
 */
async function openDescriptors(pid: number): Promise<number> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `ls /proc/${pid}/fd | wc -l`],
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test({
  name:
    "flood [h1+tls]: stalled handshakes release their descriptors at tlsHandshakeTimeoutMs",
  ignore: !hasShell || Deno.build.os !== "linux",
  async fn() {
    const { port, child, stderr } = await startServer("h1", true);
    const ca = await Deno.readTextFile(
      new URL("../fixtures/ca_cert.pem", import.meta.url),
    );
    const client = Deno.createHttpClient({ caCerts: [ca] });
    const silent: Deno.Conn[] = [];
    try {
      const before = await openDescriptors(child.pid);
      // Plain TCP connections that never send a ClientHello, until the
      // server is out of descriptors.
      for (let i = 0; i < 200; i++) {
        try {
          silent.push(await Deno.connect({ hostname: "127.0.0.1", port }));
        } catch {
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
      const during = await openDescriptors(child.pid);
      assert.ok(during > before + 50, `${before} → ${during} descriptors`);
      // Still connected, the stalled clients lose their socket at the
      // timeout (1 s in the fixture): an HTTPS client is served again.
      let served = "";
      for (let attempt = 0; attempt < 100 && served !== "ok"; attempt++) {
        try {
          served = await (await fetch(`https://localhost:${port}/`, { client }))
            .text();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(served, "ok", stderr());
      const after = await openDescriptors(child.pid);
      assert.ok(after < before + 20, `${before} → ${during} → ${after}`);
      // Each stalled client sees its connection closed by the server.
      const buf = new Uint8Array(16);
      const first = await silent[0].read(buf).catch(() => null);
      assert.equal(first, null);
      const metrics = await (await fetch(`https://localhost:${port}/metrics`, {
        client,
      })).text();
      const timeouts = metrics.match(
        /palisade_tls_handshakes_total\{result="timeout"\} (\d+)/,
      );
      assert.ok(timeouts !== null && Number(timeouts[1]) >= 50, metrics);
      console.log(
        `  ${silent.length} stalled handshakes: server descriptors ${before} → ${during} → ${after} after the timeout; ${
          timeouts![1]
        } timeouts counted`,
      );
    } finally {
      client.close();
      for (const c of silent) {
        try {
          c.close();
        } catch { /* closed by the server */ }
      }
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0, stderr());
    }
  },
});
