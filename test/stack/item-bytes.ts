// Helpers of the ItemStack tests: pushAscii's arguments, reading items back as text, and a stack changed
// in step with the array of strings it must equal.
import assert from "node:assert/strict";
import type { ItemStack, ItemsCut } from "../../src/stack/items.js";

/** pushAscii's arguments for `items`: their bytes one after another, and each one's bounds. */
export function asciiRun(items: readonly string[]): [Uint8Array, Uint32Array, number, number] {
  const src = new TextEncoder().encode(items.join(""));
  const bounds = new Uint32Array(2 * items.length);
  let at = 0;
  for (const [i, s] of items.entries()) {
    bounds[2 * i] = at;
    at += s.length;
    bounds[2 * i + 1] = at;
  }
  return [src, bounds, items.length, src.length];
}

/** A BOM is an item's first character like any other. */
export const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

export const charsOf = (items: readonly string[]): number => items.reduce((sum, s) => sum + s.length, 0);

/** The cut holds `items`, and knows their size. */
function assertCut(cut: ItemsCut, items: readonly string[]): void {
  assert.equal(cut.length, items.length);
  for (let i = 0; i < items.length; i++) assert.equal(utf8.decode(cut.bytesAt(i)), items[i], `cut item ${i}`);
  assert.equal(cut.byteLength, Buffer.byteLength(items.join(""), "utf8"));
}

/**
 * The operations of the ItemStack model tests that ModelledStack.apply makes on both: `pop` pops `n`
 * items, `release` lets go of the oldest cut held (the newest if `newest`) once it is read back whole.
 */
export type StackOp =
  | { readonly op: "push"; readonly item: string }
  | { readonly op: "pushAscii"; readonly items: readonly string[] }
  | { readonly op: "pop"; readonly n: number }
  | { readonly op: "cut" }
  | { readonly op: "release"; readonly newest: boolean };

/**
 * `stack` and the array of strings it must equal (`model`), changed together, and the cuts held of
 * both (oldest first, several at once: a node's own snapshot and a backup may overlap).
 */
export class ModelledStack {
  readonly model: string[] = [];
  readonly cuts: { readonly cut: ItemsCut; readonly items: readonly string[] }[] = [];

  constructor(readonly stack: ItemStack) {}

  apply(o: StackOp): void {
    switch (o.op) {
      case "push":
        this.push(o.item);
        break;
      case "pushAscii":
        this.stack.pushAscii(...asciiRun(o.items));
        this.model.push(...o.items);
        break;
      case "pop":
        for (let k = 0; k < o.n; k++) this.pop();
        break;
      case "cut":
        this.cuts.push({ cut: this.stack.cut(), items: this.model.slice() });
        break;
      case "release": {
        const held = o.newest ? this.cuts.pop() : this.cuts.shift();
        if (held === undefined) break;
        assertCut(held.cut, held.items);
        held.cut.release();
        break;
      }
    }
  }

  push(item: string): void {
    this.stack.push(item);
    this.model.push(item);
  }

  /** Pops the same item off both. */
  pop(): void {
    assert.equal(this.stack.pop(), this.model.pop());
  }

  /** The stack's length and characters are the model's (checked after every operation). */
  assertCounts(): void {
    assert.equal(this.stack.length, this.model.length);
    assert.equal(this.stack.chars, charsOf(this.model));
  }

  /** Every cut still held reads back what it cut. */
  assertCuts(): void {
    for (const { cut, items } of this.cuts) assertCut(cut, items);
  }
}
