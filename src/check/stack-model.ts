import type { Model } from "./checker.js";
import type { Operation } from "./history.js";
import { decideStack } from "./stack-decide.js";
import { type StackInput, type StackOutput, type StackState, stackEqual, stepStack } from "./stack-spec.js";

export type { StackCell, StackInput, StackOutput, StackState } from "./stack-spec.js";

type StackOperation = Operation<StackInput, StackOutput>;

/**
 * Stacks are independent, so the history splits per stack name. Reads with unknown outcome constrain
 * nothing and are dropped, which keeps them from multiplying the search space.
 */
function partitionByStack(history: readonly StackOperation[]): StackOperation[][] {
  const byStack = new Map<string, StackOperation[]>();
  for (const op of history) {
    if (op.output === undefined && (op.input.op === "top" || op.input.op === "size")) continue;
    let ops = byStack.get(op.input.stack);
    if (ops === undefined) {
      ops = [];
      byStack.set(op.input.stack, ops);
    }
    ops.push(op);
  }
  return [...byStack.values()].map(dropUnobservedPushes);
}

/**
 * Without size reads, an unknown-outcome push whose value no known pop or top returned can be removed:
 * while its value sits in the stack no known op may see it on top, so any linearization that includes it
 * stays valid without it (the unknown pop that removed it, if any, then never happened). Such pushes
 * would otherwise be guessed in at every dead end of the search.
 */
function dropUnobservedPushes(ops: StackOperation[]): StackOperation[] {
  if (ops.some((op) => op.input.op === "size" && op.output !== undefined)) return ops;
  const observed = new Set<string>();
  for (const op of ops) if (op.output?.kind === "value") observed.add(op.output.value);
  return ops.filter(
    (op) => op.output !== undefined || op.input.op !== "push" || observed.has(op.input.value),
  );
}

function describeStackOperation(input: StackInput, output: StackOutput | undefined): string {
  const call =
    input.op === "push"
      ? `push(${input.stack}, ${JSON.stringify(input.value)})`
      : `${input.op}(${input.stack})`;
  if (output === undefined) return `${call} -> ? (unknown)`;
  switch (output.kind) {
    case "ok":
      return `${call} -> ok`;
    case "empty":
      return `${call} -> empty`;
    case "value":
      return `${call} -> ${JSON.stringify(output.value)}`;
    case "size":
      return `${call} -> ${output.size}`;
  }
}

/** Values shown from the top of a stack in reports; deeper values are elided. */
const describeValuesMax = 8;

function describeStack(state: StackState): string {
  const values: string[] = [];
  for (let c = state; c !== null && values.length < describeValuesMax; c = c.below)
    values.push(JSON.stringify(c.value));
  const elided = (state?.size ?? 0) - values.length;
  return `[${elided > 0 ? `…${elided} more, ` : ""}${values.reverse().join(", ")}] (top last)`;
}

/**
 * Sequential specification of named LIFO stacks: push → ok; pop/top → value or empty; size → n.
 * The state is one stack, so `partition` (per stack name) is what makes multi-stack histories correct.
 * `decide` settles a stack with unique pushed values in O(n log n) (see stack-decide.ts); the general
 * search takes what it leaves undecided.
 */
export const stackModel: Model<StackState, StackInput, StackOutput> = {
  init: () => null,
  step: stepStack,
  equal: stackEqual,
  hash: (state) => state?.hash ?? 0,
  partition: partitionByStack,
  describeOperation: describeStackOperation,
  describeState: describeStack,
  decide: decideStack,
};
