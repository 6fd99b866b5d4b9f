import type { FastDecision } from "./checker.js";
import { coverCounts, criticalRanges } from "./critical-ranges.js";
import { MinTree } from "./segment-tree.js";
import { type Removed, removeBottoms, type Stuck } from "./stack-fixpoint.js";
import { guidedSearch, popDeadlines } from "./stack-guided.js";
import { type IndexedStack, indexStack, type Placed, type StackOperation } from "./stack-history.js";
import { fitSizes } from "./stack-sizes.js";
import type { StackInput, StackOutput } from "./stack-spec.js";
import { deadlines, tokenShortage } from "./stack-tokens.js";
import { composeWitness, realTimeBounds, resolveMarkers, verifyWitness } from "./stack-witness.js";

type Decision = FastDecision<StackInput, StackOutput>;
type Label = (op: StackOperation) => string;

/** Step budget of the search guided by a near-miss witness: per operation, plus a constant. */
const guidedStepsPerOp = 20;
const guidedStepsBase = 200_000;
/**
 * Orders in which the fixpoint may remove values, each a guess of the order they went in (see
 * removeBottoms): the witnesses differ, and a size read that fits none of one may fit another's.
 */
const removalGuesses = ["return", "pop", "push"] as const;
/** Steps the re-searched windows of all witnesses may take: per operation, plus a constant. */
const sizeStepsPerOp = 50;
const sizeStepsBase = 200_000;
/** Above this many operations, size reads the windows could not place are not searched for further. */
const guidedOpsMaxForSizes = 5_000;

/** Values named in one explanation; a longer list is cut. */
const namedValuesMax = 12;

/**
 * Decides one stack's history in O(n log n) when pushed values are unique:
 * 1. a value popped twice or never pushed is illegal at once;
 * 2. unmatched values (no known pop returned them) that provably had to leave the stack by some instant
 *    need as many unknown-outcome pops called before it, else illegal;
 * 3. the bottom-value fixpoint; unmatched values stay in the stack unless a stuck core needs one gone,
 *    which may then leave after the first unknown pop's call (a relaxation of what unknown pops
 *    allow): stuck with nothing left to release → illegal;
 * 4. otherwise a witness linearization is composed from it; the unmatched values that leave in it get
 *    distinct unknown pops that can sit there; size reads are inserted (re-searching windows where
 *    they misfit, and trying the witnesses of other removal orders); the witness is verified by
 *    replay → ok;
 * 5. where the witness misses (unmatched values no unknown pop can serve there, size reads that fit
 *    nowhere in it), a depth-first search tries orders near it → ok if it finds one (verified);
 * 6. then necessary conditions on size reads → illegal; anything else (and repeated values) is
 *    "undecided" and goes to the general search.
 */
