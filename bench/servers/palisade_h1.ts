/**
 * Palisade on its own HTTP/1.1 engine, serving the shared benchmark App. The
 * transport is passed explicitly (`transport: "h1"`), whatever `serve()`
 * defaults to. Prints `UNAVAILABLE` and exits 3 when the engine is not in
 * this build. `--hardened` spells out every default, connection timeouts
 * included; `--idle-timeout-ms=N` overrides the keep-alive idle timeout.
 *
 * Run: `deno run -A bench/servers/palisade_h1.ts --port=0 [--hardened]`
 *
 * @module
 */

import { servePalisade } from "./_palisade_serve.ts";

servePalisade("h1");
