import {
  type DescribeOperation,
  describeHistory,
  describeOperation,
  type Operation,
  validateHistory,
} from "./history.js";

/**
 * A sequential specification. `step` applies `input` to `state` and says whether `output` is what the
 * specification allows; `output === undefined` (unknown outcome) must match any output.
 */
export interface Model<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | undefined): { readonly ok: boolean; readonly state: S };
  equal(a: S, b: S): boolean;
  /** 32-bit hash consistent with `equal`. */
  hash(state: S): number;
  /** Splits a history into independent sub-histories (P-compositionality); default: one partition. */
  partition?(history: readonly Operation<I, O>[]): Operation<I, O>[][];
  describeOperation?: DescribeOperation<I, O>;
  describeState?(state: S): string;
  /**
   * A model-specific decision procedure for one partition, tried before the search. `label` names an
   * operation as the report does. An "illegal" decision names a small `core` of the partition that is
   * itself not linearizable; the search re-checks it to print the usual prefix/stuck report.
   */
  decide?(partition: readonly Operation<I, O>[], label: (op: Operation<I, O>) => string): FastDecision<I, O>;
}

export type FastDecision<I, O> =
  | { readonly kind: "ok"; readonly method: string }
  | {
      readonly kind: "illegal";
      readonly core: readonly Operation<I, O>[];
      /** The operations the violation is about, reported as `stuck` when the core is too big to search. */
      readonly offending: readonly Operation<I, O>[];
      readonly reason: string;
    }
  | { readonly kind: "undecided"; readonly reason: string };

export interface CheckOptions {
  /** Search budget in model steps across all partitions; exhausting it yields "unknown". */
  readonly stepsMax?: number;
  /** Search budget in milliseconds as measured by `now`; exhausting it yields "unknown". */
  readonly timeMsMax?: number;
  /** Clock for `timeMsMax` (defaults to performance.now). */
  readonly now?: () => number;
}

export type CheckResult<I, O> =
  | { readonly result: "ok"; readonly steps: number }
  | {
      readonly result: "illegal";
      readonly steps: number;
      /** The smallest partition that has no linearization. */
      readonly partition: readonly Operation<I, O>[];
      /** Longest linearizable prefix the search found, in linearization order. */
      readonly linearized: readonly Operation<I, O>[];
      /** Operations that were minimal after that prefix, none of which could be linearized next. */
      readonly stuck: readonly Operation<I, O>[];
      readonly explanation: string;
    }
  | { readonly result: "unknown"; readonly steps: number; readonly reason: string };

/** Entries of the doubly linked list of call and return events, ordered by time. */
class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  /** For a call entry, its return entry; null for return entries. */
  match: Entry | null = null;
  constructor(
    readonly id: number,
    readonly isCall: boolean,
    readonly time: number,
  ) {}
}

interface CacheEntry<S> {
  readonly bits: Uint32Array;
  readonly state: S;
}

interface Budget {
  steps: number;
  readonly stepsMax: number;
  readonly deadline: number;
  readonly now: () => number;
}

/**
 * Partitions a model's `decide` left undecided and longer than this are not searched: the search's memo
 * fills `memoBytesMax` before it gets anywhere on them, after seconds of work.
 */
const searchOpsMax = 20_000;
/** How often (in steps) the clock is read; reading it every step would dominate the search. */
const clockCheckSteps = 1024;
/**
 * Memory the search's memo may take: one bitset of the linearized set per visited node, so a long
 * partition fills it in few steps. Reaching it yields "unknown" rather than an out-of-memory crash.
 */
const memoBytesMax = 512 * 1024 * 1024;

type PartitionOutcome<S> =
  | { readonly kind: "ok" }
  | { readonly kind: "unknown"; readonly reason: string }
  | { readonly kind: "illegal"; readonly prefix: readonly number[]; readonly state: S };

