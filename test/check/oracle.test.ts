import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkHistory,
  describeHistory,
  type StackInput,
  type StackOutput,
  stackModel,
} from "../../src/check/index.js";
import { bruteForce } from "./brute-force.js";
import type { StackOp } from "./fixtures.js";
import { mulberry32 } from "./simulate.js";

/** A small execution with integer times (so intervals often touch), repeated values, then maybe corrupted. */
function randomHistory(rand: () => number): StackOp[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const n = 2 + Math.floor(rand() * 6);
  const planned = Array.from({ length: n }, (_, i) => {
    const call = Math.floor(rand() * 8);
    const ret = call + Math.floor(rand() * 4);
    const stack = rand() < 0.8 ? "s" : "t";
    const kind = pick(["push", "push", "pop", "pop", "top", "size"] as const);
    const input: StackInput =
      kind === "push" ? { op: "push", stack, value: pick(["a", "b", "c"]) } : { op: kind, stack };
    const unknown = rand() < 0.2;
    const effect =
      unknown && rand() < 0.5 ? Infinity : call + rand() * (unknown ? 10 : ret - call) + i * 1e-6;
    return {
      clientId: i,
      input,
      call,
      ret: unknown ? Infinity : ret,
      effect,
      output: undefined as StackOutput | undefined,
    };
  });
  const stacks = new Map<string, string[]>();
  for (const p of [...planned].sort((a, b) => a.effect - b.effect)) {
    if (p.effect === Infinity) break;
    const s = stacks.get(p.input.stack) ?? [];
    stacks.set(p.input.stack, s);
    const topValue = s[s.length - 1];
    const seen: StackOutput = topValue === undefined ? { kind: "empty" } : { kind: "value", value: topValue };
    if (p.input.op === "push") {
      s.push(p.input.value);
      p.output = { kind: "ok" };
    } else if (p.input.op === "pop") {
      s.pop();
      p.output = seen;
    } else if (p.input.op === "top") p.output = seen;
    else p.output = { kind: "size", size: s.length };
  }
  const history: StackOp[] = planned.map((p) => ({
    clientId: p.clientId,
    input: p.input,
    call: p.call,
    ret: p.ret,
    output: p.ret === Infinity ? undefined : p.output,
  }));
  const reads = history.flatMap((op, i) => (op.output !== undefined && op.input.op !== "push" ? [i] : []));
  if (reads.length > 0 && rand() < 0.7) {
    const i = pick(reads);
    const op = history[i]!;
    const output: StackOutput =
      op.input.op === "size"
        ? { kind: "size", size: Math.floor(rand() * 3) }
        : pick([{ kind: "empty" }, { kind: "value", value: pick(["a", "b", "c", "z"]) }]);
    history[i] = { ...op, output };
  }
  return history;
}

test("agrees with exhaustive search on 5,000 small random histories", { timeout: 60_000 }, () => {
  const rand = mulberry32(42);
  const verdicts = { ok: 0, illegal: 0 };
  for (let i = 0; i < 5000; i++) {
    const history = randomHistory(rand);
    const expected = bruteForce(history) ? "ok" : "illegal";
    const actual = checkHistory(stackModel, history).result;
    assert.equal(
      actual,
      expected,
      `case ${i}:\n${describeHistory(history, { describe: stackModel.describeOperation! })}`,
    );
    verdicts[expected]++;
  }
  // Both verdicts must be well represented or the comparison proves little.
  assert.ok(verdicts.ok > 1000 && verdicts.illegal > 1000, JSON.stringify(verdicts));
});
