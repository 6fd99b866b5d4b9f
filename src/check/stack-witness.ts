import { MinTree } from "./segment-tree.js";
import type { Removed } from "./stack-fixpoint.js";
import type { IndexedStack, Placed, StackOperation } from "./stack-history.js";
import { type StackState, stepStack } from "./stack-spec.js";

/**
 * Builds an explicit linearization from a successful fixpoint, as the proof does: the first removed value
 * is the bottom; its operations split the others into groups, each linearized the same way and placed
 * in its gap. A value with a known pop belongs to the first gap before which all its calls happened
 * (sorted by last call). A value without one may stay in the stack as long as it likes, so it joins the
 * latest gap that starts no later than its first return (sorted by first return): its lifetime then
 * ends as late as the structure allows and seldom needs an unknown pop. Either way each group is a
 * contiguous range of both sorted lists, and its bottom is the minimum removal rank over those ranges.
 * O(n log n), no recursion (stacks get deep).
 *
 * A value no known pop returned ends its lifetime with a marker (its index) instead of an operation:
 * it either stays in the stack, or an unknown pop placed there removed it (see `resolveMarkers`).
 */
export function composeWitness(stack: IndexedStack, removed: Removed): (Placed | number)[] {
  const { values } = stack;
  const rank = new Int32Array(values.length);
  removed.order.forEach((v, r) => {
    rank[v] = r;
  });
  const matched = new SortedRanks(
    values.flatMap((v, i) => (v.pop === undefined ? [] : [i])),
    (i) => values[i]!.lastCall,
    rank,
  );
  const unmatched = new SortedRanks(
    values.flatMap((v, i) => (v.pop === undefined ? [i] : [])),
    (i) => values[i]!.firstReturn,
    rank,
  );

  /** A group: ranges of the matched and of the unmatched sorted lists. */
  type Group = { readonly m: readonly [number, number]; readonly u: readonly [number, number] };
  type Task = Group | Placed | number;
  const tasks: Task[] = [];
  /** Queues the groups of `g` around points (slot, entry), in reverse since tasks is a stack. */
  const split = (g: Group, points: readonly (readonly [number, Placed | number])[]): void => {
    const slots = points.map(([slot]) => slot);
    const m = matched.cut(g.m, slots);
    const u = unmatched.cut(g.u, slots);
    for (let k = points.length; k >= 0; k--) {
      tasks.push({ m: m[k]!, u: u[k]! });
      if (k > 0) tasks.push(points[k - 1]![1]);
    }
  };

  const emptyPoints = stack.empties
    .map((e, k) => [removed.emptySlots[k]!, e] as const)
    .sort((a, b) => a[0] - b[0] || a[1].call - b[1].call);
  split({ m: matched.all, u: unmatched.all }, emptyPoints);

  const out: (Placed | number)[] = [];
  while (tasks.length > 0) {
    const task = tasks.pop()!;
    if (typeof task === "number" || "op" in task) {
      out.push(task);
      continue;
    }
    const v = SortedRanks.takeLowest(matched, task.m, unmatched, task.u);
    if (v === undefined) continue;
    const p = removed.placements[v]!;
    const value = values[v]!;
    const points: (readonly [number, Placed | number])[] = [[p.push, value.push]];
    value.tops
      .map((t, k) => [p.tops[k]!, t] as const)
      .sort((a, b) => a[0] - b[0])
      .forEach((point) => {
        points.push(point);
      });
    points.push([p.pop, value.pop ?? v]);
    split(task, points);
  }
  return out;
}

/** Values sorted by a slot key, with their removal ranks in a tree for range-minimum lookups. */
class SortedRanks {
  readonly #values: number[];
  readonly #keys: number[];
  readonly #ranks: MinTree;

  constructor(values: number[], key: (v: number) => number, rank: Int32Array) {
    this.#values = values.sort((a, b) => key(a) - key(b) || rank[a]! - rank[b]!);
    this.#keys = this.#values.map(key);
    this.#ranks = new MinTree(this.#values.map((v) => rank[v]!));
  }

