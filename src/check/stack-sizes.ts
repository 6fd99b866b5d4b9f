import { MinTree } from "./segment-tree.js";
import { type PopDeadlines, searchNear } from "./stack-guided.js";
import type { Placed } from "./stack-history.js";
import { type StackState, stackEqual, stepStack } from "./stack-spec.js";
import { realTimeBounds } from "./stack-witness.js";

/** Steps of the exhaustive search of one window, per operation in it, and at most. */
const windowStepsPerOp = 2_500;
const windowStepsMax = 1_000_000;
/** Steps of the last try of a window at the widest margin. */
const windowStepsLast = 1_000_000;
/** Witness operations added on each side of a misfit's range at first; doubled on each failure. */
const padFirst = 4;
const padMax = 32;

interface Window {
  from: number;
  to: number;
  pad: number;
  misfits: Placed[];
  result?: Placed[] | undefined;
}

/**
 * Adds size reads to a witness linearization of the other operations. Most fit as they are (see
 * `placeSizes`). Around each one that does not, the witness is re-linearized in a window: the
 * operations between two positions, plus the size reads placed inside or at its edges, searched
 * exhaustively from the stack the witness had at the window's start to the stack it had at its end, so
 * everything outside replays unchanged and real time with it holds (no operation leaves the window). A
 * failing window doubles its margin and absorbs the windows it then overlaps or touches. Returns the
 * full linearization, or the size reads no window up to the largest could place.
 */
export function fitSizes(
  witness: readonly Placed[],
  sizes: readonly Placed[],
  optional: readonly Placed[],
  lifo: PopDeadlines,
  /** Steps all windows may take, shared with the caller's other attempts. */
  total: { left: number },
): { readonly merged: Placed[] } | { readonly misfits: readonly Placed[] } {
  const placed = placeSizes(witness, sizes);
  if (placed.misfits.length === 0) return { merged: merge(witness, placed.at, []) };
  const states: StackState[] = [null];
  for (const p of witness) states.push(stepStack(states[states.length - 1]!, p.op.input, p.op.output).state);
  const windows: Window[] = placed.misfits
    .map((m) => ({ from: m.from, to: m.to, pad: padFirst, misfits: [m.size] }))
    .sort((a, b) => a.from - b.from);
  const bounds = new Map(placed.misfits.map((m) => [m.size, m] as const));
  const start = (w: Window) => Math.max(0, w.from - w.pad);
  const end = (w: Window) => Math.min(witness.length, w.to + w.pad);
  // Merge windows that overlap or touch at their first margin (a size read at the shared edge would
  // belong to both).
  for (let i = 1; i < windows.length; ) {
    if (start(windows[i]!) <= end(windows[i - 1]!)) absorb(windows[i - 1]!, windows.splice(i, 1)[0]!);
    else i++;
  }
  for (let i = 0; i < windows.length; ) {
    const w = windows[i]!;
    const [a, b] = [start(w), end(w)];
    // Size reads placed at either edge join the search: in a window clipped at the witness's start or
    // end, a misfit may have to come after one at the start, or before one at the end, in real time,
    // which the search alone can order (sim seeds 1086 and 1161 threw in verifyWitness without).
    const inside = [...placed.at].filter(([, pos]) => a <= pos && pos <= b).map(([s]) => s);
    // Unknown-outcome operations the witness left out may still have happened inside the window (a
    // push that landed and a pop that removed it): the search may add them where the rest is stuck.
    // Each of them at most once: not those another window's result already holds.
    const taken = new Set(windows.flatMap((other) => (other === w ? [] : (other.result ?? []))));
    const lastCall = witness.slice(a, b).reduce((c, p) => Math.max(c, p.call), -1);
    const extra = optional.filter((p) => p.call < lastCall && !taken.has(p));
    const ops = [...witness.slice(a, b), ...inside, ...w.misfits];
    const priority = new Map<Placed, number>(witness.slice(a, b).map((p, k) => [p, a + k]));
    for (const s of inside) priority.set(s, placed.at.get(s)! - 0.5);
    for (const s of w.misfits) lean(s, bounds.get(s)!, witness.slice(a, b), states, priority);
    // First end exactly where the witness did; failing that, anywhere of the same depth from which
    // the rest of the witness replays (values buried for good may then be ordered differently).
    const target = states[b]!;
    // The widest window gets one more try on a large budget: few windows get there.
    const widest = w.pad >= padMax;
    const stepsMax = widest ? windowStepsLast : Math.min(windowStepsMax, windowStepsPerOp * ops.length);
    const search = (accept: (state: StackState) => boolean, more: readonly Placed[]) => {
      const budget = { left: Math.min(stepsMax, total.left) };
      const found = searchNear([...ops, ...more], priority, states[a]!, accept, budget, lifo);
      total.left -= Math.min(stepsMax, total.left) - Math.max(0, budget.left);
      return found;
    };
    const exact = (state: StackState) => stackEqual(state, target);
    const sameDepth = (state: StackState) =>
      (state?.size ?? 0) === (target?.size ?? 0) && replays(witness, b, state, states);
    // The optional operations multiply the orders to try, so they come in last.
    const result =
      search(exact, []) ??
      search(sameDepth, []) ??
      (extra.length === 0 ? undefined : (search(exact, extra) ?? search(sameDepth, extra)));
    if (result !== undefined) {
      w.result = result;
      i++;
      continue;
    }
    if (widest || total.left <= 0) return { misfits: w.misfits };
    w.pad *= 2;
    w.result = undefined;
    while (i > 0 && end(windows[i - 1]!) >= start(w)) {
      absorb(w, windows.splice(i - 1, 1)[0]!);
      i--;
    }
    while (i + 1 < windows.length && start(windows[i + 1]!) <= end(w))
      absorb(w, windows.splice(i + 1, 1)[0]!);
  }
  const spans = windows.map((w) => ({ from: start(w), to: end(w), result: w.result! }));
  const outside = new Map(
    [...placed.at].filter(([, pos]) => !spans.some((x) => x.from <= pos && pos <= x.to)),
  );
  return { merged: merge(witness, outside, spans) };
}

