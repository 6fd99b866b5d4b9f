import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Command, encodeCommand, type Operation, StackMachine } from "../../src/stack/index.js";
import fc from "../fast-check.js";

// Stepped snapshots (StackMachine.snapshotSteps) share each stack's arrays with the machine instead of
// copying them (ItemsCut): whatever is applied between the cut and the last step must not show in the
// bytes. Here several snapshots are cut, stepped, abandoned and finished at random between commands that
// change stacks at their top in every way the machine allows, and each is compared with the bytes of a
// snapshot taken in one go at its cut.

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Array buffer bytes held after a full collection. */
function arrayBuffersCollected(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}

const limits = { sessionsMax: 16, sessionRetentionMs: 100, clockStepMaxMs: 30 };
const labels = ["a", "b", "ü", "c"];

/** Items of every shape the store holds: ASCII (the LPUSH fast path copies bytes), multi-byte, empty. */
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.constantFrom("", "é", "€", "😀", "\ufeffx"),
);
/**
 * Items pushed at once: a few of any shape, or a run of many (past the 256 ends a stack keeps when it
 * shrinks) or of large ones (past 1 KiB of bytes), so pushes and pops grow and shrink the arrays a cut
 * may still hold.
 */
const items: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 6, arbitrary: fc.array(text, { minLength: 1, maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ n: fc.integer({ min: 1, max: 700 }), len: fc.integer({ min: 0, max: 20 }), c: text })
      .map(({ n, len, c }) => Array.from({ length: n }, (_, i) => `${c}${i}`.padEnd(len, "x"))),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ n: fc.integer({ min: 1, max: 6 }), len: fc.integer({ min: 500, max: 5_000 }) })
      .map(({ n, len }) => Array.from({ length: n }, (_, i) => `${i}é`.padEnd(len, "y"))),
  },
);

