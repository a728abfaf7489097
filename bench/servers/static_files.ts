/**
 * Static-file benchmark server: `--kind=raw` is `Deno.serve` answering
 * `GET /<name>` with `new Response((await Deno.open(dir/name)).readable)`
 * (the least code that streams a file); `--kind=deno` and `--kind=h1` are
 * Palisade's `serveStatic({ root: dir })` on `/*` over that transport.
 *
 * Run: `deno run -A bench/servers/static_files.ts --kind=h1 --dir=/tmp/files --port=0`
 *
 * @module
 */

import { App, serve } from "../../mod.ts";
import { serveStatic } from "../../src/static/mod.ts";
import { ready } from "./_common.ts";

const arg = (name: string): string | undefined =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const kind = arg("kind") ?? "raw";
const dir = arg("dir") ?? Deno.cwd();
const port = Number(arg("port") ?? 0);

if (kind === "raw") {
  Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: (addr) => ready(addr.port),
  }, async (req) => {
    const url = req.url;
    const name = url.slice(url.lastIndexOf("/") + 1);
    const file = await Deno.open(`${dir}/${name}`);
    return new Response(file.readable);
  });
} else {
  const app = new App();
  app.get("/*", serveStatic({ root: dir }));
  serve(app, {
    hostname: "127.0.0.1",
    port,
    transport: kind === "h1" ? "h1" : "deno",
    shutdown: { graceMs: 1_000 },
    onListen: (addr) => ready(addr.port),
  });
}
