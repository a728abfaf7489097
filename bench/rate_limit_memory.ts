/**
 * Heap of a `memoryStore` after a flood of unique keys: 1 000 keys against
 * 1 000 000, for two `maxKeys` bounds, each in a fresh store, heap measured
 * after a full GC. Memory must depend on `maxKeys`, not on the flood.
 *
 * Run: `deno run --v8-flags=--expose-gc bench/rate_limit_memory.ts`
 *
 * @module
 */

import { memoryStore } from "../src/middleware/rate_limit/memory_store.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("Run with --v8-flags=--expose-gc");
  Deno.exit(2);
}

function heap(): number {
  gc!();
  gc!();
  return Deno.memoryUsage().heapUsed;
}

const params = { limit: 100, windowMs: 60_000, burst: 100 };
const now = 1_700_000_000_000;
const MiB = 1024 * 1024;

function grow(
  maxKeys: number,
  unique: number,
): { held: number; bytes: number } {
  const before = heap();
  const store = memoryStore({ maxKeys });
  for (let i = 0; i < unique; i++) {
    // Addresses as a client key looks: "default:10.x.y.z".
    store.check(
      `default:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      1,
      params,
      now + i,
    );
  }
  const bytes = heap() - before;
  return { held: store.size, bytes };
}

grow(1000, 1_000_000); // warm-up: compiled code and one-time allocations

console.log(
  "| maxKeys | unique keys | keys held | heap growth MiB (median of 3) | bytes/key held |",
);
console.log("| ---: | ---: | ---: | ---: | ---: |");
for (const maxKeys of [1_000, 100_000]) {
  for (const unique of [1_000, 1_000_000]) {
    const runs = [0, 1, 2].map(() => grow(maxKeys, unique));
    const bytes = runs.map((r) => r.bytes).sort((a, b) => a - b)[1];
    const held = runs[0].held;
    console.log(
      `| ${maxKeys} | ${unique} | ${held} | ${(bytes / MiB).toFixed(2)} | ${
        Math.round(bytes / held)
      } |`,
    );
  }
}