export function decideStack(ops: readonly StackOperation[], label: Label): Decision {
  const stack = indexStack(ops);
  if ("kind" in stack) {
    switch (stack.kind) {
      case "repeated":
        return { kind: "undecided", reason: `value ${JSON.stringify(stack.value)} is pushed more than once` };
      case "phantom":
        return {
          kind: "illegal",
          core: [stack.op],
          offending: [stack.op],
          reason: `${label(stack.op)} returned a value that no operation pushed`,
        };
      case "duplicate": {
        const push = ops.find((op) => op.input.op === "push" && op.input.value === stack.value)!;
        const core = [push, ...stack.ops];
        return {
          kind: "illegal",
          core,
          offending: stack.ops,
          reason: `value ${JSON.stringify(stack.value)} was pushed once but popped twice: ${stack.ops.map(label).join(" and ")}`,
        };
      }
    }
  }
  const byDeadline = deadlines(stack);
  const shortage = tokenShortage(byDeadline, stack.unknownPops);
  if (shortage !== undefined) {
    const { needed, available } = shortage;
    const last = needed[needed.length - 1]!;
    const core = new Set<StackOperation>(available.map((p) => p.op));
    for (const d of needed) {
      const involved = d.below === undefined ? [d.value] : [d.value, d.below];
      for (const i of involved) for (const op of valueOps(stack, i)) core.add(op);
      core.add(d.witness.op);
    }
    const lines = needed.slice(0, namedValuesMax).map((d) => {
      const v = stack.values[d.value]!;
      return `  ${JSON.stringify(v.value)} (${label(v.push.op)}) must be gone before ${label(d.witness.op)}`;
    });
    return {
      kind: "illegal",
      core: [...core],
      offending: [last.witness.op],
      reason: [
        `${needed.length} values that no known pop returned must have left the stack by ${label(last.witness.op)}, ` +
          `but only ${available.length} pops of unknown outcome were called before then:`,
        ...lines,
      ].join("\n"),
    };
  }
  // Unmatched values stay in the stack unless the fixpoint needs them gone; then they may leave after
  // the first unknown pop's call. Stuck even so, the history is illegal (see removeBottoms).
  const first = stack.unknownPops.reduce<Placed | undefined>(
    (a, b) => (a === undefined || b.call < a.call ? b : a),
    undefined,
  );
  const run = removeBottoms(stack, first?.call, "return");
  if (!run.ok) return explainStuck(stack, run, first, label);
  const rerun = (guess: "push" | "pop"): Removed => {
    const again = removeBottoms(stack, first?.call, guess);
    if (!again.ok) throw new Error("checker: the fixpoint's verdict depends on the order of removals");
    return again;
  };
  const composed = composeWitness(stack, run);
  const resolved = resolveMarkers(composed, stack.unknownPops);
  // A witness holds every known operation and whichever unknown-outcome ones it lets happen.
  const known = [...stack.empties, ...stack.sizes];
  for (const v of stack.values) known.push(v.push, ...v.tops, ...(v.pop === undefined ? [] : [v.pop]));
  const withUnknowns = (witness: readonly Placed[]) => [
    ...known.filter((p) => p.op.output !== undefined),
    ...witness.filter((p) => p.op.output === undefined),
  ];
  // Size reads go into the witness; where that fails, into one built from another guess of the order
  // values went in (the fixpoint's verdict is the same, its witness differs).
  let misfits: readonly Placed[] = [];
  const windowSteps = { left: sizeStepsPerOp * ops.length + sizeStepsBase };
  for (const guess of stack.sizes.length === 0 ? (["return"] as const) : removalGuesses) {
    const witness =
      guess === "return" ? resolved : resolveMarkers(composeWitness(stack, rerun(guess)), stack.unknownPops);
    if (!("witness" in witness) || windowSteps.left <= 0) break;
    const used = new Set(witness.witness);
    const optional = [...stack.unseenPushes, ...stack.unknownPops.filter((p) => !used.has(p))];
    const fitted = fitSizes(witness.witness, stack.sizes, optional, popDeadlines(stack), windowSteps);
    if ("merged" in fitted) {
      verifyWitness(fitted.merged, withUnknowns(fitted.merged));
      return { kind: "ok", method: `stack fixpoint with a verified witness (${guess} order)` };
    }
    misfits = fitted.misfits;
  }
  // Search near the witness as a whole: unknown pops are tried where the rest is stuck, size reads
  // first where real time first allows them. For size reads alone, on a long history, the windows
  // above were the better tool and this search would only spend seconds.
  if ("witness" in resolved && ops.length > guidedOpsMaxForSizes)
    return sizeBounds(stack, label) ?? undecidedSizes(misfits, label);
  const base = "witness" in resolved ? resolved.witness : composed.filter((e) => typeof e !== "number");
  const priority = new Map<Placed, number>(base.map((p, k) => [p, k]));
  const bounds = realTimeBounds(base);
  for (const s of stack.sizes) priority.set(s, bounds.earliest(s.call) - 0.5);
  const stepsMax = guidedStepsPerOp * ops.length + guidedStepsBase;
  const found = guidedSearch(stack, priority, stepsMax);
  if (found !== undefined) {
    verifyWitness(found, withUnknowns(found));
    return { kind: "ok", method: "search guided by the fixpoint's witness" };
  }
  const tried = `; a search guided by the witness gave up after ${stepsMax} steps`;
  if ("witness" in resolved) return sizeBounds(stack, label) ?? undecidedSizes(misfits, label, tried);
  return {
    kind: "undecided",
    reason:
      `${resolved.unserved.length} values no known pop returned, e.g. ` +
      `${describeValue(stack, resolved.unserved[0]!, label)}, leave the stack in the witness ` +
      `linearization where no pop of unknown outcome can remove them${tried}`,
  };
}

function undecidedSizes(misfits: readonly Placed[], label: Label, tried = ""): Decision {
  return {
    kind: "undecided",
    reason:
      `${misfits.length} size reads fit no re-linearized window of the witness ` +
      `(first: ${label(misfits[0]!.op)})${tried}`,
  };
}