function lift(entry: Entry): void {
  entry.prev!.next = entry.next;
  entry.next!.prev = entry.prev;
  const ret = entry.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

function unlift(entry: Entry): void {
  const ret = entry.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  entry.prev!.next = entry;
  entry.next!.prev = entry;
}

/** Builds the event list: by time, calls before returns at equal times (touching intervals overlap). */
function buildList<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, id) => {
    const call = new Entry(id, true, op.call);
    const ret = new Entry(id, false, op.output === undefined ? Infinity : op.ret);
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.id - b.id);
  const head = new Entry(-1, false, -Infinity);
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Per-operation random words whose XOR hashes the linearized set incrementally (Zobrist hashing). */
function zobristWords(count: number): Uint32Array {
  const words = new Uint32Array(count);
  let x = 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    x = (x + 0x6d2b79f5) | 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    words[i] = t ^ (t >>> 14);
  }
  return words;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function seen<S, I, O>(
  model: Model<S, I, O>,
  bucket: readonly CacheEntry<S>[],
  bits: Uint32Array,
  state: S,
): boolean {
  for (const c of bucket) if (sameBits(c.bits, bits) && model.equal(c.state, state)) return true;
  return false;
}

/**
 * Wing & Gong / Lowe depth-first search for a linearization of one partition, memoizing visited
 * (linearized set, state) pairs. Unknown-outcome operations need not be linearized at all.
 */
function searchPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: Budget,
): PartitionOutcome<S> {
  const head = buildList(ops);
  const zobrist = zobristWords(ops.length);
  const bits = new Uint32Array((ops.length + 31) >>> 5);
  let bitsHash = 0;
  const cache = new Map<number, CacheEntry<S>[]>();
  let memoBytes = 0;
  const stackEntries: Entry[] = [];
  const stackStates: S[] = [];
  let knownRemaining = ops.reduce((n, op) => n + (op.output === undefined ? 0 : 1), 0);
  let state = model.init();
  // Longest prefix seen; only the part above `lowWater` (deepest untouched depth) is recopied.
  const best: number[] = [];
  let bestState = state;
  let lowWater = 0;
  let entry = head.next;
  // Candidates are tried in two passes, known-outcome ops first: unknown ones may never have happened,
  // so they are linearized only when the known ops get stuck without them.
  let unknownPass = false;

  while (knownRemaining > 0) {
    if (entry === null) throw new Error("checker: event list ended while known operations remain");
    if (!entry.isCall) {
      if (!unknownPass) {
        unknownPass = true;
        entry = head.next;
        continue;
      }
      // A return event reached before its call was linearized: undo the latest choice.
      const undone = stackEntries.pop();
      if (undone === undefined) return { kind: "illegal", prefix: best, state: bestState };
      state = stackStates.pop()!;
      bits[undone.id >>> 5]! &= ~(1 << (undone.id & 31));
      bitsHash ^= zobrist[undone.id]!;
      unlift(undone);
      if (ops[undone.id]!.output !== undefined) knownRemaining++;
      lowWater = Math.min(lowWater, stackEntries.length);
      unknownPass = ops[undone.id]!.output === undefined;
      entry = undone.next;
      continue;
    }
    const op = ops[entry.id]!;
    if ((op.output === undefined) !== unknownPass) {
      entry = entry.next;
      continue;
    }
    budget.steps++;
    if (budget.steps > budget.stepsMax)
      return { kind: "unknown", reason: `stepsMax ${budget.stepsMax} reached` };
    if (budget.steps % clockCheckSteps === 0 && budget.now() > budget.deadline) {
      return { kind: "unknown", reason: "timeMsMax reached" };
    }
    const next = model.step(state, op.input, op.output);
    if (next.ok) {
      const word = entry.id >>> 5;
      const mask = 1 << (entry.id & 31);
      bits[word]! |= mask;
      const nextHash = bitsHash ^ zobrist[entry.id]!;
      const key = (nextHash ^ Math.imul(model.hash(next.state), 0x9e3779b1)) >>> 0;
      let bucket = cache.get(key);
      if (bucket === undefined) {
        bucket = [];
        cache.set(key, bucket);
      }
      if (!seen(model, bucket, bits, next.state)) {
        memoBytes += bits.byteLength;
        if (memoBytes > memoBytesMax)
          return { kind: "unknown", reason: `memo of the search reached ${memoBytesMax} bytes` };
        bucket.push({ bits: bits.slice(), state: next.state });
        stackEntries.push(entry);
        stackStates.push(state);
        state = next.state;
        bitsHash = nextHash;
        lift(entry);
        if (op.output !== undefined) knownRemaining--;
        if (stackEntries.length > best.length) {
          best.length = lowWater;
          for (let i = lowWater; i < stackEntries.length; i++) best.push(stackEntries[i]!.id);
          bestState = state;
          lowWater = stackEntries.length;
        }
        unknownPass = false;
        entry = head.next;
        continue;
      }
      bits[word]! &= ~mask;
    }
    entry = entry.next;
  }
  return { kind: "ok" };
}

