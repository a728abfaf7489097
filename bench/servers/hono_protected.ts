/**
 * Hono 4 on `Deno.serve` with the protections Palisade has on by default,
 * from Hono's own middleware: `requestId()`, `bodyLimit({ maxSize: 1 MiB })`
 * and `timeout(30_000)` (see `honoProtections` in `_hono_app.ts`). The
 * shared 200-route table and the scenario routes, like `hono.ts`.
 *
 * Run: `deno run -A bench/servers/hono_protected.ts --port=0`
 *
 * @module
 */

import { buildHono, honoProtections, serveHono } from "./_hono_app.ts";

serveHono(buildHono(honoProtections()));
