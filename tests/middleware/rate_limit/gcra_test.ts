import assert from "node:assert/strict";
import fc from "npm:fast-check@4";
import {
  gcra,
  type GcraParams,
  type Tat,
} from "../../../src/middleware/rate_limit/gcra.ts";

const T0 = 1_700_000_000_000;

function fresh(): Tat {
  return { ms: 0, frac: 0 };
}

Deno.test("gcra: a fresh key gets its burst at once, then one unit per emission interval", () => {
  const p: GcraParams = { limit: 5, windowMs: 1000, burst: 5 };
  const tat = fresh();
  for (let i = 0; i < 5; i++) {
    const r = gcra(tat, 1, p, T0);
    assert.equal(r.allowed, true);
    assert.equal(r.remaining, 4 - i);
    assert.equal(r.resetMs, 200 * (i + 1));
  }
  const denied = gcra(tat, 1, p, T0);
  assert.deepEqual(denied, {
    allowed: false,
    remaining: 0,
    resetMs: 1000,
    retryAfterMs: 200,
  });
  assert.equal(gcra(tat, 1, p, T0 + 199).allowed, false);
  assert.equal(gcra(tat, 1, p, T0 + 200).allowed, true);
  assert.equal(gcra(tat, 1, p, T0 + 200).allowed, false);
});

Deno.test("gcra: a fractional emission interval is exact at the boundary", () => {
  // T = 60000 / 7 = 8571.428… ms; burst 1 spaces requests by T.
  const p: GcraParams = { limit: 7, windowMs: 60_000, burst: 1 };
  const tat = fresh();
  assert.equal(gcra(tat, 1, p, T0).allowed, true);
  const early = gcra(tat, 1, p, T0 + 8571);
  assert.equal(early.allowed, false);
  assert.equal(early.retryAfterMs, 1);
  assert.equal(gcra(tat, 1, p, T0 + 8572).allowed, true);
});

Deno.test("gcra: hammering every ms gets exactly burst + elapsed / T units, without drift", () => {
  const p: GcraParams = { limit: 3, windowMs: 1000, burst: 3 };
  const tat = fresh();
  let allowed = 0;
  for (let t = 0; t <= 10_000; t++) {
    if (gcra(tat, 1, p, T0 + t).allowed) allowed++;
  }
  assert.equal(allowed, 3 + 30);
});

Deno.test("gcra: cost counts several units; a refusal counts nothing; cost 0 is free", () => {
  const p: GcraParams = { limit: 10, windowMs: 1000, burst: 10 };
  const tat = fresh();
  assert.equal(gcra(tat, 7, p, T0).remaining, 3);
  const refused = gcra(tat, 4, p, T0);
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 3);
  assert.equal(refused.retryAfterMs, 100);
  const free = gcra(tat, 0, p, T0);
  assert.equal(free.allowed, true);
  assert.equal(free.remaining, 3);
  assert.equal(gcra(tat, 3, p, T0).allowed, true);
});

// One request: wait dt ms, then spend cost units.
const step = fc.record({
  dt: fc.integer({ min: 0, max: 3000 }),
  cost: fc.integer({ min: 0, max: 6 }),
});
const params = fc.record({
  limit: fc.integer({ min: 1, max: 50 }),
  windowMs: fc.integer({ min: 1, max: 5000 }),
  burst: fc.integer({ min: 1, max: 6 }),
});

Deno.test("gcra: any interval admits at most burst + floor(length / T) units", () => {
  fc.assert(
    fc.property(params, fc.array(step, { maxLength: 60 }), (p, steps) => {
      const tat = fresh();
      const admitted: { t: number; cost: number }[] = [];
      let t = T0;
      for (const s of steps) {
        t += s.dt;
        if (gcra(tat, s.cost, p, t).allowed) admitted.push({ t, cost: s.cost });
      }
      for (let i = 0; i < admitted.length; i++) {
        let sum = 0;
        for (let j = i; j < admitted.length; j++) {
          sum += admitted[j].cost;
          const span = admitted[j].t - admitted[i].t;
          // burst + span / T, compared in integers: sum·W ≤ burst·W + span·L
          assert.ok(sum * p.windowMs <= p.burst * p.windowMs + span * p.limit);
        }
      }
    }),
  );
});

Deno.test("gcra: Retry-After and remaining are honest and tight", () => {
  fc.assert(
    fc.property(params, fc.array(step, { maxLength: 40 }), (p, steps) => {
      const tat = fresh();
      let t = T0;
      for (const s of steps) {
        t += s.dt;
        const cost = Math.min(s.cost, p.burst);
        const copy = { ...tat };
        const r = gcra(tat, cost, p, t);
        if (!r.allowed) {
          // Waiting retryAfterMs admits the same request; a ms less does not.
          assert.equal(
            gcra({ ...copy }, cost, p, t + r.retryAfterMs).allowed,
            true,
          );
          assert.equal(
            gcra({ ...copy }, cost, p, t + r.retryAfterMs - 1).allowed,
            false,
          );
        } else {
          // `remaining` more units fit right now; one more does not.
          assert.equal(gcra({ ...tat }, r.remaining, p, t).allowed, true);
          if (r.remaining < p.burst) {
            assert.equal(
              gcra({ ...tat }, r.remaining + 1, p, t).allowed,
              false,
            );
          }
          // After resetMs the whole burst is back.
          assert.equal(
            gcra({ ...tat }, p.burst, p, t + r.resetMs).allowed,
            true,
          );
        }
      }
    }),
  );
});
