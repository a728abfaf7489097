import assert from "node:assert/strict";
import { memoryStore } from "../../../src/middleware/rate_limit/memory_store.ts";

const p = { limit: 1, windowMs: 60_000, burst: 1 };
const T0 = 1_700_000_000_000;

Deno.test("memoryStore: evicts the least recently used key; a check is a use", () => {
  const store = memoryStore({ maxKeys: 3 });
  for (const k of ["a", "b", "c"]) {
    assert.equal(store.check(k, 1, p, T0).allowed, true);
  }
  assert.equal(
    store.check("a", 1, p, T0).allowed,
    false,
    "a is remembered and touched",
  );
  assert.equal(store.check("d", 1, p, T0).allowed, true); // evicts b, the oldest
  assert.equal(store.size, 3);
  assert.equal(store.check("a", 1, p, T0).allowed, false, "a survived");
  assert.equal(store.check("c", 1, p, T0).allowed, false, "c survived");
  assert.equal(store.check("b", 1, p, T0).allowed, true, "b was forgotten"); // evicts d
  assert.equal(store.check("d", 1, p, T0).allowed, true, "d was forgotten");
  assert.equal(store.size, 3);
});

Deno.test("memoryStore: one key hammered among many keeps its count and the bound", () => {
  const store = memoryStore({ maxKeys: 5000 });
  const q = { limit: 100, windowMs: 1000, burst: 100 };
  for (let i = 0; i < 4999; i++) store.check(`u${i}`, 1, q, T0);
  let allowed = 0;
  for (let i = 0; i < 20_000; i++) {
    if (store.check("abuser", 1, q, T0 + (i >> 4)).allowed) allowed++;
  }
  // 1250 ms of hammering: the burst of 100 plus one per 10 ms.
  assert.equal(allowed, 100 + 124);
  assert.equal(store.size, 5000);
  store.check("new", 1, q, T0);
  assert.equal(store.size, 5000);
  assert.equal(
    store.check("abuser", 1, q, T0 + 1249).allowed,
    false,
    "the hot key was not evicted",
  );
});