/** Steps per operation granted to the known-only attempt before falling back to the full search. */
const knownOnlyStepsPerOp = 50;

/**
 * Unknown-outcome ops may never have happened, so a linearization of the known ops alone proves the
 * partition linearizable. Trying that first, on a small budget, avoids guessing unknown ops in at every
 * dead end of the search when (as is common) none of them is needed.
 */
function knownOnlySuffices<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: Budget,
): boolean {
  const known = ops.filter((op) => op.output !== undefined);
  if (known.length === ops.length) return false;
  const capped: Budget = {
    ...budget,
    stepsMax: Math.min(budget.stepsMax, budget.steps + knownOnlyStepsPerOp * ops.length),
  };
  const outcome = searchPartition(model, known, capped);
  budget.steps = Math.min(capped.steps, capped.stepsMax);
  return outcome.kind === "ok";
}

/** Checks that `history` is linearizable with respect to `model`. Never returns a false verdict. */
export function checkHistory<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  validateHistory(history);
  const now = options.now ?? (() => performance.now());
  const budget: Budget = {
    steps: 0,
    stepsMax: options.stepsMax ?? Infinity,
    deadline: options.timeMsMax === undefined ? Infinity : now() + options.timeMsMax,
    now,
  };
  // Smallest partitions first: the first failure found is then the smallest one to report.
  const partitions = (model.partition?.(history) ?? [[...history]]).sort((a, b) => a.length - b.length);
  let ids: Map<Operation<I, O>, number> | undefined;
  const label = (op: Operation<I, O>): string => {
    ids ??= new Map(history.map((o, i) => [o, i]));
    return describeOperation(op, ids.get(op) ?? -1, model.describeOperation);
  };
  // Fast decisions first, for every partition: a violation they find is reported even when the search
  // would have run out of budget on some other partition.
  const decisions = partitions.map((ops) => model.decide?.(ops, label));
  for (const [i, fast] of decisions.entries())
    if (fast?.kind === "illegal") return explainCore(model, history, partitions[i]!, fast, budget);
  for (const [i, ops] of partitions.entries()) {
    const fast = decisions[i];
    if (fast?.kind === "ok") continue;
    if (budget.steps >= budget.stepsMax)
      return { result: "unknown", steps: budget.steps, reason: "stepsMax reached" };
    if (fast?.kind === "undecided" && ops.length > searchOpsMax)
      return {
        result: "unknown",
        steps: budget.steps,
        reason: `${fast.reason}; the search is not tried on ${ops.length} operations (more than ${searchOpsMax})`,
      };
    if (knownOnlySuffices(model, ops, budget)) continue;
    const outcome = searchPartition(model, ops, budget);
    if (outcome.kind === "unknown") {
      const why =
        fast?.kind === "undecided" ? `${fast.reason}; then the search: ${outcome.reason}` : outcome.reason;
      return { result: "unknown", steps: budget.steps, reason: why };
    }
    if (outcome.kind === "illegal") return explainIllegal(model, history, ops, outcome, budget.steps);
  }
  return { result: "ok", steps: budget.steps };
}

