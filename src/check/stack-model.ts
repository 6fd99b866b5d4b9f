import type { Model } from "./checker.js";
import type { Operation } from "./history.js";

export type StackInput =
  | { readonly op: "push"; readonly stack: string; readonly value: string }
  | { readonly op: "pop"; readonly stack: string }
  | { readonly op: "top"; readonly stack: string }
  | { readonly op: "size"; readonly stack: string };

export type StackOutput =
  | { readonly kind: "ok" }
  | { readonly kind: "value"; readonly value: string }
  | { readonly kind: "empty" }
  | { readonly kind: "size"; readonly size: number };

/**
 * One stack as an immutable cons list; each cell carries the hash and size of the whole stack below and
 * including it, so hashing is O(1) and equality usually stops at a shared cell.
 */
export interface StackCell {
  readonly value: string;
  readonly below: StackCell | null;
  readonly size: number;
  readonly hash: number;
}

export type StackState = StackCell | null;

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function pushCell(below: StackState, value: string): StackCell {
  const size = (below?.size ?? 0) + 1;
  const hash = (Math.imul((below?.hash ?? 0) ^ size, 0x9e3779b1) + hashString(value)) >>> 0;
  return { value, below, size, hash };
}

function stackEqual(a: StackState, b: StackState): boolean {
  while (a !== b) {
    if (a === null || b === null || a.size !== b.size || a.hash !== b.hash || a.value !== b.value)
      return false;
    a = a.below;
    b = b.below;
  }
  return true;
}

const reject = (state: StackState) => ({ ok: false, state });
const accept = (state: StackState) => ({ ok: true, state });

function stepStack(state: StackState, input: StackInput, output: StackOutput | undefined) {
  switch (input.op) {
    case "push":
      return output === undefined || output.kind === "ok"
        ? accept(pushCell(state, input.value))
        : reject(state);
    case "pop":
      if (state === null)
        return output === undefined || output.kind === "empty" ? accept(state) : reject(state);
      return output === undefined || (output.kind === "value" && output.value === state.value)
        ? accept(state.below)
        : reject(state);
    case "top":
      if (output === undefined) return accept(state);
      if (state === null) return output.kind === "empty" ? accept(state) : reject(state);
      return output.kind === "value" && output.value === state.value ? accept(state) : reject(state);
    case "size":
      return output === undefined || (output.kind === "size" && output.size === (state?.size ?? 0))
        ? accept(state)
        : reject(state);
  }
}

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
 */
export const stackModel: Model<StackState, StackInput, StackOutput> = {
  init: () => null,
  step: stepStack,
  equal: stackEqual,
  hash: (state) => state?.hash ?? 0,
  partition: partitionByStack,
  describeOperation: describeStackOperation,
  describeState: describeStack,
};
