import assert from "node:assert/strict";
import { Gate, ShedError } from "../../src/internal/gate.ts";

Deno.test("Gate: tryEnter admits up to max; leave frees a slot", () => {
  const gate = new Gate({ max: 2 });
  assert.equal(gate.tryEnter(), true);
  assert.equal(gate.tryEnter(), true);
  assert.equal(gate.tryEnter(), false);
  assert.equal(gate.active, 2);
  gate.leave();
  assert.equal(gate.active, 1);
  assert.equal(gate.tryEnter(), true);
});

Deno.test("Gate: waiters are admitted first come first served; a full queue refuses", async () => {
  const gate = new Gate({ max: 1, queue: 2 });
  await gate.enter();
  const order: number[] = [];
  const w1 = gate.enter().then(() => order.push(1));
  const w2 = gate.enter().then(() => order.push(2));
  await assert.rejects(
    gate.enter(),
    (e: unknown) => e instanceof ShedError && e.reason === "queue_full",
  );
  assert.equal(gate.queued, 2);
  assert.equal(gate.tryEnter(), false, "no jumping the queue");
  gate.leave();
  await w1;
  assert.deepEqual(order, [1]);
  assert.equal(gate.active, 1, "the slot was handed over, not freed");
  gate.leave();
  await w2;
  assert.deepEqual(order, [1, 2]);
  gate.leave();
  assert.equal(gate.active, 0);
});

Deno.test("Gate: a waiter times out after queueTimeoutMs and leaves the queue", async () => {
  const gate = new Gate({ max: 1, queue: 1, queueTimeoutMs: 20 });
  gate.tryEnter();
  await assert.rejects(
    gate.enter(),
    (e: unknown) => e instanceof ShedError && e.reason === "queue_timeout",
  );
  assert.equal(gate.queued, 0);
  gate.leave();
  assert.equal(gate.active, 0);
});

Deno.test("Gate: an aborted signal removes its waiter and rejects with the reason", async () => {
  const gate = new Gate({ max: 1, queue: 5 });
  gate.tryEnter();
  const ac = new AbortController();
  const waiting = gate.enter(ac.signal);
  const behind = gate.enter();
  assert.equal(gate.queued, 2);
  const reason = new DOMException("late", "TimeoutError");
  ac.abort(reason);
  await assert.rejects(waiting, (e: unknown) => e === reason);
  assert.equal(gate.queued, 1);
  gate.leave();
  await behind; // the slot went to the next live waiter
  assert.equal(gate.active, 1);
  await assert.rejects(
    gate.enter(AbortSignal.abort("gone")),
    (e: unknown) => e === "gone",
  );
  assert.equal(gate.queued, 0);
});

Deno.test("Gate: invalid options throw a TypeError naming the option", () => {
  assert.throws(
    () => new Gate({ max: 0 }),
    /^TypeError: Option max must be a positive integer, got 0$/,
  );
  assert.throws(
    () => new Gate({ max: 1, queue: -1 }),
    /^TypeError: Option queue must be a non-negative integer, got -1$/,
  );
  assert.throws(
    () => new Gate({ max: 1, queueTimeoutMs: 1.5 }),
    /^TypeError: Option queueTimeoutMs must be a non-negative integer, got 1.5$/,
  );
});