/** Cores up to this many operations are re-checked by the search; bigger ones are reported as listed. */
const coreSearchOpsMax = 400;
/** Step budget of that re-check (it only shapes the report; the decision is already made). */
const coreSearchStepsMax = 2_000_000;

/**
 * Reports a violation found by `model.decide`: the search re-runs on its core to print the usual
 * prefix and stuck operations. A core the search can linearize is a checker bug, so it throws.
 */
function explainCore<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  partition: readonly Operation<I, O>[],
  fast: Extract<FastDecision<I, O>, { kind: "illegal" }>,
  budget: Budget,
): CheckResult<I, O> {
  const order = new Map(history.map((op, i) => [op, i]));
  const core = [...new Set(fast.core)].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  const header = `${fast.reason}\nviolation core: ${core.length} of the partition's ${partition.length} operations`;
  if (core.length <= coreSearchOpsMax) {
    const coreBudget: Budget = { ...budget, steps: 0, stepsMax: coreSearchStepsMax, deadline: Infinity };
    const outcome = searchPartition(model, core, coreBudget);
    budget.steps += coreBudget.steps;
    if (outcome.kind === "ok")
      throw new Error(`checker: decide() reported a violation the search linearizes:\n${header}`);
    if (outcome.kind === "illegal") {
      const r = explainIllegal(model, history, core, outcome, budget.steps, "violation core");
      if (r.result !== "illegal") throw new Error("checker: explainIllegal returned no violation");
      return { ...r, partition, explanation: `${header}\n${r.explanation}` };
    }
  }
  const describe = model.describeOperation;
  const listing = describeHistory(core, {
    ids: order,
    ...(describe === undefined ? {} : { describe }),
    linesMax: 200,
  });
  return {
    result: "illegal",
    steps: budget.steps,
    partition,
    linearized: [],
    stuck: fast.offending,
    explanation: `${header}\n${listing}`,
  };
}

/** The explanation shows only the end of a long prefix: the failure is about what comes right before it. */
const prefixLinesMax = 50;

function explainIllegal<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  ops: readonly Operation<I, O>[],
  outcome: { readonly prefix: readonly number[]; readonly state: S },
  steps: number,
  what = "partition",
): CheckResult<I, O> {
  const ids = new Map(history.map((op, i) => [op, i]));
  const describe = model.describeOperation;
  const line = (op: Operation<I, O>): string => describeOperation(op, ids.get(op) ?? -1, describe);
  const showState = (s: S): string => model.describeState?.(s) ?? JSON.stringify(s);

  const done = new Set(outcome.prefix);
  const remaining = ops.filter((_, i) => !done.has(i));
  // Minimal operations after the prefix: called no later than the earliest pending known return.
  const firstReturn = remaining.reduce(
    (t, op) => (op.output === undefined ? t : Math.min(t, op.ret)),
    Infinity,
  );
  const stuck = remaining.filter((op) => op.call <= firstReturn);
  const linearized = outcome.prefix.map((i) => ops[i]!);

  const out: string[] = [`not linearizable: ${what} of ${ops.length} operations`];
  out.push(`longest linearizable prefix (${linearized.length} of ${ops.length}):`);
  let state = model.init();
  const shownFrom = linearized.length - prefixLinesMax;
  if (shownFrom > 0) out.push(`  ... ${shownFrom} earlier operations`);
  linearized.forEach((op, i) => {
    state = model.step(state, op.input, op.output).state;
    if (i >= shownFrom) out.push(`  ${line(op)}   => ${showState(state)}`);
  });
  out.push(`state after prefix: ${showState(outcome.state)}`);
  out.push("could not linearize next:");
  for (const op of stuck) {
    const why = model.step(outcome.state, op.input, op.output).ok
      ? "allowed here, but no linearization continues from it"
      : "output not allowed in this state";
    out.push(`  ${line(op)}   (${why})`);
  }
  out.push(`${what} history:`);
  out.push(describeHistory(ops, { ids, ...(describe === undefined ? {} : { describe }), linesMax: 200 }));
  return { result: "illegal", steps, partition: ops, linearized, stuck, explanation: out.join("\n") };
}
