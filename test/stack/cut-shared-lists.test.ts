import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ItemStack, type ItemsCut } from "../../src/stack/items.js";
import fc from "../fast-check.js";
import { utf8 } from "./item-bytes.js";

// A cold review of a cut reading the stack's own segment lists (fa8983c) and keeping the items popped
// below it in an ItemStack of its own (33a2b89). Every held cut is read whole after every change of the
// stack, not only when it is released: a segment the cut still reads, replaced, rewritten, dropped or
// added again at its index, shows at once, even if later changes would hide it. A walk first checks
// that each change of the lists (segment 0 grown and shrunk, segments dropped and added again at their
// old index, the lists emptied) happens under held cuts.

const bytesOf = (s: string): number => Buffer.byteLength(s, "utf8");

/** Text of exactly `bytes` UTF-8 bytes made of `unit` and ASCII to make up the rest, tagged first. */
function textOf(bytes: number, unit: string, tag = ""): string {
  const head = tag.slice(0, bytes);
  const n = Math.floor((bytes - head.length) / bytesOf(unit));
  const s = head + unit.repeat(n);
  return s + "z".repeat(bytes - bytesOf(s));
}

interface Held {
  readonly cut: ItemsCut;
  readonly items: readonly string[];
}

function assertCut({ cut, items }: Held, when: string): void {
  assert.equal(cut.length, items.length, when);
  assert.equal(cut.byteLength, bytesOf(items.join("")), when);
  for (let i = 0; i < items.length; i++)
    assert.equal(utf8.decode(cut.bytesAt(i)), items[i], `${when}: item ${i}`);
}

/** The array item `i` of `stack` is stored in (its segment's buffer). */
const bufferOf = (stack: ItemStack, i: number): ArrayBufferLike => stack.bytesAt(i).buffer;

