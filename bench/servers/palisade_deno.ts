/**
 * Palisade on the `"deno"` transport (`Deno.serve`), serving the shared
 * benchmark App. `--hardened` spells out every default.
 *
 * Run: `deno run -A bench/servers/palisade_deno.ts --port=0 [--hardened]`
 *
 * @module
 */

import { servePalisade } from "./_palisade_serve.ts";

servePalisade("deno");
