import type { StackInput, StackOutput } from "../../src/check/index.js";
import type { StackOp } from "./fixtures.js";

/** Applies one op to a plain array stack; undefined output (unknown outcome) matches anything. */
function apply(
  stack: readonly string[],
  input: StackInput,
  output: StackOutput | undefined,
): string[] | null {
  const topValue = stack[stack.length - 1];
  const seen: StackOutput = topValue === undefined ? { kind: "empty" } : { kind: "value", value: topValue };
  const matches = (expected: StackOutput) =>
    output === undefined || JSON.stringify(output) === JSON.stringify(expected);
  switch (input.op) {
    case "push":
      return matches({ kind: "ok" }) ? [...stack, input.value] : null;
    case "pop":
      return matches(seen) ? stack.slice(0, -1) : null;
    case "top":
      return matches(seen) ? [...stack] : null;
    case "size":
      return matches({ kind: "size", size: stack.length }) ? [...stack] : null;
  }
}

/** Exhaustive definition of linearizability: try every order that respects real time; unknown ops optional. */
export function bruteForce(history: readonly StackOp[]): boolean {
  const used = history.map(() => false);
  const stacks = new Map<string, string[]>();
  const rec = (knownLeft: number): boolean => {
    if (knownLeft === 0) return true;
    for (const [i, op] of history.entries()) {
      if (used[i]) continue;
      const mustWait = history.some((o, j) => !used[j] && o.output !== undefined && o.ret < op.call);
      if (mustWait) continue;
      const before = stacks.get(op.input.stack) ?? [];
      const after = apply(before, op.input, op.output);
      if (after === null) continue;
      used[i] = true;
      stacks.set(op.input.stack, after);
      if (rec(knownLeft - (op.output === undefined ? 0 : 1))) return true;
      stacks.set(op.input.stack, before);
      used[i] = false;
    }
    return false;
  };
  return rec(history.filter((op) => op.output !== undefined).length);
}
