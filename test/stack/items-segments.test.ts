import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { encodeCommand, type Operation, StackMachine } from "../../src/stack/index.js";
import { ITEM_BYTES_MAX, ItemStack } from "../../src/stack/items.js";
import fc from "../fast-check.js";
import { charsOf, ModelledStack, type StackOp, utf8 } from "./item-bytes.js";

// A cold review of the item store's segments (stack/segments.ts): items whose UTF-8 is exactly a
// segment, one byte less, fitting the rest of a segment exactly or by one byte too many, ASCII (pushAscii)
// and multi-byte (push), on every segment size the constructor accepts; segments dropped and refilled
// while cuts hold them; whole machines at the item limit against a snapshot and its restore.
// Arrays say size "max": fast-check 4's default size ("small") caps any array or string at 10 elements
// whatever its maxLength, too few operations to cross many segments.

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const bytesOf = (s: string): number => Buffer.byteLength(s, "utf8");

/** Text of exactly `bytes` UTF-8 bytes made of `unit` (1 to 4 bytes) and ASCII to make up the rest. */
function textOf(bytes: number, unit: string): string {
  const n = Math.floor(bytes / bytesOf(unit));
  const s = unit.repeat(n);
  return s + "a".repeat(bytes - bytesOf(s));
}

/** Items sized around a segment of `size` bytes and its halves and quarters, in every UTF-8 width. */
function itemFor(size: number): fc.Arbitrary<string> {
  const bytes = fc.oneof(
    fc.constantFrom(0, 1, size - 1, size, size / 2, size / 2 + 1, size / 2 - 1, size / 4, (3 * size) / 4 + 1),
    fc.integer({ min: 0, max: size }),
    fc.integer({ min: 0, max: 8 }),
  );
  return fc
    .record({ bytes, unit: fc.constantFrom("a", "é", "€", "😀", "\ufeff") })
    .map(({ bytes, unit }) => textOf(bytes, unit));
}

type Op =
  | StackOp
  | { readonly op: "drain" }
  | { readonly op: "many"; readonly n: number; readonly bytes: number }
  | { readonly op: "oversize"; readonly item: string };

function opFor(size: number): fc.Arbitrary<Op> {
  const asciiBytes = fc.oneof(
    fc.constantFrom(0, 1, size - 1, size, size / 2 + 1),
    fc.integer({ min: 0, max: size }),
  );
  return fc.oneof(
    { weight: 6, arbitrary: itemFor(size).map((item) => ({ op: "push" as const, item })) },
    {
      weight: 3,
      arbitrary: fc.array(asciiBytes, { minLength: 1, maxLength: 6 }).map((bytes) => ({
        op: "pushAscii" as const,
        items: bytes.map((b, i) => `${i}`.repeat(b).slice(0, b)),
      })),
    },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 8 }).map((n) => ({ op: "pop" as const, n })) },
    { weight: 1, arbitrary: fc.constant({ op: "drain" as const }) },
    // Past the end offsets' segments (a quarter of the bytes' size) and their shrink floor (256).
    {
      weight: 1,
      arbitrary: fc
        .record({ n: fc.integer({ min: 100, max: 1200 }), bytes: fc.integer({ min: 0, max: 2 }) })
        .map(({ n, bytes }) => ({ op: "many" as const, n, bytes })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("a", "é", "€", "😀")
        .map((unit) => ({ op: "oversize" as const, item: textOf(size + 1, unit) })),
    },
    { weight: 1, arbitrary: fc.constant({ op: "cut" as const }) },
    { weight: 1, arbitrary: fc.boolean().map((newest) => ({ op: "release" as const, newest })) },
  );
}

/** Every read of `stack` agrees with `model`: each index, the top counts, the whole. */
function assertSame(stack: ItemStack, model: readonly string[]): void {
  assert.equal(stack.length, model.length);
  assert.equal(stack.chars, charsOf(model));
  for (let i = 0; i < model.length; i++) {
    assert.equal(stack.at(i), model[i], `item ${i}`);
    assert.deepEqual(stack.bytesAt(i), new TextEncoder().encode(model[i]));
  }
  assert.equal(stack.at(model.length), undefined);
  for (const n of [1, 2, 5, model.length]) {
    assert.equal(stack.topChars(n), charsOf(model.slice(Math.max(0, model.length - n))));
  }
}

