import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeCommand, type Operation, StackMachine } from "../../src/stack/index.js";
import fc from "../fast-check.js";
import { Driver } from "./helpers.js";

const limits = { sessionsMax: 4, sessionRetentionMs: 100, clockStepMaxMs: 30, pushItemsMax: 3 };
const op: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ type: fc.constant("create" as const), label: fc.constantFrom("a", "b", "c", "ü") }),
  fc.record({ type: fc.constant("delete" as const), id: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ type: fc.constant("pop" as const), id: fc.integer({ min: 1, max: 5 }) }),
  fc.record({
    type: fc.constant("push" as const),
    id: fc.integer({ min: 1, max: 5 }),
    items: fc.array(fc.string({ unit: "grapheme", maxLength: 70 }), { minLength: 1, maxLength: 3 }),
  }),
);
const step = fc.record({
  op,
  key: fc.option(fc.constantFrom("k1", "k2", "k3", "k4", "k5", "k6"), { nil: undefined }),
  dt: fc.integer({ min: -10, max: 30 }),
});
type Step = { op: Operation; key: string | undefined; dt: number };

function run(d: Driver, s: Step) {
  return d.run(s.op, { ...(s.key === undefined ? {} : { key: s.key }), atMs: d.atMs + s.dt });
}

describe("snapshot and restore", () => {
  test("restore gives an equal state that then answers identically", { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 60, size: "max" }),
        fc.array(step, { maxLength: 60, size: "max" }),
        (before, after) => {
          const original = new Driver(new StackMachine({ limits }));
          for (const s of before) run(original, s);
          const bytes = original.machine.snapshot();
          const copy = new Driver(StackMachine.restore(bytes, { limits }));
          copy.atMs = original.atMs;
          // Equal states encode to equal bytes, so this compares stacks, ids, sessions, clock and index.
          assert.deepEqual(copy.machine.snapshot(), bytes);
          assert.equal(copy.machine.appliedIndex, original.machine.appliedIndex);
          assert.equal(copy.machine.sessionCount, original.machine.sessionCount);
          assert.deepEqual(copy.machine.list(), original.machine.list());
          for (const s of after) assert.deepEqual(run(copy, s), run(original, s));
          assert.deepEqual(copy.machine.snapshot(), original.machine.snapshot());
        },
      ),
      { numRuns: 300 },
    );
  });

  test("a snapshot encoded in steps is the state at its first step, whatever is applied meanwhile", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: Array.from({ length: 100 }, (_, i) => `v${i}`) });
    d.run({ type: "pop", id: 1 }, { key: "k1" });
    const expected = d.machine.snapshot();
    const steps = d.machine.snapshotSteps(7);
    let step = steps.next();
    let pauses = 0;
    while (!step.done) {
      // Mutate between steps: pops, pushes, new stacks and new sessions must not leak into the cut.
      d.run({ type: "pop", id: 1 }, { key: `p${pauses}` });
      d.run({ type: "push", id: 1, items: [`late${pauses}`] });
      d.run({ type: "create", label: `late${pauses}` });
      pauses++;
      step = steps.next();
    }
    assert.ok(pauses >= 10, `only ${pauses} pauses`);
    assert.deepEqual(step.value, expected);
  });

  test("a stepped snapshot's cut survives overwriting, emptying, regrowing, shrinking and deleting", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: Array.from({ length: 60 }, (_, i) => `é${i}`.repeat(40)) });
    d.run({ type: "create", label: "t" });
    d.run({ type: "push", id: 2, items: ["a😀", "\ufeff", ""] });
    const expected = d.machine.snapshot();
    const steps = d.machine.snapshotSteps(5);
    let step = steps.next();
    let pauses = 0;
    while (!step.done) {
      // Stack 1, still being written: its top items overwritten in place (same sizes), then a large
      // item makes it grow and its pop shrink it. Stack 2: emptied, refilled, deleted.
      for (let i = 0; i < 3; i++) d.run({ type: "pop", id: 1 });
      d.run({ type: "push", id: 1, items: Array.from({ length: 3 }, (_, i) => `ü${57 + i}`.repeat(40)) });
      d.run({ type: "push", id: 1, items: ["x".repeat(60_000)] });
      d.run({ type: "pop", id: 1 });
      for (let i = 0; i < 4; i++) d.run({ type: "pop", id: 2 });
      d.run({ type: "push", id: 2, items: [`z${pauses}`] });
      if (pauses === 8) d.run({ type: "delete", id: 2 });
      pauses++;
      step = steps.next();
    }
    assert.ok(pauses >= 10, `only ${pauses} pauses`);
    assert.deepEqual(step.value, expected);
    assert.deepEqual(StackMachine.restore(step.value).get(2), {
      ok: true,
      kind: "stack",
      id: 2,
      label: "t",
      items: ["a😀", "\ufeff", ""],
    });
  });

  test("a restored machine keeps exactly-once for keys seen before the snapshot", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: ["a", "b"] });
    const first = d.run({ type: "pop", id: 1 }, { key: "k" });
    const restored = new Driver(StackMachine.restore(d.machine.snapshot()));
    assert.deepEqual(restored.run({ type: "pop", id: 1 }, { key: "k" }), first);
    assert.deepEqual(restored.machine.size(1), { ok: true, kind: "size", size: 1 });
    assert.equal(restored.machine.appliedIndex, 4);
  });

  test("a version 1 snapshot (written before fingerprints) is still read", () => {
    // Written by the previous release (fc36161): create "s" at 1,000 ms; push a, b, c with key
    // "push-1" at 2,000; pop with key "pop-1" at 3,000.
    const v1 = Buffer.from(
      "0103000000000070a740020101017302016101620206707573682d310000000000409f40030305706f702d31000000000070a740040163",
      "hex",
    );
    const d = new Driver(StackMachine.restore(v1));
    assert.equal(d.machine.appliedIndex, 3);
    assert.equal(d.machine.nowMs, 3_000);
    assert.deepEqual(d.machine.get(1), { ok: true, kind: "stack", id: 1, label: "s", items: ["a", "b"] });
    // Those keys have no fingerprint: any command under them is taken as the retry, as before.
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "pop-1", atMs: 3_500 }), {
      ok: true,
      kind: "popped",
      item: "c",
    });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["z"] }, { key: "push-1" }), {
      ok: true,
      kind: "pushed",
      size: 3,
    });
    assert.equal(d.machine.nowMs, 3_500, "the clock goes on from the latest timestamp");
    // Re-encoded as version 2 and read back, they keep answering the same way.
    const again = new Driver(StackMachine.restore(d.machine.snapshot()));
    assert.equal(d.machine.snapshot()[0], 2);
    assert.deepEqual(again.run({ type: "pop", id: 1 }, { key: "push-1" }), {
      ok: true,
      kind: "pushed",
      size: 3,
    });
    // A key first seen after the upgrade has a fingerprint, kept through the snapshot.
    d.run({ type: "pop", id: 1 }, { key: "new" });
    const third = new Driver(StackMachine.restore(d.machine.snapshot()));
    assert.deepEqual(third.run({ type: "push", id: 1, items: ["q"] }, { key: "new" }), {
      ok: false,
      code: "idempotency_key_reused",
    });
  });

  test("malformed snapshots are refused", () => {
    const d = new Driver();
    d.run({ type: "create", label: "s" });
    d.run({ type: "push", id: 1, items: ["a"] }, { key: "k" });
    const bytes = d.machine.snapshot();
    assert.throws(() => StackMachine.restore(bytes.subarray(0, bytes.length - 1)), /stack snapshot/);
    const extended = new Uint8Array(bytes.length + 1);
    extended.set(bytes);
    assert.throws(() => StackMachine.restore(extended), /trailing/);
    const future = bytes.slice();
    future[0] = 9;
    assert.throws(() => StackMachine.restore(future), /version/);
  });

  test("1,000,000 items over 1,000 stacks: snapshot and restore time, memory", { timeout: 120_000 }, () => {
    const m = new StackMachine();
    let index = 0;
    const rssBefore = process.memoryUsage().rss;
    for (let s = 0; s < 1_000; s++)
      m.apply(++index, encodeCommand({ type: "create", label: `stack-${s}`, atMs: 1 }));
    for (let s = 1; s <= 1_000; s++) {
      for (let batch = 0; batch < 1_000; batch += 500) {
        const items: string[] = [];
        for (let i = 0; i < 500; i++) items.push(`item-${s}-${batch + i}`.padEnd(16, "x"));
        m.apply(++index, encodeCommand({ type: "push", id: s, items, atMs: 2 }));
      }
    }
    assert.equal(m.itemCount, 1_000_000);
    global.gc?.();
    const rssLoaded = process.memoryUsage().rss;
    let started = performance.now();
    const bytes = m.snapshot();
    const snapshotMs = performance.now() - started;
    started = performance.now();
    const restored = StackMachine.restore(bytes);
    const restoreMs = performance.now() - started;
    assert.deepEqual(restored.size(500), { ok: true, kind: "size", size: 1_000 });
    assert.deepEqual(restored.top(7), { ok: true, kind: "top", item: "item-7-999xxxxxx" });
    console.log(
      `1M x 16 B items / 1k stacks: snapshot ${snapshotMs.toFixed(0)} ms, restore ${restoreMs.toFixed(0)} ms, ` +
        `${(bytes.length / 2 ** 20).toFixed(1)} MiB; RSS +${((rssLoaded - rssBefore) / 2 ** 20).toFixed(0)} MiB ` +
        `for the loaded machine, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB total with two copies`,
    );
  });
});