describe("cuts read the stack's own segment lists", () => {
  test("a walk through every change of the lists, each under held cuts read after it", () => {
    // Segments of 2 KiB: segment 0 shrinks past 1 KiB, so every path of the lists is taken.
    const size = 2048;
    const stack = new ItemStack(11);
    const model: string[] = [];
    const held: Held[] = [];
    const checkAll = (when: string) => {
      for (const h of held) assertCut(h, when);
    };
    const push = (item: string, when: string) => {
      stack.push(item);
      model.push(item);
      checkAll(when);
    };
    const popTo = (n: number, when: string) => {
      while (model.length > n) {
        assert.equal(stack.pop(), model.pop());
        checkAll(`${when} (at ${model.length})`);
      }
    };
    const cut = () => {
      const h = { cut: stack.cut(), items: model.slice() };
      held.push(h);
      return h;
    };
    const release = (h: Held) => {
      assertCut(h, "at release");
      h.cut.release();
      held.splice(held.indexOf(h), 1);
    };

    // 300-byte items, six a segment (a gap of 248 bytes), over four segments; segment 0 grew by doubling.
    push("b", "first");
    for (let i = 1; i < 24; i++) push(textOf(300, i % 2 === 0 ? "é" : "a", `A${i}`), `fill ${i}`);
    const seg2 = bufferOf(stack, 13);
    const seg3 = bufferOf(stack, 20);
    assert.notEqual(seg2, seg3);
    const a = cut();

    // Down into segment 1: segments 2 and 3 dropped under cut a.
    popTo(8, "shrink to segment 1");
    // Up again over the popped space of segment 1, then segments 2 and 3 added anew at their indexes.
    for (let i = 0; i < 16; i++) push(textOf(300, i % 2 === 0 ? "€" : "😀", `B${i}`), `refill ${i}`);
    assert.notEqual(bufferOf(stack, 13), seg2, "segment 2 is a new array");
    assert.notEqual(bufferOf(stack, 20), seg3, "segment 3 is a new array");
    const b = cut();

    // Down to the first item: segments 1 to 3 dropped, segment 0 (2 KiB, 1 byte used) shrunk to 1 KiB.
    const seg0 = bufferOf(stack, 0);
    popTo(1, "shrink to segment 0");
    assert.notEqual(bufferOf(stack, 0), seg0, "segment 0 shrunk is a new array");
    assert.equal(bufferOf(stack, 0).byteLength, 1024);
    const c = cut();
    // Segment 0 grown by doubling again (a new array), then a new segment 1; an item of a whole segment.
    const shrunk = bufferOf(stack, 0);
    push(textOf(1500, "é", "C0"), "grow segment 0");
    assert.notEqual(bufferOf(stack, 0), shrunk, "segment 0 grown is a new array");
    push(textOf(size, "€", "C1"), "a whole segment");
    push("", "empty");
    push(textOf(size - 1, "a", "C2"), "a segment less a byte");
    const d = cut();

    // Overlapping cuts released out of order, while items of a whole segment are popped below the rest:
    // each cut's kept store takes them (any item the stack holds fits one of its segments).
    release(b);
    popTo(2, "pop whole-segment items below cut d");
    push(textOf(size, "😀", "D0"), "a whole segment again");
    release(a);
    // To empty: the lists themselves are emptied (their capacity past the first push's).
    popTo(0, "empty");
    const e = cut();
    push(textOf(size, "a", "E0"), "after empty");
    push("x", "after empty");
    release(d);
    popTo(0, "empty again");
    release(e);
    release(c);
    assert.equal(held.length, 0);
  });

  type Op =
    | { readonly op: "push"; readonly bytes: number; readonly unit: string }
    | { readonly op: "fill"; readonly segments: number; readonly bytes: number; readonly unit: string }
    | { readonly op: "popTo"; readonly part: number }
    | { readonly op: "cut" }
    | { readonly op: "release"; readonly which: number };

  function opFor(size: number): fc.Arbitrary<Op> {
    const bytes = fc.oneof(
      fc.constantFrom(0, 1, size - 1, size, size / 2, size / 2 + 1, size / 4, size / 4 + 1),
      fc.integer({ min: 0, max: size }),
    );
    const unit = fc.constantFrom("a", "é", "€", "😀");
    return fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant("push" as const), bytes, unit }) },
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant("fill" as const),
          segments: fc.integer({ min: 1, max: 4 }),
          bytes: fc.integer({ min: 1, max: size / 2 }),
          unit,
        }),
      },
      // What part of its items the stack keeps: none, a few, a half, most.
      {
        weight: 3,
        arbitrary: fc.constantFrom(0, 0.05, 0.25, 0.5, 0.9).map((part) => ({ op: "popTo" as const, part })),
      },
      { weight: 2, arbitrary: fc.constant({ op: "cut" as const }) },
      { weight: 2, arbitrary: fc.nat().map((which) => ({ op: "release" as const, which })) },
    );
  }

  test("every held cut reads as it was cut after every push and pop, segments crossed both ways", {
    timeout: 120_000,
  }, () => {
    let tag = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(6, 8, 11, 12).chain((bits) =>
          fc.record({
            bits: fc.constant(bits),
            ops: fc.array(opFor(2 ** bits), { maxLength: 40, size: "max" }),
          }),
        ),
        ({ bits, ops }) => {
          const size = 2 ** bits;
          const stack = new ItemStack(bits);
          const model: string[] = [];
          const held: Held[] = [];
          const checkAll = (when: string) => {
            for (const h of held) assertCut(h, when);
          };
          const push = (item: string) => {
            stack.push(item);
            model.push(item);
            checkAll(`push ${model.length - 1}`);
          };
          for (const o of ops) {
            switch (o.op) {
              case "push":
                push(textOf(o.bytes, o.unit, `${tag++}`));
                break;
              case "fill": {
                // Items pushed until they take about `segments` segments more.
                let more = 0;
                while (more < o.segments * size) {
                  push(textOf(o.bytes, o.unit, `${tag++}`));
                  more += o.bytes;
                }
                break;
              }
              case "popTo":
                for (const n = Math.floor(model.length * o.part); model.length > n; ) {
                  assert.equal(stack.pop(), model.pop());
                  checkAll(`pop to ${model.length}`);
                }
                break;
              case "cut":
                held.push({ cut: stack.cut(), items: model.slice() });
                break;
              case "release": {
                const h = held[o.which % Math.max(1, held.length)];
                if (h === undefined) break;
                assertCut(h, "at release");
                h.cut.release();
                held.splice(held.indexOf(h), 1);
                break;
              }
            }
          }
          assert.deepEqual(stack.toArray(), model);
          for (const h of held) {
            assertCut(h, "at the end");
            h.cut.release();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
