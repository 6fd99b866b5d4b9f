import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Operation, StackMachine } from "../../src/stack/index.js";
import { Driver } from "./helpers.js";

describe("exactly-once sessions", () => {
  test("a retried pop returns the first item and pops only once", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: ["a", "b", "c"] });
    const first = d.run({ type: "pop", id: 1 }, { key: "k1" });
    assert.deepEqual(first, { ok: true, kind: "popped", item: "c" });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "k1" }), first);
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "k1" }), first);
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 2 });
  });

  test("a retried push applies once and returns the first size", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["a"] }, { key: "p" }), {
      ok: true,
      kind: "pushed",
      size: 1,
    });
    d.run({ type: "push", id: 1, items: ["b"] });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["a"] }, { key: "p" }), {
      ok: true,
      kind: "pushed",
      size: 1,
    });
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 2 });
  });

  test("error outcomes are remembered too (a retry sees the first answer, not the current state)", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "e" }), { ok: false, code: "stack_empty" });
    d.run({ type: "push", id: 1, items: ["a"] });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "e" }), { ok: false, code: "stack_empty" });
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 1 });
  });

  test("different keys apply twice", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: ["a", "b"] });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "x" }), { ok: true, kind: "popped", item: "b" });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "y" }), { ok: true, kind: "popped", item: "a" });
    assert.equal(d.machine.sessionCount, 2);
  });

  test("keys expire after the retention, measured on entry timestamps only", () => {
    const d = new Driver(new StackMachine({ limits: { sessionRetentionMs: 1_000, clockStepMaxMs: 999 } }));
    d.run({ type: "create", label: "s" }, { atMs: 10_000 });
    d.run({ type: "push", id: 1, items: ["a", "b", "c"] });
    d.run({ type: "pop", id: 1 }, { key: "k", atMs: 10_000 });
    // A retry is stamped anew; a late entry with an old timestamp neither expires the key nor moves time back.
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "k", atMs: 10_999 }), {
      ok: true,
      kind: "popped",
      item: "c",
    });
    d.run({ type: "create", label: "t" }, { atMs: 5_000 });
    assert.equal(d.machine.sessionCount, 1);
    // At retention the key is forgotten, so the same key now applies as a new command.
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "k", atMs: 11_000 }), {
      ok: true,
      kind: "popped",
      item: "b",
    });
    assert.equal(d.machine.sessionCount, 1);
    d.run({ type: "create", label: "u" }, { atMs: 11_999 });
    assert.equal(d.machine.sessionCount, 1);
    d.run({ type: "create", label: "v" }, { atMs: 12_000 });
    assert.equal(d.machine.sessionCount, 0);
  });

  test("issue 9: a key is remembered after 110,000 other keyed writes (it was forgotten by count)", () => {
    // Default limits, as in production; the writes are 1 ms apart (110 s in all, far inside 10 minutes).
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    const first = d.run({ type: "push", id: 1, items: ["first"] }, { key: "first-key" });
    assert.deepEqual(first, { ok: true, kind: "pushed", size: 1 });
    for (let i = 0; i < 110_000; i++) {
      d.run({ type: "push", id: 1, items: [`v${i}`] }, { key: `key-${i}`, atMs: d.atMs + 1 });
    }
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 110_001 });
    assert.deepEqual(
      d.run({ type: "push", id: 1, items: ["first"] }, { key: "first-key", atMs: d.atMs + 1 }),
      first,
    );
    assert.deepEqual(
      d.machine.size(1),
      { ok: true, kind: "size", size: 110_001 },
      "the retry was applied again",
    );
  });

  test("a full table refuses new keys (idempotency_keys_full) and forgets none before its time", () => {
    const d = new Driver(
      new StackMachine({ limits: { sessionsMax: 3, sessionRetentionMs: 1_000, clockStepMaxMs: 100 } }),
    );
    d.run({ type: "create", label: "s" }, { atMs: 0 });
    for (const key of ["k1", "k2", "k3"]) d.run({ type: "push", id: 1, items: [key] }, { key });
    const full = { ok: false, code: "idempotency_keys_full" };
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["k4"] }, { key: "k4" }), full);
    assert.deepEqual(
      d.machine.size(1),
      { ok: true, kind: "size", size: 3 },
      "a refused write is not applied",
    );
    // Retries of remembered keys still answer, and unkeyed writes still apply.
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["k1"] }, { key: "k1" }), {
      ok: true,
      kind: "pushed",
      size: 1,
    });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["plain"] }), { ok: true, kind: "pushed", size: 4 });
    // The refusal is decided on apply from replicated state, so every replica refuses alike, and the
    // refused key is not remembered: once old keys age out, its retry applies.
    for (let t = 100; t < 1_000; t += 100)
      assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "k4", atMs: t }), full);
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["k4"] }, { key: "k4", atMs: 1_000 }), {
      ok: true,
      kind: "pushed",
      size: 5,
    });
    assert.equal(d.machine.sessionCount, 1);
  });

  test("the chars of remembered popped items are bounded the same way, counted before the pop", () => {
    const d = new Driver(new StackMachine({ limits: { sessionCharsMax: 100 } }));
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: ["x".repeat(60), "y".repeat(60)] });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "a" }), {
      ok: true,
      kind: "popped",
      item: "y".repeat(60),
    });
    // 1 + 60 remembered; another 1 + 60 would pass 100: refused, and the item stays on the stack.
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "b" }), {
      ok: false,
      code: "idempotency_keys_full",
    });
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 1 });
    assert.deepEqual(d.run({ type: "create", label: "t" }, { key: "c" }), {
      ok: true,
      kind: "created",
      id: 2,
    });
    assert.equal(d.machine.sessionCount, 2);
  });

  test("a key reused for a different command answers idempotency_key_reused, never the first outcome", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    const first = d.run({ type: "push", id: 1, items: ["a"] }, { key: "k" });
    const reused = { ok: false, code: "idempotency_key_reused" };
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["b"] }, { key: "k" }), reused);
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "k" }), reused);
    assert.deepEqual(d.run({ type: "push", id: 2, items: ["a"] }, { key: "k" }), reused);
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 1 });
    // The real retry, stamped later, still gets the first outcome.
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["a"] }, { key: "k", atMs: d.atMs + 5_000 }), first);
    const popped = d.run({ type: "pop", id: 1 }, { key: "p" });
    assert.deepEqual(d.run({ type: "create", label: "p" }, { key: "p" }), reused);
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "p" }), popped);
  });

  test("a leader whose clock runs an hour ahead moves the clock one step, and keys survive", () => {
    const d = new Driver(new StackMachine());
    d.run({ type: "create", label: "s" }, { atMs: 1_000_000 });
    const first = d.run({ type: "push", id: 1, items: ["a"] }, { key: "k", atMs: 1_000_000 });
    const hour = 60 * 60 * 1000;
    // The new leader stamps an hour ahead; its next entries follow its own clock, a second apart.
    for (let i = 0; i < 60; i++)
      d.run({ type: "push", id: 1, items: [`x${i}`] }, { atMs: 1_000_000 + hour + i * 1_000 });
    assert.equal(d.machine.sessionCount, 1, "one leader's clock expired every key");
    assert.deepEqual(
      d.run({ type: "push", id: 1, items: ["a"] }, { key: "k", atMs: 1_000_000 + hour + 60_000 }),
      first,
    );
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 61 });
    // The old leader back, an hour behind: the clock holds still (never runs back) until its stamps
    // pass the latest one, then follows them.
    const before = d.machine.nowMs;
    d.run({ type: "create", label: "t" }, { atMs: 1_100_000 });
    assert.equal(d.machine.nowMs, before);
    // Keys do expire once the retention has passed on the leaders' clocks.
    for (let t = 1; t <= 601; t++)
      d.run({ type: "create", label: "t" }, { atMs: 1_000_000 + hour + 60_000 + t * 1_000 });
    assert.equal(d.machine.sessionCount, 0);
  });

  test("a burst after an idle spell does not pay the idle time out (keys made in the burst survive)", () => {
    const d = new Driver(new StackMachine());
    d.run({ type: "create", label: "s" }, { atMs: 0 });
    const day = 24 * 60 * 60 * 1000;
    const first = d.run({ type: "push", id: 1, items: ["a"] }, { key: "burst-0", atMs: day });
    // 100,000 entries 1 ms apart: the clock follows them (100 s), however far it lags the stamps.
    for (let i = 1; i <= 100_000; i++) d.run({ type: "push", id: 1, items: ["b"] }, { atMs: day + i });
    assert.deepEqual(
      d.run({ type: "push", id: 1, items: ["a"] }, { key: "burst-0", atMs: day + 100_001 }),
      first,
    );
  });

  test("many keys over a long time stay bounded and apply in amortized O(1)", () => {
    const d = new Driver(
      new StackMachine({ limits: { sessionsMax: 5_000, sessionRetentionMs: 1_000, clockStepMaxMs: 100 } }),
    );
    d.run({ type: "create", label: "s" });
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) {
      const op: Operation = i % 2 === 0 ? { type: "pop", id: 1 } : { type: "create", label: "s" };
      d.run(op, { key: `k${i}`, atMs: 1_000 + i });
      assert.ok(d.machine.sessionCount <= 1_000);
    }
    console.log(`100k keyed applies with expiry: ${(performance.now() - started).toFixed(0)} ms`);
  });

  test("limits: a clock step of the whole retention or more is refused", () => {
    assert.throws(
      () => new StackMachine({ limits: { sessionRetentionMs: 1_000, clockStepMaxMs: 1_000 } }),
      /clockStepMaxMs/,
    );
    assert.throws(() => new StackMachine({ limits: { clockStepMaxMs: 0 } }), /clockStepMaxMs/);
  });

  test("mutations.applyRetriesTwice breaks exactly-once (the switch the simulator uses)", () => {
    const d = new Driver(new StackMachine({ mutations: { applyRetriesTwice: true } }));
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: ["a", "b"] });
    d.run({ type: "pop", id: 1 }, { key: "k" });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "k" }), { ok: true, kind: "popped", item: "a" });
  });
});
