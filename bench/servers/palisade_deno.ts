/**
 * Palisade on the `"deno"` transport (`Deno.serve`), serving the shared
 * benchmark App. The transport is passed explicitly (`transport: "deno"`),
 * whatever `serve()` defaults to. `--hardened` spells out every default;
 * `--no-request-id` turns request ids off.
 *
 * Run: `deno run -A bench/servers/palisade_deno.ts --port=0 [--hardened] [--no-request-id]`
 *
 * @module
 */

import { servePalisade } from "./_palisade_serve.ts";

servePalisade("deno");
