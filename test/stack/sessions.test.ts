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
    const d = new Driver(new StackMachine({ limits: { sessionRetentionMs: 1_000 } }));
    d.run({ type: "create", label: "s" }, { atMs: 10_000 });
    d.run({ type: "push", id: 1, items: ["a", "b", "c"] });
    d.run({ type: "pop", id: 1 }, { key: "k", atMs: 10_000 });
    // A late entry with an old timestamp neither expires the key nor moves time back.
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
    d.run({ type: "create", label: "u" }, { atMs: 20_000 });
    assert.equal(d.machine.sessionCount, 0);
  });

  test("the table is bounded: when full the oldest key is evicted", () => {
    const d = new Driver(new StackMachine({ limits: { sessionsMax: 3 } }));
    d.run({ type: "create", label: "s" });
    for (const key of ["k1", "k2", "k3", "k4"]) d.run({ type: "push", id: 1, items: [key] }, { key });
    assert.equal(d.machine.sessionCount, 3);
    // k1 was evicted, so its retry applies again; k4 is still remembered.
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["k4"] }, { key: "k4" }), {
      ok: true,
      kind: "pushed",
      size: 4,
    });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["k1"] }, { key: "k1" }), {
      ok: true,
      kind: "pushed",
      size: 5,
    });
    assert.equal(d.machine.sessionCount, 3);
  });

  test("the table is bounded by the chars of remembered popped items", () => {
    const d = new Driver(new StackMachine({ limits: { sessionCharsMax: 100 } }));
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: ["x".repeat(60), "y".repeat(60)] });
    d.run({ type: "pop", id: 1 }, { key: "a" });
    assert.equal(d.machine.sessionCount, 1);
    d.run({ type: "pop", id: 1 }, { key: "b" });
    assert.equal(d.machine.sessionCount, 1);
  });

  test("many keys over a long time stay bounded and apply in amortized O(1)", () => {
    const d = new Driver(new StackMachine({ limits: { sessionsMax: 5_000, sessionRetentionMs: 1_000 } }));
    d.run({ type: "create", label: "s" });
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) {
      const op: Operation = i % 2 === 0 ? { type: "pop", id: 1 } : { type: "create", label: "s" };
      d.run(op, { key: `k${i}`, atMs: 1_000 + i });
      assert.ok(d.machine.sessionCount <= 1_000);
    }
    console.log(`100k keyed applies with expiry: ${(performance.now() - started).toFixed(0)} ms`);
  });

  test("mutations.applyRetriesTwice breaks exactly-once (the switch the simulator uses)", () => {
    const d = new Driver(new StackMachine({ mutations: { applyRetriesTwice: true } }));
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: ["a", "b"] });
    d.run({ type: "pop", id: 1 }, { key: "k" });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "k" }), { ok: true, kind: "popped", item: "a" });
  });
});
