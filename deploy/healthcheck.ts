/**
 * A health probe for Docker's `HEALTHCHECK` (the runtime image has no
 * curl): exits 0 when the URL given as the first argument answers 2xx
 * within 2 s, else 1.
 *
 *   deno run --allow-net=127.0.0.1:8000 deploy/healthcheck.ts http://127.0.0.1:8000/healthz
 *
 * @module
 */

const url = Deno.args[0] ?? "http://127.0.0.1:8000/healthz";
let ok = false;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  ok = res.ok;
} catch {
  ok = false;
}
Deno.exit(ok ? 0 : 1);
