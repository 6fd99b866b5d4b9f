import { MinTree } from "./segment-tree.js";
import { SizeBound } from "./size-bound.js";
import type { IndexedStack, Placed } from "./stack-history.js";
import { type StackState, stepStack } from "./stack-spec.js";

/**
 * Depth-first search for a linearization of one stack, trying the candidates at each step in the order
 * of a near-miss witness (`priority`, lower first). The witness already satisfies every constraint but
 * a few local ones (size reads, unknown pops it could not place), so backtracking from a dead end
 * repairs the closest choices first and the search stays near linear. Operations without a priority
 * (unknown outcomes the witness left out) are tried only where the others are stuck, as the general
 * search does.
 *
 * It only ever claims success with a linearization in hand (the caller verifies it) and otherwise gives
 * up, so its memo of visited (set, state) pairs may keep hashes only: a collision can prune a branch,
 * never produce a wrong verdict. That keeps memory flat on 100,000-operation histories, where the
 * general search's bitset memo would not.
 */
export function guidedSearch(
  stack: IndexedStack,
  priority: ReadonlyMap<Placed, number>,
  stepsMax: number,
): Placed[] | undefined {
  const all: Placed[] = [...stack.empties, ...stack.sizes, ...stack.unknownPops, ...stack.unseenPushes];
  for (const v of stack.values) all.push(v.push, ...v.tops, ...(v.pop === undefined ? [] : [v.pop]));
  return searchNear(all, priority, null, () => true, { left: stepsMax }, popDeadlines(stack));
}

/**
 * Prunes pushes that cannot end well: pushing v onto a stack holding a value whose known pop returns
 * before v's pop is called (v would have to leave first), or pushing a value that nothing can pop onto
 * one that must be popped. The search only claims success, so pruning is safe even where imprecise.
 */
export interface PopDeadlines {
  /** Per value, its known pop. */
  readonly popOf: ReadonlyMap<string, Placed>;
  /** Whether unknown pops exist: then a value without a known pop may still leave. */
  readonly unknownPops: boolean;
}

export function popDeadlines(stack: IndexedStack): PopDeadlines {
  const popOf = new Map<string, Placed>();
  for (const v of stack.values) if (v.pop !== undefined) popOf.set(v.value, v.pop);
  return { popOf, unknownPops: stack.unknownPops.length > 0 };
}

/**
 * The search itself, over `all` from stack state `initial`, ending in a state `accept` takes (for a
 * window of a longer linearization: one from which the rest still replays).
 */