  get all(): readonly [number, number] {
    return [0, this.#values.length - 1];
  }

  /** Splits range [from, to] at each slot: piece k holds keys in [slots[k-1], slots[k]). */
  cut([from, to]: readonly [number, number], slots: readonly number[]): (readonly [number, number])[] {
    const pieces: (readonly [number, number])[] = [];
    let start = from;
    for (const slot of slots) {
      let a = start;
      let b = Math.max(start, to + 1);
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (this.#keys[mid]! < slot) a = mid + 1;
        else b = mid;
      }
      pieces.push([start, a - 1]);
      start = a;
    }
    pieces.push([start, to]);
    return pieces;
  }

  /** Removes and returns the value of lowest rank over a range of `a` and a range of `b`. */
  static takeLowest(
    a: SortedRanks,
    ra: readonly [number, number],
    b: SortedRanks,
    rb: readonly [number, number],
  ): number | undefined {
    const minA = a.#ranks.min(ra[0], ra[1]);
    const minB = b.#ranks.min(rb[0], rb[1]);
    if (minA === Infinity && minB === Infinity) return undefined;
    const [side, range, min] = minA <= minB ? [a, ra, minA] : [b, rb, minB];
    const at = side.#ranks.findFirst(range[0], range[1], min);
    side.#ranks.add(at, at, Infinity);
    return side.#values[at];
  }
}

/**
 * Turns the end-of-lifetime markers of a witness into operations. A marker followed by nothing but
 * markers is a value still in the stack at the end. Every other marker needs its own unknown pop that
 * may sit there: every operation that returned before the pop's call must come before the marker.
 * Sorting markers by position and pops by their earliest possible position, the i-th pop serves the
 * i-th marker, or no assignment exists for this witness. Returns the completed witness, or the markers
 * that found no pop.
 */
export function resolveMarkers(
  composed: readonly (Placed | number)[],
  unknownPops: readonly Placed[],
): { readonly witness: Placed[] } | { readonly unserved: readonly number[] } {
  let trailing = composed.length;
  while (trailing > 0 && typeof composed[trailing - 1] === "number") trailing--;
  const ops: Placed[] = [];
  const needs: { readonly value: number; readonly position: number }[] = [];
  composed.forEach((entry, k) => {
    if (typeof entry !== "number") ops.push(entry);
    else if (k < trailing) needs.push({ value: entry, position: ops.length });
  });
  const bounds = realTimeBounds(ops);
  const pops = unknownPops
    .map((p) => ({ p, earliest: bounds.earliest(p.call) }))
    .sort((a, b) => a.earliest - b.earliest);
  const unserved = needs.filter((need, i) => i >= pops.length || pops[i]!.earliest > need.position);
  if (unserved.length > 0) return { unserved: unserved.map((n) => n.value) };
  const witness: Placed[] = [];
  let next = 0;
  ops.forEach((op, position) => {
    while (next < needs.length && needs[next]!.position === position) witness.push(pops[next++]!.p);
    witness.push(op);
  });
  while (next < needs.length) witness.push(pops[next++]!.p);
  return { witness };
}

/**
 * Real-time limits of inserting an operation into a linearization: `earliest(call)` is the first
 * position after every operation that returned before event `call`; `latest(ret)` the last position
 * before every operation called after event `ret`.
 */
export function realTimeBounds(ops: readonly Placed[]): {
  earliest(call: number): number;
  latest(ret: number): number;
} {
  const byReturn = ops.map((p, pos) => [p.op.output === undefined ? Infinity : p.last, pos] as const);
  byReturn.sort((a, b) => a[0] - b[0]);
  const lastBefore: number[] = [];
  byReturn.forEach(([, pos], k) => {
    lastBefore.push(Math.max(pos, lastBefore[k - 1] ?? -1));
  });
  const byCall = ops.map((p, pos) => [p.call, pos] as const).sort((a, b) => b[0] - a[0]);
  const firstAfter: number[] = [];
  byCall.forEach(([, pos], k) => {
    firstAfter.push(Math.min(pos, firstAfter[k - 1] ?? ops.length));
  });
  return {
    earliest: (call) => {
      const before = countWhile(byReturn, ([ret]) => ret < call);
      return before === 0 ? 0 : lastBefore[before - 1]! + 1;
    },
    latest: (ret) => {
      const after = countWhile(byCall, ([call]) => call > ret);
      return after === 0 ? ops.length : firstAfter[after - 1]!;
    },
  };
}

/** Length of the prefix of `xs` satisfying `pred` (which holds on a prefix). */
function countWhile<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  let a = 0;
  let b = xs.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (pred(xs[m]!)) a = m + 1;
    else b = m;
  }
  return a;
}

/**
 * Checks a witness independently of how it was built: replayed through the sequential stack model it is
 * legal, it respects real time (no operation placed after one that was called after it returned), and it
 * holds exactly `expected` operations once each. A failure here is a bug in the checker, not a verdict.
 */
export function verifyWitness(witness: readonly Placed[], expected: readonly Placed[]): void {
  const seen = new Set<StackOperation>();
  let state: StackState = null;
  let latestCall = -1;
  for (const p of witness) {
    if (seen.has(p.op)) throw new Error("checker: witness repeats an operation");
    seen.add(p.op);
    const next = stepStack(state, p.op.input, p.op.output);
    if (!next.ok) throw new Error("checker: witness is not a legal sequential history");
    state = next.state;
    if (p.op.output !== undefined && p.last < latestCall)
      throw new Error("checker: witness places an operation after one called after it returned");
    latestCall = Math.max(latestCall, p.call);
  }
  if (seen.size !== expected.length || expected.some((p) => !seen.has(p.op)))
    throw new Error("checker: witness does not hold exactly the expected operations");
}