describe("ItemStack segments, items sized at the segment's edges", () => {
  // Segment 0 shrinks only past 1 KiB of bytes and 256 end offsets: 11 and 12 bits take those paths too.
  test("agrees with an array of strings on every segment size the constructor accepts", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(6, 7, 8, 9, 10, 11, 12).chain((bits) =>
          fc.record({
            bits: fc.constant(bits),
            ops: fc.array(opFor(2 ** bits), { maxLength: 120, size: "max" }),
          }),
        ),
        ({ bits, ops }) => {
          const both = new ModelledStack(new ItemStack(bits));
          const { stack, model } = both;
          for (const o of ops) {
            switch (o.op) {
              case "many":
                for (let k = 0; k < o.n; k++) both.push(textOf(o.bytes, k % 2 === 0 ? "a" : "é"));
                break;
              case "drain":
                while (model.length > 0) both.pop();
                assert.equal(stack.pop(), undefined);
                break;
              case "oversize":
                // Refused whole, the stack unchanged: the machine never gets here (itemBytesMax <= a segment).
                assert.throws(() => stack.push(o.item), /exceeds a segment/);
                break;
              default:
                both.apply(o);
            }
            both.assertCounts();
          }
          assertSame(stack, model);
          both.assertCuts();
        },
      ),
      { numRuns: 500 },
    );
  });

  test("an item of exactly a segment, after a gap and at the very start, and one byte more refused", () => {
    for (const unit of ["a", "é", "😀"]) {
      const stack = new ItemStack(8);
      const model = ["x", textOf(256, unit), textOf(256, unit), "", textOf(255, unit), "y", textOf(1, unit)];
      for (const s of model) stack.push(s);
      assert.throws(() => stack.push(textOf(257, unit)), /exceeds a segment/);
      assertSame(stack, model);
      // Down to the first item and up again through the same offsets.
      const first = model.slice(0, 1);
      while (stack.length > 1) stack.pop();
      assertSame(stack, first);
      for (const s of model.slice(1)) stack.push(s);
      assertSame(stack, model);
    }
  });
});

describe("ItemStack segments give memory back", () => {
  /** Whether `ref`'s buffer is still reachable after a collection (WeakRefs clear after the job ends). */
  async function alive(ref: WeakRef<ArrayBufferLike>): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    return ref.deref() !== undefined;
  }

  test("a segment is freed once the stack shrinks below it, a cut held over the shrink or not", async () => {
    const segment = 2 ** 20;
    const item = "s".repeat(64 * 1024);
    const pushes = (2 * segment) / item.length + 1;
    // Two rounds: without and with a cut held over the shrink.
    for (const withCut of [false, true]) {
      const stack = new ItemStack();
      stack.push("bottom");
      for (let i = 0; i < pushes; i++) stack.push(item);
      // The top item lies in the third segment (segment 2).
      const ref = new WeakRef(stack.bytesAt(stack.length - 1).buffer);
      const cut = withCut ? stack.cut() : undefined;
      while (stack.length > 1) stack.pop();
      // Held or not, a cut does not keep the segment: it holds a copy of each item popped below it.
      assert.equal(await alive(ref), false, `segment 2 still held after the stack shrank (cut: ${withCut})`);
      if (cut !== undefined) {
        assert.equal(utf8.decode(cut.bytesAt(cut.length - 1)), item);
        assert.equal(utf8.decode(cut.bytesAt(0)), "bottom");
        cut.release();
      }
      assert.equal(stack.at(0), "bottom");
      for (let i = 0; i < pushes; i++) stack.push(item);
      assert.equal(stack.at(stack.length - 1), item);
    }
  });
});

