import { CriticalRanges } from "./critical-ranges.js";
import { IdHeap } from "./heap.js";
import { SlotWatch } from "./slot-watch.js";
import type { IndexedStack, Placed, ValueOps } from "./stack-history.js";

/**
 * The bottom-value fixpoint for one stack whose pushed values are unique (the decrease-and-conquer
 * characterization of stack linearizability: Lee & Mathur, "Efficient Decrease-and-Conquer
 * Linearizability Monitoring"; also Bouajjani, Emmi, Enea, Hamza).
 *
 * A value is *surely in the stack* at slot k when one of its operations must take effect before k (it
 * returned) and another after k (it was called later): over its "critical range" [firstReturn+1, lastCall],
 * where an unmatched value's lastCall includes the call of the pop assigned to it. In any linearization
 * the first value pushed sits at the bottom until popped, so every other value's operations fall between
 * two consecutive operations of it; in slot terms, each of its operations takes effect in a slot where no
 * other value is surely in the stack. Conversely, a value whose operations can be placed that way (push
 * first, pop last) can be removed without changing whether the rest is linearizable: the rest splits
 * into groups between its operations and each group's linearization is squeezed into its gap. Removing
 * values only frees slots, so the greedy fixpoint is order-independent: the history is linearizable iff
 * every value can be removed. Reads that saw the stack empty behave as tops of a sentinel that sits
 * below everything, which must be removed first: each needs a slot where no value is surely present.
 */

/** Where one value's operations take effect (slots); `pop` is `end` for a value popped "at the end". */
export interface Placement {
  readonly push: number;
  readonly tops: readonly number[];
  readonly pop: number;
}

export interface Removed {
  readonly ok: true;
  /** Value indices in the order they were removed (each the bottom of what remained). */
  readonly order: readonly number[];
  /** Per value (all defined once every value is removed). */
  readonly placements: readonly (Placement | undefined)[];
  /** Slot chosen for each empty read, parallel to `stack.empties`. */
  readonly emptySlots: readonly number[];
}

export type Stuck =
  | { readonly ok: false; readonly kind: "empty"; readonly empty: Placed; readonly cover: readonly number[] }
  | {
      readonly ok: false;
      readonly kind: "stuck";
      /** A set of values none of which can be the bottom of the others: a self-contained violation. */
      readonly core: readonly number[];
      /** Per core value, why it cannot be placed. */
      readonly why: ReadonlyMap<number, string>;
    };

interface Blocked {
  /** Slot ranges every slot of which some other value surely occupies; they alone make placement fail. */
  readonly regions: readonly (readonly [number, number])[];
  readonly why: string;
}

/**
 * Runs the fixpoint. A value no known pop returned ("unmatched") first stays in the stack to the end.
 * When the fixpoint is stuck and `leaveAfter` (the first unknown pop's call event) is given, one
 * unmatched value of the stuck core is released: it may leave any time after that call. The latest
 * pushed one goes first, as it sits highest. Releasing only shortens critical ranges, so the fixpoint
 * stays monotone; once a stuck core has nothing left to release, the history is stuck even if every
 * unmatched value could leave after the first unknown pop (a relaxation of what unknown pops allow),
 * hence not linearizable. Releasing only where stuck keeps in place the values that can stay, so the
 * witness seldom needs unknown pops.
 */
