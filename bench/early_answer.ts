/**
 * How many upload bytes each transport reads after answering 413 early: a
 * client declares a 4 GB body to a route with a 1 MiB limit and keeps
 * sending for 3 s. The h1 engine stops reading after at most 64 KiB and
 * closes; `Deno.serve` reads and discards the whole upload (measured on Deno
 * 2.9.6; cancelling the request body or erroring the response does not stop
 * it).
 *
 * Run: `deno run -A bench/early_answer.ts`
 *
 * @module
 */

import { App } from "../src/app/app.ts";
import { serve } from "../src/server/serve.ts";

async function measure(transport: "deno" | "h1"): Promise<string> {
  const app = new App({ limits: { bodyBytes: 1 << 20 } });
  app.post(
    "/",
    async (ctx) => ctx.text(String((await ctx.body.bytes()).length)),
  );
  const server = serve(app, {
    transport,
    hostname: "127.0.0.1",
    port: 0,
    shutdown: { signals: [] },
  });
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  await conn.write(
    new TextEncoder().encode(
      "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 4000000000\r\n\r\n",
    ),
  );
  let status = "";
  const reading = (async () => {
    const buf = new Uint8Array(4096);
    try {
      const n = await conn.read(buf);
      if (n !== null) {
        status = new TextDecoder().decode(buf.subarray(0, n)).split("\r\n")[0];
      }
    } catch { /* reset */ }
  })();
  const chunk = new Uint8Array(1 << 20);
  let sent = 0;
  let ended = "still open after 3 s";
  const t0 = performance.now();
  while (performance.now() - t0 < 3000) {
    try {
      sent += await conn.write(chunk);
    } catch (e) {
      ended = `closed by the server after ${
        Math.round(performance.now() - t0)
      } ms (${(e as Error).name})`;
      break;
    }
  }
  await Promise.race([reading, new Promise((r) => setTimeout(r, 100))]);
  try {
    conn.close();
  } catch { /* closed */ }
  await server.shutdown({ graceMs: 0 });
  return `${transport}: ${status}; the client wrote ${
    (sent / 1e6).toFixed(1)
  } MB; ${ended}`;
}

if (import.meta.main) {
  for (const t of ["h1", "deno"] as const) console.log(await measure(t));
}
