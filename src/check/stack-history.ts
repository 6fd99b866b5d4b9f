import type { Operation } from "./history.js";
import type { StackInput, StackOutput } from "./stack-spec.js";

export type StackOperation = Operation<StackInput, StackOutput>;

/**
 * Time is discretized into slots: slot k is the open gap just before event k (calls before returns at
 * equal times, so touching intervals overlap), slot `events` lies after every event, and slot
 * `events + 1` after that is reserved for pops that happen "at the end" (values never popped, unknown
 * pops placed as late as possible). An operation may take effect in any slot of [first, last].
 */
export interface Placed {
  readonly op: StackOperation;
  /** Index of the call event: the op's first slot is `call + 1`. */
  readonly call: number;
  /** Last slot the op may take effect in: its return event's index, or `end` for unknown outcomes. */
  readonly last: number;
}

/** Everything one pushed value went through: its push, the reads that saw it on top, the pop that took it. */
export interface ValueOps {
  readonly value: string;
  readonly push: Placed;
  readonly tops: Placed[];
  /** The known pop that returned the value; undefined when no known pop did ("unmatched"). */
  pop: Placed | undefined;
  /** The earliest return among its known ops: the push took effect no later than this slot. */
  firstReturn: number;
  /** The latest call among its ops (push, tops, pop): the pop takes effect no earlier than this slot. */
  lastCall: number;
}

export interface IndexedStack {
  /** Number of events; slots run over 0..end. */
  readonly events: number;
  /** The slot after everything (`events + 1`). */
  readonly end: number;
  readonly values: ValueOps[];
  /** Known pops and tops that found the stack empty: the stack must be empty when they take effect. */
  readonly empties: Placed[];
  /** Pops with unknown outcome: each may have removed one value, any time after its call. */
  readonly unknownPops: Placed[];
  /** Known size reads. */
  readonly sizes: Placed[];
  /** Pushes with unknown outcome whose value no known op returned: they may have happened, or not. */
  readonly unseenPushes: Placed[];
}

/** Why the fast path does not apply or a violation that needs no search. */
export type IndexProblem =
  | { readonly kind: "repeated"; readonly value: string }
  | { readonly kind: "phantom"; readonly op: StackOperation }
  | { readonly kind: "duplicate"; readonly value: string; readonly ops: readonly StackOperation[] };

/** Sorts call and return events and returns, per op, its call event index and its last slot. */
function placeAll(ops: readonly StackOperation[]): { placed: Placed[]; events: number; end: number } {
  const times: { time: number; isCall: boolean; op: number }[] = [];
  ops.forEach((op, i) => {
    times.push({ time: op.call, isCall: true, op: i });
    if (op.output !== undefined) times.push({ time: op.ret, isCall: false, op: i });
  });
  times.sort((x, y) => x.time - y.time || Number(y.isCall) - Number(x.isCall) || x.op - y.op);
  const call = new Int32Array(ops.length);
  const ret = new Int32Array(ops.length);
  const events = times.length;
  const end = events + 1;
  times.forEach((e, k) => {
    if (e.isCall) call[e.op] = k;
    else ret[e.op] = k;
  });
  const placed = ops.map((op, i) => ({ op, call: call[i]!, last: op.output === undefined ? end : ret[i]! }));
  return { placed, events, end };
}

/**
 * Groups one stack's operations by pushed value. Returns a problem instead when pushed values repeat
 * (the fast path needs unique values), a known pop or top returns a value nobody pushed, or two known
 * pops return the same value.
 */
export function indexStack(ops: readonly StackOperation[]): IndexedStack | IndexProblem {
  const { placed, events, end } = placeAll(ops);
  const byValue = new Map<string, ValueOps>();
  for (const p of placed) {
    if (p.op.input.op !== "push") continue;
    const value = p.op.input.value;
    if (byValue.has(value)) return { kind: "repeated", value };
    const firstReturn = p.op.output === undefined ? end : p.last;
    byValue.set(value, { value, push: p, tops: [], pop: undefined, firstReturn, lastCall: p.call });
  }
  const empties: Placed[] = [];
  const unknownPops: Placed[] = [];
  const sizes: Placed[] = [];
  for (const p of placed) {
    const { input, output } = p.op;
    if (input.op === "push") continue;
    if (output === undefined) {
      // Unknown reads constrain nothing; an unknown pop may have removed one value.
      if (input.op === "pop") unknownPops.push(p);
      continue;
    }
    if (output.kind === "size") {
      sizes.push(p);
      continue;
    }
    if (output.kind !== "value") {
      empties.push(p);
      continue;
    }
    const v = byValue.get(output.value);
    if (v === undefined) return { kind: "phantom", op: p.op };
    if (input.op === "pop") {
      if (v.pop !== undefined) return { kind: "duplicate", value: v.value, ops: [v.pop.op, p.op] };
      v.pop = p;
    } else v.tops.push(p);
    v.firstReturn = Math.min(v.firstReturn, p.last);
    v.lastCall = Math.max(v.lastCall, p.call);
  }
  const values: ValueOps[] = [];
  const unseenPushes: Placed[] = [];
  for (const v of byValue.values()) {
    // A push of unknown outcome that no known op saw may be taken to have never happened (see
    // `dropUnobservedPushes`); only size reads could tell, and those are checked on a witness.
    if (v.push.op.output === undefined && v.pop === undefined && v.tops.length === 0)
      unseenPushes.push(v.push);
    else values.push(v);
  }
  return { events, end, values, empties, unknownPops, sizes, unseenPushes };
}