const label = fc.constantFrom(...labels);
/** A stack id: resolved when applied to the id of the live stack it picks (or past them: not found). */
const id = fc.nat(9);
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ type: fc.constant("create" as const), label }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("delete" as const), id }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("push" as const), id, items }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("lpush" as const), label, items }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("pop" as const), id }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("bpopId" as const), id }) },
  {
    weight: 3,
    arbitrary: fc.record(
      { type: fc.constant("lpop" as const), label, count: fc.integer({ min: 1, max: 900 }) },
      { requiredKeys: ["type", "label"] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("del" as const),
      labels: fc.uniqueArray(label, { minLength: 1, maxLength: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("bpop" as const),
      labels: fc.uniqueArray(label, { minLength: 1, maxLength: 3 }),
    }),
  },
);

type Action =
  /** Applies a command (with an idempotency key: a session, dropped again as the clock moves). */
  | { readonly act: "apply"; readonly op: Operation; readonly key: string | undefined; readonly dt: number }
  /** Cuts a new snapshot (its first step), behind a head of `head` bytes (the node's member table). */
  | { readonly act: "cut"; readonly perStep: number; readonly head: number }
  /** Runs `steps` more steps of snapshot `which` (counted among those not finished, modulo). */
  | { readonly act: "step"; readonly which: number; readonly steps: number }
  /** Stops snapshot `which` midway (generator return: the node stopped, or its machine was replaced). */
  | { readonly act: "abandon"; readonly which: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      act: fc.constant("apply" as const),
      op: operation,
      key: fc.option(
        fc.nat(40).map((k) => `k${k}`),
        { nil: undefined, freq: 3 },
      ),
      dt: fc.integer({ min: -5, max: 40 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      act: fc.constant("cut" as const),
      perStep: fc.constantFrom(1, 2, 7, 100),
      head: fc.integer({ min: 0, max: 9 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      act: fc.constant("step" as const),
      which: fc.nat(),
      steps: fc.integer({ min: 1, max: 40 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ act: fc.constant("abandon" as const), which: fc.nat() }) },
);

interface Running {
  readonly steps: Generator<void, Uint8Array, void>;
  /** The bytes the snapshot must end with: its head, then the machine's snapshot at the cut. */
  readonly expected: Uint8Array;
  readonly cutAt: number;
}

function concat(head: Uint8Array, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + rest.length);
  out.set(head);
  out.set(rest, head.length);
  return out;
}

/** Runs a snapshot to its end: its bytes. */
function finish(r: Running): Uint8Array {
  for (;;) {
    const step = r.steps.next();
    if (step.done) return step.value;
  }
}

function assertFinished(r: Running, bytes: Uint8Array): void {
  assert.ok(Buffer.compare(bytes, r.expected) === 0, `the snapshot cut at index ${r.cutAt} changed`);
}

describe("stepped snapshots against the state at their cut", () => {
  test("commands applied between a cut and its last step never show in the snapshot", {
    timeout: 300_000,
  }, () => {
    fc.assert(
      fc.property(
        fc.array(items, { minLength: 1, maxLength: 4 }),
        fc.array(action, { minLength: 10, maxLength: 120, size: "max" }),
        (initial, actions) => {
          // `machine` is snapshotted; `twin` gets the same commands and no snapshot: the cuts must not
          // change what a command does either.
          const machine = new StackMachine({ limits });
          const twin = new StackMachine({ limits });
          let atMs = 1_000;
          const running: Running[] = [];
          for (const [i, first] of initial.entries()) {
            const cmd = encodeCommand({ type: "lpush", label: labels[i] as string, items: first, atMs });
            machine.apply(machine.appliedIndex + 1, cmd);
            twin.apply(twin.appliedIndex + 1, cmd);
          }
          for (const a of actions) {
            switch (a.act) {
              case "apply": {
                atMs += a.dt;
                const ids = machine.list().map((st) => st.id);
                const op = "id" in a.op ? { ...a.op, id: ids[a.op.id] ?? ids.length + 100 } : a.op;
                const cmd: Command = { ...op, atMs, ...(a.key === undefined ? {} : { key: a.key }) };
                const index = machine.appliedIndex + 1;
                const outcome = machine.apply(index, encodeCommand(cmd));
                assert.deepEqual(outcome, twin.apply(index, encodeCommand(cmd)));
                break;
              }
              case "cut": {
                const head = Uint8Array.from({ length: a.head }, (_, i) => 0x80 + i);
                const r: Running = {
                  steps: machine.snapshotSteps(a.perStep, head),
                  expected: concat(head, machine.snapshot()),
                  cutAt: machine.appliedIndex,
                };
                const first = r.steps.next();
                if (first.done) assertFinished(r, first.value);
                else running.push(r);
                break;
              }
              case "step": {
                const r = running[a.which % Math.max(1, running.length)];
                if (r === undefined) break;
                for (let i = 0; i < a.steps; i++) {
                  const step = r.steps.next();
                  if (!step.done) continue;
                  assertFinished(r, step.value);
                  running.splice(running.indexOf(r), 1);
                  break;
                }
                break;
              }
              case "abandon": {
                const r = running[a.which % Math.max(1, running.length)];
                if (r === undefined) break;
                assert.equal(r.steps.return(new Uint8Array(0)).done, true);
                running.splice(running.indexOf(r), 1);
                break;
              }
            }
          }
          for (const r of running) assertFinished(r, finish(r));
          // What the machine holds: its own snapshot restores to it, and equals the twin's.
          const final = machine.snapshot();
          assert.deepEqual(final, twin.snapshot());
          assert.deepEqual(StackMachine.restore(final, { limits }).snapshot(), final);
        },
      ),
      { numRuns: 400 },
    );
  });

  test("a stack overwritten in place below a cut, emptied, deleted and recreated under its label", () => {
    const machine = new StackMachine();
    let index = 0;
    const run = (op: Operation) => machine.apply(++index, encodeCommand({ ...op, atMs: 1_000 + index }));
    run({ type: "lpush", label: "q", items: Array.from({ length: 600 }, (_, i) => `item-${i}`) });
    run({ type: "lpush", label: "r", items: ["é".repeat(2_000)] });
    const expected = machine.snapshot();
    const steps = machine.snapshotSteps(50);
    steps.next();
    // Five items popped at once and five others pushed in their place, into the arrays the cut reads
    // (too few popped to shrink them); then emptied in one count (the arrays dropped), refilled, and
    // both labels deleted and created again.
    run({ type: "lpop", label: "q", count: 5 });
    run({ type: "lpush", label: "q", items: ["a", "bb", "€€€", "😀", "eeeeeeeeeeeee"] });
    steps.next();
    run({ type: "lpop", label: "q", count: 1_000 });
    run({ type: "lpush", label: "q", items: ["overwrite"] });
    steps.next();
    run({ type: "del", labels: ["q", "r"] });
    run({ type: "lpush", label: "r", items: ["new"] });
    run({ type: "lpush", label: "q", items: ["new"] });
    let step = steps.next();
    while (!step.done) step = steps.next();
    assert.deepEqual(step.value, expected);
  });

  test("a snapshot's writer does not grow for keyed pops of many items (a grow copies it in one step)", () => {
    // A queue drained by LPOP q 1000 under idempotency keys: each session holds 1,000 one-byte items,
    // each written behind its length. Estimated at a byte an item, the writer grew near the end,
    // copying the whole snapshot in one step, and the snapshot (a view of its buffer) held twice its size.
    const machine = new StackMachine();
    let index = 0;
    const run = (op: Operation, key?: string) =>
      machine.apply(++index, encodeCommand({ ...op, atMs: 1, ...(key === undefined ? {} : { key }) }));
    for (let b = 0; b < 10; b++) {
      const items = Array.from({ length: 10_000 }, (_, i) => `${b}-${i}`.padEnd(16, "x"));
      run({ type: "lpush", label: "big", items });
    }
    for (let s = 0; s < 50; s++) {
      run({ type: "lpush", label: "q", items: Array.from({ length: 1_000 }, () => "j") });
      assert.equal(run({ type: "lpop", label: "q", count: 1_000 }, `once-${s}`).ok, true);
    }
    const steps = machine.snapshotSteps(2_000, new Uint8Array([1, 2, 3]));
    let step = steps.next();
    while (!step.done) step = steps.next();
    const data = step.value;
    assert.deepEqual(data.subarray(3), machine.snapshot());
    assert.ok(
      data.buffer.byteLength < 1.25 * data.length,
      `${data.buffer.byteLength} bytes for ${data.length}`,
    );
  });

  test("a snapshot finished, stopped or failed midway lets go of its cut", async () => {
    // An unreleased cut keeps the arrays it shares and a copy of every item popped below it: here
    // 100 items of 60 KB, popped after the snapshot ended, would stay in memory (12 MB).
    const itemBytes = 60_000;
    const ends: ((steps: Generator<void, Uint8Array, void>) => void)[] = [
      (steps) => {
        while (steps.next().done !== true);
      },
      (steps) => steps.return(new Uint8Array(0)),
      (steps) => assert.throws(() => steps.throw(new Error("stopped")), /stopped/),
    ];
    for (const [i, end] of ends.entries()) {
      const machine = new StackMachine();
      let index = 0;
      const run = (op: Operation) => machine.apply(++index, encodeCommand({ ...op, atMs: 1 }));
      const before = arrayBuffersCollected();
      run({
        type: "lpush",
        label: "q",
        items: Array.from({ length: 100 }, (_, n) => `${n}`.padEnd(itemBytes)),
      });
      const steps = machine.snapshotSteps(10);
      steps.next();
      steps.next();
      end(steps);
      run({ type: "lpop", label: "q", count: 100 });
      // Freed buffers may leave the count a little later (the GC sweeps them in the background).
      let held = Number.POSITIVE_INFINITY;
      for (let tries = 0; tries < 20 && held >= 20 * itemBytes; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        held = arrayBuffersCollected() - before;
      }
      assert.ok(held < 20 * itemBytes, `ending ${i}: ${held} bytes still held`);
      assert.equal(machine.itemCount, 0);
    }
  });
});
