/**
 * A flood of idle connections up to the process's descriptor limit must not
 * end the server: `Deno.serve`'s accept loop stops on EMFILE (the deno
 * transport serves again after a backoff) and the h1 accept loop backs off.
 * Once the flood is gone, a normal client is served. The server runs in a
 * subprocess under `ulimit -n 128`, so the flood stays small and fast.
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
): Promise<{ port: number; child: Deno.ChildProcess; stderr: () => string }> {
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      `ulimit -n 128 && exec "${Deno.execPath()}" run -A "${fixture}" ${transport}`,
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
