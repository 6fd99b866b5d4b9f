import { MinTree } from "./segment-tree.js";
import type { IndexedStack } from "./stack-history.js";

/**
 * The critical ranges of the values still in play: value i is surely in the stack over slots
 * [lo[i], hi[i]] (empty when lo > hi). Keeps, per slot, how many ranges contain it, and, per range
 * start, the furthest end, so "which values block this slot range" is answered without a scan.
 * Range starts are distinct: each is one after the return event of one operation.
 */
export class CriticalRanges {
  readonly lo: number[];
  readonly hi: number[];
  /** Per slot, the number of live ranges containing it. */
  readonly counts: MinTree;
  /** Indexed by range start: minus the range's end (+Infinity when none is live there). */
  readonly #negEndByStart: MinTree;
  readonly #valueAtStart: Int32Array;

  constructor(stack: IndexedStack) {
    const { values, end } = stack;
    // Unmatched values start out staying in the stack to the end (`events`); see `shorten`.
    const { lo, hi } = criticalRanges(stack, new Int32Array(values.length).fill(stack.events));
    this.lo = lo;
    this.hi = hi;
    this.counts = new MinTree(coverCounts(end + 1, lo, hi));
    const negEnd = new Float64Array(end + 1).fill(Infinity);
    this.#valueAtStart = new Int32Array(end + 1).fill(-1);
    values.forEach((_, i) => {
      if (lo[i]! > hi[i]!) return;
      negEnd[lo[i]!] = -hi[i]!;
      this.#valueAtStart[lo[i]!] = i;
    });
    this.#negEndByStart = new MinTree(negEnd);
  }

  /** Takes value i out of play; returns its former range. */
  remove(i: number): readonly [number, number] {
    const [l, h] = [this.lo[i]!, this.hi[i]!];
    if (l <= h) {
      this.counts.add(l, h, -1);
      this.#negEndByStart.set(l, Infinity);
    }
    return [l, h];
  }

  /** Ends value i's range at `hi` (if earlier); returns the slots it no longer covers. */
  shorten(i: number, hi: number): readonly [number, number] {
    const [l, h] = [this.lo[i]!, this.hi[i]!];
    if (hi >= h) return [h + 1, h];
    const from = Math.max(l, hi + 1);
    this.counts.add(from, h, -1);
    this.hi[i] = hi;
    this.#negEndByStart.set(l, hi < l ? Infinity : -hi);
    return [from, h];
  }

  /**
   * Live values other than `except` whose ranges together cover every slot of [l, r], chosen greedily
   * (the range reaching furthest at each step). Throws if some slot is covered by none: callers only
   * ask about slots they found blocked.
   */
  cover(l: number, r: number, except: number): number[] {
    const chosen: number[] = [];
    const own = except === -1 ? -1 : this.lo[except]!;
    const saved = own === -1 ? Infinity : this.#negEndByStart.min(own, own);
    if (own !== -1) this.#negEndByStart.set(own, Infinity);
    try {
      for (let x = l; x <= r; ) {
        const best = this.#negEndByStart.min(0, x);
        if (-best < x) throw new Error(`checker: slot ${x} reported blocked but no value covers it`);
        const pick = this.#valueAtStart[this.#negEndByStart.findFirst(0, x, best)]!;
        chosen.push(pick);
        x = this.hi[pick]! + 1;
      }
    } finally {
      if (own !== -1) this.#negEndByStart.set(own, saved);
    }
    return chosen;
  }
}

/** Each value's critical range [lo, hi] (empty when lo > hi); `hi` is also its last call, pop included. */
export function criticalRanges(
  stack: IndexedStack,
  popCall: ArrayLike<number>,
): { readonly lo: number[]; readonly hi: number[] } {
  return {
    lo: stack.values.map((v) => v.firstReturn + 1),
    hi: stack.values.map((v, i) => (v.pop === undefined ? Math.max(v.lastCall, popCall[i]!) : v.lastCall)),
  };
}

/** Per slot, how many of the ranges [lo[i], hi[i]] contain it. */
export function coverCounts(slots: number, lo: readonly number[], hi: readonly number[]): Float64Array {
  const counts = new Float64Array(slots);
  lo.forEach((l, i) => {
    if (l > hi[i]! || l >= slots) return;
    counts[l]! += 1;
    if (hi[i]! + 1 < slots) counts[hi[i]! + 1]! -= 1;
  });
  for (let k = 1; k < slots; k++) counts[k]! += counts[k - 1]!;
  return counts;
}