export function searchNear(
  all: readonly Placed[],
  priority: ReadonlyMap<Placed, number>,
  initial: StackState,
  accept: (final: StackState) => boolean,
  /** Steps the search may still take; it takes them from here, so callers can share one budget. */
  budget: { left: number },
  lifo: PopDeadlines,
): Placed[] | undefined {
  const known = all.map((p) => p.op.output !== undefined);
  // The earliest return among the known pops of the values in a stack: whatever is pushed on it must
  // be popped before then.
  const deadlineOf = new Map<StackState, number>();
  const deadline = (state: StackState): number => {
    if (state === null) return Infinity;
    let d = deadlineOf.get(state);
    if (d === undefined) {
      d = Math.min(lifo.popOf.get(state.value)?.last ?? Infinity, deadline(state.below));
      deadlineOf.set(state, d);
    }
    return d;
  };
  const hopeless = (state: StackState, p: Placed): boolean => {
    if (p.op.input.op !== "push") return false;
    const pop = lifo.popOf.get(p.op.input.value);
    if (pop === undefined) return !lifo.unknownPops && deadline(state) !== Infinity;
    return pop.call >= deadline(state);
  };
  const rank = all.map((p) => priority.get(p) ?? Infinity);
  const late = rank.map((r) => r === Infinity);
  // Pending known ops by return, to find the earliest pending return: ops called after it must wait.
  const byReturn = all.map((_, i) => i).filter((i) => known[i]);
  byReturn.sort((a, b) => all[a]!.last - all[b]!.last);
  const returnSlot = new Int32Array(all.length).fill(-1);
  byReturn.forEach((op, k) => {
    returnSlot[op] = k;
  });
  const pendingReturns = new MinTree(new Float64Array(byReturn.length));
  // Pending ops by call, one list for ops with a priority and one for the others.
  const lists = [false, true].map((isLate) => {
    const ops = all.map((_, i) => i).filter((i) => late[i] === isLate);
    ops.sort((a, b) => all[a]!.call - all[b]!.call);
    const slot = new Int32Array(all.length).fill(-1);
    ops.forEach((op, k) => {
      slot[op] = k;
    });
    return { ops, slot, pending: new MinTree(new Float64Array(ops.length)) };
  });
  const sizes = new SizeBound(all);
  const setPending = (i: number, pending: boolean): void => {
    sizes.set(i, pending);
    const value = pending ? 0 : Infinity;
    if (known[i]) pendingReturns.set(returnSlot[i]!, value);
    const list = lists[late[i] ? 1 : 0]!;
    list.pending.set(list.slot[i]!, value);
  };
  /** Pending ops of one list called before the earliest pending known return, by priority. */
  const candidates = (isLate: boolean): number[] => {
    const first = pendingReturns.findFirst(0, byReturn.length - 1, 0);
    const before = first === -1 ? Infinity : all[byReturn[first]!]!.last;
    const list = lists[isLate ? 1 : 0]!;
    let a = 0;
    let b = list.ops.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (all[list.ops[m]!]!.call < before) a = m + 1;
      else b = m;
    }
    const out: number[] = [];
    for (let k = list.pending.findFirst(0, a - 1, 0); k !== -1; k = list.pending.findFirst(k + 1, a - 1, 0))
      out.push(list.ops[k]!);
    return out.sort((x, y) => rank[x]! - rank[y]! || all[x]!.call - all[y]!.call);
  };

  const zobrist = all.map((_, i) => Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(i ^ 0x5bd1e995, 0x85ebca6b));
  const seen = new Set<number>();
  interface Frame {
    cands: number[];
    next: number;
    late: boolean;
  }
  const frames: Frame[] = [{ cands: candidates(false), next: 0, late: false }];
  const chosen: number[] = [];
  const states: StackState[] = [];
  let state: StackState = initial;
  let setHash = 0;
  let knownLeft = known.filter(Boolean).length;
  for (;;) {
    if (knownLeft === 0 && accept(state)) break;
    const frame = frames[frames.length - 1];
    if (frame === undefined) return undefined;
    if (frame.next === frame.cands.length) {
      if (!frame.late) {
        frame.cands = candidates(true);
        frame.next = 0;
        frame.late = true;
        continue;
      }
      frames.pop();
      const undone = chosen.pop();
      if (undone === undefined) return undefined;
      state = states.pop()!;
      setHash ^= zobrist[undone]!;
      setPending(undone, true);
      if (known[undone]) knownLeft++;
      continue;
    }
    const i = frame.cands[frame.next++]!;
    if (--budget.left < 0) return undefined;
    const next = stepStack(state, all[i]!.op.input, all[i]!.op.output);
    if (!next.ok || hopeless(state, all[i]!)) continue;
    const hash = setHash ^ zobrist[i]!;
    const key = (hash >>> 0) * 2097152 + (((next.state?.hash ?? 0) ^ (next.state?.size ?? 0)) & 0x1fffff);
    if (seen.has(key)) continue;
    seen.add(key);
    setPending(i, false);
    if (!sizes.reachable(next.state?.size ?? 0)) {
      setPending(i, true);
      continue;
    }
    chosen.push(i);
    states.push(state);
    state = next.state;
    setHash = hash;
    if (known[i]) knownLeft--;
    frames.push({ cands: candidates(false), next: 0, late: false });
  }
  return chosen.map((i) => all[i]!);
}