describe("StackMachine items across 1 MiB segments, at the item limit", () => {
  const limit = 64 * 1024;
  const bigItem = fc
    .record({
      bytes: fc.constantFrom(limit, limit - 1, limit + 1, limit / 2 + 1, 1, 0),
      unit: fc.constantFrom("a", "é", "€", "😀"),
      tag: fc.nat(99),
    })
    .map(
      ({ bytes, unit, tag }) => `${tag}`.slice(0, bytes) + textOf(Math.max(0, bytes - `${tag}`.length), unit),
    );
  const labelArb = fc.constantFrom("p", "ü");
  type Op = Extract<Operation, { type: "lpush" | "lpop" }>;
  const operation: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        type: fc.constant("lpush" as const),
        label: labelArb,
        items: fc.array(bigItem, { minLength: 1, maxLength: 12, size: "max" }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant("lpop" as const),
        label: labelArb,
        count: fc.integer({ min: 1, max: 30 }),
      }),
    },
  );

  test("reads at every index, pops, a stepped snapshot and its restore agree with arrays of strings", () => {
    assert.ok(limit <= ITEM_BYTES_MAX);
    fc.assert(
      fc.property(
        fc.array(operation, { minLength: 1, maxLength: 30, size: "max" }),
        fc.nat(30),
        fc.array(operation, { maxLength: 10 }),
        (ops, cutAt, during) => {
          const machine = new StackMachine();
          const model = new Map<string, string[]>();
          let index = 0;
          const run = (op: Op): void => {
            const outcome = machine.apply(++index, encodeCommand({ ...op, atMs: 1 }));
            const items = model.get(op.label) ?? [];
            if (op.type === "lpush") {
              if (op.items.some((s) => bytesOf(s) > limit)) {
                assert.deepEqual(outcome, { ok: false, code: "item_too_large" });
                return;
              }
              items.push(...op.items);
              model.set(op.label, items);
              assert.deepEqual(outcome, { ok: true, kind: "pushed", size: items.length });
            } else if (op.type === "lpop") {
              if (items.length === 0) {
                assert.equal(outcome.ok, false);
                return;
              }
              const popped = items.splice(Math.max(0, items.length - (op.count ?? 1))).reverse();
              assert.deepEqual(outcome, { ok: true, kind: "poppedItems", items: popped });
            }
          };
          let steps: Generator<void, Uint8Array, void> | undefined;
          let step: IteratorResult<void, Uint8Array> | undefined;
          let atCut: Map<string, string[]> | undefined;
          for (const [i, op] of ops.entries()) {
            if (i === cutAt) {
              // The cut is taken at the first step (which may be the last).
              steps = machine.snapshotSteps(3);
              step = steps.next();
              atCut = new Map([...model].map(([k, v]) => [k, v.slice()]));
              for (const d of during) run(d);
            }
            run(op);
          }
          for (const [label, items] of model) {
            const n = items.length;
            assert.equal(machine.sizeOf(label) ?? 0, n);
            // LINDEX from the top and from the bottom, LRANGE of all.
            for (let k = 0; k < n; k++) {
              assert.equal(machine.at(label, k), items[n - 1 - k]);
              assert.equal(machine.at(label, -1 - k), items[k]);
            }
            if (n > 0) assert.deepEqual(machine.range(label, 0, -1), items.slice().reverse());
          }
          const check = (bytes: Uint8Array, expected: Map<string, string[]>): void => {
            const restored = StackMachine.restore(bytes);
            for (const [label, items] of expected) {
              const n = items.length;
              assert.equal(restored.sizeOf(label) ?? 0, n);
              if (n > 0) assert.deepEqual(restored.range(label, 0, -1), items.slice().reverse());
            }
          };
          check(machine.snapshot(), model);
          if (steps !== undefined && step !== undefined && atCut !== undefined) {
            while (step.done !== true) step = steps.next();
            check(step.value, atCut);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("StackMachine with itemBytesMax at its largest, a segment", () => {
  test("takes items of exactly a segment, ASCII and not, and refuses one byte more with a typed error", () => {
    assert.throws(() => new StackMachine({ limits: { itemBytesMax: ITEM_BYTES_MAX + 1 } }), /itemBytesMax/);
    const machine = new StackMachine({ limits: { itemBytesMax: ITEM_BYTES_MAX } });
    let index = 0;
    const lpush = (items: string[]) =>
      machine.apply(++index, encodeCommand({ type: "lpush", label: "big", items, atMs: 1 }));
    // ASCII takes the bytes' fast lane (pushAscii), the others the string push.
    const model = [
      textOf(ITEM_BYTES_MAX, "a"),
      "x",
      textOf(ITEM_BYTES_MAX, "é"),
      textOf(ITEM_BYTES_MAX - 1, "😀"),
      textOf(2, "é"),
      textOf(ITEM_BYTES_MAX - 1, "a"),
      "",
    ];
    for (const [i, item] of model.entries()) {
      assert.deepEqual(lpush([item]), { ok: true, kind: "pushed", size: i + 1 });
    }
    for (const unit of ["a", "é", "€", "😀"]) {
      assert.deepEqual(lpush([textOf(ITEM_BYTES_MAX + 1, unit)]), { ok: false, code: "item_too_large" });
      assert.deepEqual(lpush(["ok", textOf(ITEM_BYTES_MAX + 1, unit)]), {
        ok: false,
        code: "item_too_large",
      });
    }
    assert.equal(machine.sizeOf("big"), model.length);
    for (let k = 0; k < model.length; k++) assert.equal(machine.at("big", -1 - k), model[k]);
    const restored = StackMachine.restore(machine.snapshot(), { limits: { itemBytesMax: ITEM_BYTES_MAX } });
    assert.deepEqual(restored.range("big", 0, -1), model.slice().reverse());
    const popped = machine.apply(++index, encodeCommand({ type: "lpop", label: "big", count: 100, atMs: 1 }));
    assert.deepEqual(popped, { ok: true, kind: "poppedItems", items: model.slice().reverse() });
  });
});

describe("ItemsCut keeps popped items without a JS object each", () => {
  test("popping many small items below a held cut leaves the JS heap as it was", async () => {
    const heapCollected = async (): Promise<number> => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return process.memoryUsage().heapUsed;
    };
    const n = 300_000;
    const stack = new ItemStack();
    for (let i = 0; i < n; i++) stack.push(i % 3 === 0 ? `é${i}` : `item-${i}`);
    const cut = stack.cut();
    const before = await heapCollected();
    while (stack.length > 0) stack.pop();
    // A Uint8Array per popped item took ~215 bytes of heap each (860 MiB for 4 M items popped during a
    // node's snapshot, and LPOP batches stalled 370 ms in GC): the copies must be bytes, not objects.
    const grown = (await heapCollected()) - before;
    assert.ok(grown < 16 * 2 ** 20, `the JS heap grew by ${grown} bytes for ${n} items popped below a cut`);
    for (const i of [0, 1, 2, n - 2, n - 1]) {
      assert.equal(utf8.decode(cut.bytesAt(i)), i % 3 === 0 ? `é${i}` : `item-${i}`);
    }
    cut.release();
  });
});

describe("StackMachine limits against the store's u32 offsets, gaps counted", () => {
  test("refuses limits under which one stack's items and segment gaps may pass 4 GiB", () => {
    // Items of half a segment and a byte each take a whole segment: the offsets reach twice the bytes.
    // itemBytesMax 1 MiB with itemCharsMax (2^32 - 1) / 3 was accepted, and an LPUSH then threw on apply
    // ("stack bytes 4295491585 exceed 4294967295", on every replica) at 4096 items of 524,289 bytes of €,
    // half of itemCharsMax.
    const charsMax = Math.floor((2 ** 32 - 1) / 3);
    assert.throws(
      () => new StackMachine({ limits: { itemBytesMax: ITEM_BYTES_MAX, itemCharsMax: charsMax } }),
      /itemCharsMax/,
    );
    assert.doesNotThrow(
      () =>
        new StackMachine({
          limits: { itemBytesMax: ITEM_BYTES_MAX, itemCharsMax: Math.floor(charsMax / 2) },
        }),
    );
    // Small items leave small gaps (under one item a segment): the defaults, and far more chars, fit.
    assert.doesNotThrow(() => new StackMachine());
    assert.doesNotThrow(() => new StackMachine({ limits: { itemCharsMax: 1_300_000_000 } }));
  });
});