export function removeBottoms(
  stack: IndexedStack,
  leaveAfter: number | undefined,
  guess: "return" | "pop" | "push",
): Removed | Stuck {
  const { values, end } = stack;
  const ranges = new CriticalRanges(stack);
  const { lo, hi, counts } = ranges;
  const released = new Uint8Array(values.length);
  /** Releases the latest-pushed unreleased unmatched value among `candidates`, if any. */
  const release = (candidates: readonly number[]): readonly [number, number] | undefined => {
    let pick = -1;
    for (const i of candidates) {
      if (values[i]!.pop !== undefined || released[i] || leaveAfter === undefined) continue;
      if (pick === -1 || lo[i]! > lo[pick]!) pick = i;
    }
    if (pick === -1) return undefined;
    released[pick] = 1;
    return ranges.shorten(pick, Math.max(values[pick]!.lastCall, leaveAfter!));
  };

  const emptySlots: number[] = [];
  for (let k = 0; k < stack.empties.length; ) {
    const e = stack.empties[k]!;
    const slot = counts.findFirst(e.call + 1, e.last, 0);
    if (slot !== -1) {
      emptySlots.push(slot);
      k++;
      continue;
    }
    const cover = ranges.cover(e.call + 1, e.last, -1);
    if (release(cover) === undefined) return { ok: false, kind: "empty", empty: e, cover };
  }

  /** First (or last) slot of [l, r] where no value other than i is surely in the stack. */
  const allowed = (i: number, l: number, r: number, first: boolean): number => {
    const pieces: [number, number, number][] = [
      [l, Math.min(r, lo[i]! - 1), 0],
      [Math.max(l, lo[i]!), Math.min(r, hi[i]!), 1],
      [Math.max(l, hi[i]! + 1), r, 0],
    ];
    if (!first) pieces.reverse();
    for (const [a, b, own] of pieces) {
      const found = first ? counts.findFirst(a, b, own) : counts.findLast(a, b, own);
      if (found !== -1) return found;
    }
    return -1;
  };
  const placements: (Placement | undefined)[] = Array.from({ length: values.length }, () => undefined);
  const place = (i: number): Placement | Blocked =>
    placeValue(values[i]!, end, (l, r, f) => allowed(i, l, r, f));

  // Worklist: a blocked value watches the slots that block it and is retried only when a removal frees
  // one of them (its count drops to <= 1). A slot's count drops there at most twice, so the fixpoint is
  // O(n log n) however the values nest. Any order of removals gives the same verdict, but the witness
  // follows it: the first removed is the bottom. Of the values ready, the one guessed to have gone in
  // first goes first: by the end of its push's interval ("return": the first return of the value),
  // by the middle of its push's interval ("push"), or by its pop ("pop": in a stack the value popped
  // later lies deeper; values never popped deepest of all). Size reads tell these witnesses apart.
  const order: number[] = [];
  const watch = new SlotWatch(end + 1);
  const blocked = new Set<number>();
  const depthKey = values.map((v) => {
    const pushed = v.push.call + Math.min(v.push.last, v.firstReturn);
    if (guess === "return") return v.firstReturn;
    if (guess === "push") return pushed;
    const popped = v.pop === undefined ? 2 * (end + 1) : v.pop.call + v.pop.last;
    return -popped * 4 * (end + 1) + pushed;
  });
  const queue = new IdHeap(depthKey);
  values.forEach((_, i) => {
    queue.push(i);
  });
  const woken: number[] = [];
  const wakeFreed = ([from, to]: readonly [number, number]): void => {
    for (let k = counts.findFirst(from, to, 1); k !== -1; k = counts.findFirst(k + 1, to, 1))
      watch.wake(k, woken);
    for (const i of woken) queue.push(i);
    woken.length = 0;
  };
  for (;;) {
    const i = queue.pop();
    if (i === undefined) {
      if (blocked.size === 0) return { ok: true, order, placements, emptySlots };
      const stuck = stuckCore(blocked, ranges, place);
      const freed = release(stuck.core);
      if (freed === undefined) return stuck;
      wakeFreed(freed);
      continue;
    }
    const p = place(i);
    if (!("push" in p)) {
      blocked.add(i);
      watch.watch(i, p.regions);
      continue;
    }
    blocked.delete(i);
    placements[i] = p;
    order.push(i);
    wakeFreed(ranges.remove(i));
  }
}

/**
 * Push as early, pop as late as allowed; each top needs an allowed slot between them. The push cannot
 * come after any operation of the value returned, nor the pop before any was called.
 */
function placeValue(
  v: ValueOps,
  end: number,
  allowed: (l: number, r: number, first: boolean) => number,
): Placement | Blocked {
  const pushRange: [number, number] = [v.push.call + 1, Math.min(v.push.last, v.firstReturn)];
  const push = allowed(pushRange[0], pushRange[1], true);
  if (push === -1) return { regions: [pushRange], why: "its push has no free slot" };
  const beforePush: [number, number] = [pushRange[0], push - 1];
  let pop = end;
  let afterPop: [number, number] = [end + 1, end];
  if (v.pop !== undefined) {
    const popRange: [number, number] = [v.lastCall + 1, v.pop.last];
    pop = allowed(popRange[0], popRange[1], false);
    if (pop === -1) return { regions: [popRange], why: "its pop has no free slot" };
    afterPop = [pop + 1, popRange[1]];
    if (pop < push)
      return { regions: [beforePush, afterPop], why: "its pop must take effect before its push" };
  }
  const tops: number[] = [];
  for (const t of v.tops) {
    const l = Math.max(t.call + 1, push);
    const r = Math.min(t.last, pop);
    const slot = l <= r ? allowed(l, r, true) : -1;
    if (slot === -1) {
      const regions: (readonly [number, number])[] = [[l, r]];
      if (t.call + 1 < push) regions.push(beforePush);
      if (t.last > pop) regions.push(afterPop);
      return { regions, why: "a top that returned it has no free slot between its push and its pop" };
    }
    tops.push(slot);
  }
  return { push, tops, pop };
}

/**
 * Shrinks a stuck set to a closed core: start from the earliest-pushed stuck value, add the values whose
 * critical ranges cover the slots that block it, and repeat for each added value. In the resulting set
 * every value is still blocked by the others, so the set alone is not linearizable.
 */
function stuckCore(
  stuck: ReadonlySet<number>,
  ranges: CriticalRanges,
  place: (i: number) => Placement | Blocked,
): Extract<Stuck, { kind: "stuck" }> {
  const why = new Map<number, string>();
  const core: number[] = [];
  let start = -1;
  for (const i of stuck) if (start === -1 || ranges.lo[i]! < ranges.lo[start]!) start = i;
  const queue = [start];
  const inCore = new Set(queue);
  while (queue.length > 0) {
    const i = queue.pop()!;
    core.push(i);
    const blocked = place(i);
    if ("push" in blocked) throw new Error("checker: a stuck value became placeable without removals");
    why.set(i, blocked.why);
    for (const [l, r] of blocked.regions) {
      for (const j of ranges.cover(l, r, i)) {
        if (inCore.has(j)) continue;
        if (!stuck.has(j)) throw new Error("checker: a removed value still blocks a stuck one");
        inCore.add(j);
        queue.push(j);
      }
    }
  }
  return { ok: false, kind: "stuck", core: core.sort((a, b) => a - b), why };
}