/**
 * Orders a window's search around one misfit: the size read goes first where real time allows; if the
 * witness was too deep there, pushes that may come after it go after it and pops that may come before
 * it go before it, and the other way round if too shallow. The search then reads the size as soon as
 * the depth matches, and backtracks from there where that guess was wrong.
 */
function lean(
  size: Placed,
  misfit: { readonly from: number; readonly to: number },
  ops: readonly Placed[],
  states: readonly StackState[],
  priority: Map<Placed, number>,
): void {
  const at = misfit.from - 0.5;
  priority.set(size, at);
  const n = size.op.output?.kind === "size" ? size.op.output.size : 0;
  const tooDeep = (states[misfit.from]?.size ?? 0) > n;
  for (const p of ops) {
    const { op } = p;
    const mayFollow = p.op.output === undefined || p.last > size.call;
    const mayPrecede = p.call < size.last;
    if (op.input.op === "push" && (tooDeep ? mayFollow : mayPrecede))
      priority.set(p, tooDeep ? at + 0.25 : at - 0.25);
    if (op.input.op === "pop" && op.output?.kind !== "empty" && (tooDeep ? mayPrecede : mayFollow))
      priority.set(p, tooDeep ? at - 0.25 : at + 0.25);
  }
}

/**
 * Whether the witness from position `from` on replays legally from `state`; if so, `states` (the stack
 * before each position) is updated to follow it, for the windows further on.
 */
function replays(witness: readonly Placed[], from: number, state: StackState, states: StackState[]): boolean {
  const after: StackState[] = [state];
  for (let k = from; k < witness.length; k++) {
    const next = stepStack(after[after.length - 1]!, witness[k]!.op.input, witness[k]!.op.output);
    if (!next.ok) return false;
    after.push(next.state);
  }
  after.forEach((s, k) => {
    states[from + k] = s;
  });
  return true;
}

/** Folds window `other` into `w`: the union of their ranges and misfits, with the larger margin. */
function absorb(w: Window, other: Window): void {
  w.from = Math.min(w.from, other.from);
  w.to = Math.max(w.to, other.to);
  w.pad = Math.max(w.pad, other.pad);
  w.misfits.push(...other.misfits);
}

/** The witness with size reads inserted at their positions and windows replaced by their results. */
function merge(
  witness: readonly Placed[],
  at: ReadonlyMap<Placed, number>,
  spans: readonly { readonly from: number; readonly to: number; readonly result: readonly Placed[] }[],
): Placed[] {
  const bySlot = [...at.entries()].sort((a, b) => a[1] - b[1] || a[0].call - b[0].call);
  const out: Placed[] = [];
  let next = 0;
  let span = 0;
  for (let pos = 0; pos <= witness.length; pos++) {
    while (next < bySlot.length && bySlot[next]![1] === pos) out.push(bySlot[next++]![0]);
    const s = spans[span];
    if (s !== undefined && s.from === pos) {
      out.push(...s.result);
      pos = s.to - 1;
      span++;
      continue;
    }
    if (pos < witness.length) out.push(witness[pos]!);
  }
  return out;
}

/**
 * Inserts size reads into a linearization: each goes to the earliest position that respects real time
 * (after every operation that returned before its call, before every one called after its return, not
 * before an earlier size read) where the stack holds exactly the size it returned. The depth changes by
 * at most one per operation, so "a position with depth n in a range" is a min/max query.
 */
function placeSizes(
  witness: readonly Placed[],
  sizes: readonly Placed[],
): {
  readonly at: ReadonlyMap<Placed, number>;
  readonly misfits: readonly { readonly size: Placed; readonly from: number; readonly to: number }[];
} {
  const at = new Map<Placed, number>();
  const misfits: { size: Placed; from: number; to: number }[] = [];
  if (sizes.length === 0) return { at, misfits };
  const depth = [0];
  let d = 0;
  for (const p of witness) {
    const { input, output } = p.op;
    if (input.op === "push") d++;
    else if (input.op === "pop" && (output === undefined || output.kind === "value")) d--;
    depth.push(d);
  }
  const low = new MinTree(depth);
  const high = new MinTree(depth.map((x) => -x));
  const bounds = realTimeBounds(witness);
  const ordered = [...sizes].sort((a, b) => a.call - b.call);
  const byOwnReturn = [...sizes].sort((a, b) => a.last - b.last);
  let predecessors = 0;
  let predecessorMax = 0;
  for (const s of ordered) {
    while (predecessors < byOwnReturn.length && byOwnReturn[predecessors]!.last < s.call) {
      predecessorMax = Math.max(predecessorMax, at.get(byOwnReturn[predecessors]!) ?? 0);
      predecessors++;
    }
    const from = Math.max(bounds.earliest(s.call), predecessorMax);
    const to = bounds.latest(s.last);
    const n = s.op.output?.kind === "size" ? s.op.output.size : -1;
    let pos = -1;
    if (from <= to) {
      const startDepth = depth[from]!;
      if (startDepth === n) pos = from;
      else pos = startDepth < n ? high.findFirst(from, to, -n) : low.findFirst(from, to, n);
    }
    if (pos === -1) misfits.push({ size: s, from: Math.min(from, witness.length), to: Math.max(from, to) });
    else at.set(s, pos);
  }
  return { at, misfits };
}
