import { Fenwick } from "./fenwick.js";
import { MinTree } from "./segment-tree.js";
import type { Placed } from "./stack-history.js";

/** Event indices of a set of operations, sorted, with a count of the pending ones by position. */
class PendingIndex {
  readonly #keys: number[];
  readonly #slot = new Map<number, number>();
  readonly #pending: Fenwick;

  constructor(ops: readonly number[], key: (i: number) => number) {
    const sorted = [...ops].sort((a, b) => key(a) - key(b));
    this.#keys = sorted.map(key);
    sorted.forEach((op, k) => {
      this.#slot.set(op, k);
    });
    this.#pending = new Fenwick(sorted.length);
    sorted.forEach((_, k) => {
      this.#pending.add(k, 1);
    });
  }

  set(op: number, delta: number): void {
    const k = this.#slot.get(op);
    if (k !== undefined) this.#pending.add(k, delta);
  }

  /** Pending ops whose key is < `bound`. */
  below(bound: number): number {
    let a = 0;
    let b = this.#keys.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (this.#keys[m]! < bound) a = m + 1;
      else b = m;
    }
    return this.#pending.prefix(a);
  }
}

/**
 * Bounds, during a search, the depth the next size read due can still see: operations that returned
 * before its call must come before it, operations called after its return cannot. If its value lies
 * outside [depth + forced pushes - possible pops, depth + possible pushes - forced pops], the branch is
 * dead. Unknown pushes and pops may or may not happen, so they are possible but never forced.
 */
export class SizeBound {
  readonly #all: readonly Placed[];
  readonly #sizes: number[];
  readonly #sizeSlot = new Map<number, number>();
  readonly #pendingSizes: MinTree;
  readonly #pushCalls: PendingIndex;
  readonly #pushReturns: PendingIndex;
  readonly #popCalls: PendingIndex;
  readonly #popReturns: PendingIndex;

  constructor(all: readonly Placed[]) {
    this.#all = all;
    const ids = all.map((_, i) => i);
    const known = (i: number) => all[i]!.op.output !== undefined;
    const pushes = ids.filter((i) => all[i]!.op.input.op === "push");
    // Pops that remove a value: known ones that returned one, and unknown ones.
    const pops = ids.filter((i) => all[i]!.op.input.op === "pop" && all[i]!.op.output?.kind !== "empty");
    this.#sizes = ids
      .filter((i) => all[i]!.op.output?.kind === "size")
      .sort((a, b) => all[a]!.last - all[b]!.last);
    this.#sizes.forEach((op, k) => {
      this.#sizeSlot.set(op, k);
    });
    this.#pendingSizes = new MinTree(new Float64Array(this.#sizes.length));
    const call = (i: number) => all[i]!.call;
    const ret = (i: number) => all[i]!.last;
    this.#pushCalls = new PendingIndex(pushes, call);
    this.#pushReturns = new PendingIndex(pushes.filter(known), ret);
    this.#popCalls = new PendingIndex(pops, call);
    this.#popReturns = new PendingIndex(pops.filter(known), ret);
  }

  /** Marks operation i linearized (or, on backtracking, pending again). */
  set(i: number, pending: boolean): void {
    const delta = pending ? 1 : -1;
    const k = this.#sizeSlot.get(i);
    if (k !== undefined) this.#pendingSizes.set(k, pending ? 0 : Infinity);
    this.#pushCalls.set(i, delta);
    this.#pushReturns.set(i, delta);
    this.#popCalls.set(i, delta);
    this.#popReturns.set(i, delta);
  }

  /** Whether the next size read due can still see its value from a stack of `depth`. */
  reachable(depth: number): boolean {
    const k = this.#pendingSizes.findFirst(0, this.#sizes.length - 1, 0);
    if (k === -1) return true;
    const s = this.#all[this.#sizes[k]!]!;
    const n = s.op.output?.kind === "size" ? s.op.output.size : 0;
    const low = depth + this.#pushReturns.below(s.call) - this.#popCalls.below(s.last);
    const high = depth + this.#pushCalls.below(s.last) - this.#popReturns.below(s.call);
    return low <= n && n <= high;
  }
}
