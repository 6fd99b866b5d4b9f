import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ItemStack } from "../../src/stack/items.js";
import fc from "../fast-check.js";
import { charsOf, ModelledStack, type StackOp } from "./item-bytes.js";

/** Well-formed text only (the machine validates items): ASCII, 2- and 3-byte characters, astral pairs. */
const item = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
  fc
    .string({ unit: "binary", maxLength: 70, size: "max" })
    .filter((s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()),
  fc.constantFrom("", "é", "€", "😀", "\ufeffx", "a😀b€c"),
);

type Op =
  | StackOp
  | { readonly op: "at"; readonly i: number }
  | { readonly op: "topChars"; readonly n: number };

const ascii = fc.string({
  unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)),
  maxLength: 70,
  size: "max",
});

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: item.map((s) => ({ op: "push" as const, item: s })) },
  { weight: 3, arbitrary: fc.constant({ op: "pop" as const, n: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: -2, max: 40 }).map((i) => ({ op: "at" as const, i })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((n) => ({ op: "topChars" as const, n })) },
  {
    weight: 1,
    arbitrary: fc.array(ascii, { maxLength: 4 }).map((items) => ({ op: "pushAscii" as const, items })),
  },
  { weight: 1, arbitrary: fc.constant({ op: "cut" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "release" as const, newest: false }) },
);

describe("ItemStack (stack items as UTF-8 outside the JS heap)", () => {
  test("agrees with an array of strings on every operation; a cut keeps the items it cut", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200, size: "max" }), (ops) => {
        // Segments of 512 bytes (128 end offsets): a few hundred operations cross many of them.
        const both = new ModelledStack(new ItemStack(9));
        const { stack, model } = both;
        for (const o of ops) {
          switch (o.op) {
            case "at":
              assert.equal(stack.at(o.i), o.i >= 0 ? model[o.i] : undefined);
              break;
            case "topChars":
              assert.equal(stack.topChars(o.n), charsOf(model.slice(Math.max(0, model.length - o.n))));
              break;
            default:
              both.apply(o);
          }
          both.assertCounts();
        }
        assert.deepEqual(stack.toArray(), model);
        both.assertCuts();
      }),
      { numRuns: 300 },
    );
  });

  test("bytesAt is the UTF-8 a Writer's str writes after the length", () => {
    const stack = new ItemStack();
    const items = ["", "abc", "é€😀", "\ufeffx"];
    for (const s of items) stack.push(s);
    for (const [i, s] of items.entries()) assert.deepEqual(stack.bytesAt(i), new TextEncoder().encode(s));
    assert.throws(() => stack.bytesAt(4), RangeError);
  });

  test("grows past its starting capacities and gives memory back as it empties", () => {
    const stack = new ItemStack();
    const n = 200_000;
    for (let i = 0; i < n; i++) stack.push(i % 7 === 0 ? `é${i}` : `item-${i}`);
    assert.equal(stack.length, n);
    assert.equal(stack.at(0), "é0");
    assert.equal(stack.at(n - 1), `item-${n - 1}`);
    for (let i = n - 1; i >= 0; i--) assert.equal(stack.pop(), i % 7 === 0 ? `é${i}` : `item-${i}`);
    assert.equal(stack.length, 0);
    assert.equal(stack.chars, 0);
    assert.equal(stack.pop(), undefined);
    stack.push("again");
    assert.deepEqual(stack.toArray(), ["again"]);
  });

  test("a growing stack never copies what it holds once past a segment (a copy of 128 MiB lost a leader)", () => {
    const stack = new ItemStack();
    const item = "i".repeat(100);
    // Each MiB pushed, the buffer holding its last item: past the first segment (1 MiB), none is replaced
    // (a store grown by doubling was copied into a new buffer at 2, 4 and 8 MiB).
    const seen: { index: number; buffer: ArrayBufferLike }[] = [];
    for (let mib = 1; mib <= 10; mib++) {
      while (stack.length * item.length < mib * 2 ** 20) stack.push(item);
      const index = stack.length - 1;
      seen.push({ index, buffer: stack.bytesAt(index).buffer });
      for (const { index: at, buffer } of seen) {
        assert.equal(stack.bytesAt(at).buffer, buffer, `item ${at} moved by the push to ${mib} MiB`);
      }
    }
    for (let i = 0; i < 1000; i++) assert.equal(stack.pop(), item);
    assert.equal(stack.at(0), item);
  });

  test("a stack used as a queue (push one, pop it) reuses its small arrays: no allocation per push", () => {
    const stack = new ItemStack();
    stack.push("job-1");
    const first = stack.bytesAt(0).buffer;
    for (let i = 2; i < 100; i++) {
      assert.equal(stack.pop(), `job-${i - 1}`);
      stack.push(`job-${i}`);
      assert.equal(stack.bytesAt(0).buffer, first, `push ${i} allocated anew`);
    }
  });

  test("pushing and popping a large item over many small ones does not reallocate on every operation", () => {
    const stack = new ItemStack();
    for (let i = 0; i < 1024; i++) stack.push("x".repeat(64));
    const large = "y".repeat(64 * 1024);
    let buffer = stack.bytesAt(0).buffer;
    let reallocations = 0;
    for (let i = 0; i < 20; i++) {
      stack.push(large);
      if (stack.bytesAt(0).buffer !== buffer) reallocations++;
      buffer = stack.bytesAt(0).buffer;
      assert.equal(stack.pop(), large);
      if (stack.bytesAt(0).buffer !== buffer) reallocations++;
      buffer = stack.bytesAt(0).buffer;
    }
    assert.ok(reallocations <= 2, `${reallocations} reallocations in 40 operations`);
  });

  test("memory a stack no longer needs is given back, also after one pop of a large item", () => {
    const stack = new ItemStack();
    stack.push("bottom");
    stack.push("z".repeat(64 * 1024));
    stack.pop();
    assert.ok(stack.bytesAt(0).buffer.byteLength <= 4096, `${stack.bytesAt(0).buffer.byteLength} bytes kept`);
    for (let i = 0; i < 3000; i++) stack.push("x".repeat(100));
    for (let i = 0; i < 3000; i++) stack.pop();
    assert.ok(stack.bytesAt(0).buffer.byteLength <= 4096, `${stack.bytesAt(0).buffer.byteLength} bytes kept`);
    assert.deepEqual(stack.toArray(), ["bottom"]);
  });

  test("an index that is not an integer is outside the stack; topChars takes a count of items", () => {
    const stack = new ItemStack();
    stack.push("ab");
    stack.push("cd");
    stack.pop();
    for (const i of [0.5, 1.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY])
      assert.equal(stack.at(i), undefined);
    assert.equal(stack.at(-0), "ab");
    assert.throws(() => stack.topChars(-1), RangeError);
    assert.throws(() => stack.topChars(0.5), RangeError);
    assert.equal(stack.topChars(Number.MAX_SAFE_INTEGER), 2);
  });
});
