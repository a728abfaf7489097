/**
 * Hono 4 on `Deno.serve`, with the shared 200-route table and the scenario
 * routes. No hardening: this is how Hono runs out of the box.
 *
 * Run: `deno run -A bench/servers/hono.ts --port=0`
 *
 * @module
 */

import { buildHono, serveHono } from "./_hono_app.ts";

serveHono(buildHono([]));