/** The operations of value i: push, tops, known pop. */
function valueOps(stack: IndexedStack, i: number): StackOperation[] {
  const v = stack.values[i]!;
  return [v.push.op, ...v.tops.map((t) => t.op), ...(v.pop === undefined ? [] : [v.pop.op])];
}

function describeValue(stack: IndexedStack, i: number, label: Label): string {
  const v = stack.values[i]!;
  const pop = v.pop === undefined ? "no known pop" : `popped by ${label(v.pop.op)}`;
  const tops = v.tops.length === 0 ? "" : `, seen by ${v.tops.length} top(s)`;
  return `${JSON.stringify(v.value)} (pushed by ${label(v.push.op)}, ${pop}${tops})`;
}

function explainStuck(stack: IndexedStack, stuck: Stuck, token: Placed | undefined, label: Label): Decision {
  const values = stuck.kind === "empty" ? stuck.cover : stuck.core;
  const core = values.flatMap((i) => valueOps(stack, i));
  // The relaxation let unmatched values leave after `token`'s call: the core keeps that pop.
  if (token !== undefined && values.some((i) => stack.values[i]!.pop === undefined)) core.push(token.op);
  const named = values.slice(0, namedValuesMax);
  const more = values.length > named.length ? `\n  ... ${values.length - named.length} more values` : "";
  if (stuck.kind === "empty") {
    core.push(stuck.empty.op);
    return {
      kind: "illegal",
      core,
      offending: [stuck.empty.op],
      reason:
        `${label(stuck.empty.op)} found the stack empty, but at every instant it could take effect one of ` +
        `these values was surely in the stack (pushed before, popped after):\n` +
        named.map((i) => `  ${describeValue(stack, i, label)}`).join("\n") +
        more,
    };
  }
  return {
    kind: "illegal",
    core,
    offending: values.flatMap((i) => valueOps(stack, i)),
    reason:
      "no value of this set can be at the bottom of the others (each is blocked by values of the set " +
      "surely in the stack when it would have to take effect):\n" +
      named.map((i) => `  ${describeValue(stack, i, label)}: ${stuck.why.get(i)}`).join("\n") +
      more,
  };
}

/**
 * Necessary conditions on size reads, used when the witness could not take them: at some instant of its
 * interval a size read n needs at most n values surely in the stack (in the relaxation where unmatched
 * values may leave after the first unknown pop) and at least n values possibly in it.
 */
function sizeBounds(stack: IndexedStack, label: Label): Decision | undefined {
  const { values, end } = stack;
  const firstToken = stack.unknownPops.reduce((t, p) => Math.min(t, p.call), stack.events);
  const { lo, hi } = criticalRanges(stack, new Int32Array(values.length).fill(firstToken));
  const surely = new MinTree(coverCounts(end + 1, lo, hi));
  const possibleFrom = [...values.map((v) => v.push.call + 1), ...stack.unseenPushes.map((p) => p.call + 1)];
  const possibleTo = [...values.map((v) => v.pop?.last ?? end), ...stack.unseenPushes.map(() => end)];
  const possibly = new MinTree(coverCounts(end + 1, possibleFrom, possibleTo).map((x) => -x));
  for (const s of stack.sizes) {
    const n = s.op.output?.kind === "size" ? s.op.output.size : 0;
    const [l, r] = [s.call + 1, s.last];
    if (surely.findFirst(l, r, n) === -1) {
      const present = values.flatMap((_, i) => (lo[i]! <= r && hi[i]! >= l ? [i] : []));
      return {
        kind: "illegal",
        core: [s.op, ...present.flatMap((i) => valueOps(stack, i))],
        offending: [s.op],
        reason: `${label(s.op)} returned ${n}, but more values were surely in the stack at every instant it could take effect`,
      };
    }
    if (possibly.findFirst(l, r, -n) === -1) {
      const core = [s.op];
      values.forEach((_, i) => {
        if (possibleFrom[i]! <= r && possibleTo[i]! >= l) core.push(...valueOps(stack, i));
      });
      return {
        kind: "illegal",
        core,
        offending: [s.op],
        reason: `${label(s.op)} returned ${n}, but fewer values could have been in the stack at every instant it could take effect`,
      };
    }
  }
  return undefined;
}
