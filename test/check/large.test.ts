import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkHistory, stackModel } from "../../src/check/index.js";
import { simulate } from "./simulate.js";

function timed<T>(label: string, f: () => T): T {
  const start = performance.now();
  const result = f();
  console.log(`${label}: ${(performance.now() - start).toFixed(0)} ms`);
  return result;
}

describe("large simulated histories", { timeout: 120_000 }, () => {
  const base = { opsTotal: 10_000, clients: 8, stacks: 10, unknownRate: 0 };

  test("10,000 ops over 10 stacks, 8 clients: ok", () => {
    const history = simulate({ ...base, seed: 1 });
    const r = timed("10k ops / 10 stacks / 8 clients", () => checkHistory(stackModel, history));
    assert.equal(r.result, "ok", r.result === "illegal" ? r.explanation.slice(0, 2000) : "");
    console.log(`  steps: ${r.steps}`);
  });

  test("10,000 ops over 10 stacks with 2% unknown outcomes that all landed late: ok", () => {
    const history = simulate({ ...base, seed: 2, unknownRate: 0.02, landedRate: 1 });
    const r = timed("10k ops / 10 stacks / 2% unknown, all landed", () => checkHistory(stackModel, history));
    assert.equal(r.result, "ok", r.result === "illegal" ? r.explanation.slice(0, 2000) : "");
    console.log(`  steps: ${r.steps}`);
  });

  test("10,000 ops over 10 stacks with 2% unknown outcomes that never landed: ok", () => {
    const history = simulate({ ...base, seed: 2, unknownRate: 0.02, landedRate: 0 });
    const r = timed("10k ops / 10 stacks / 2% unknown, none landed", () => checkHistory(stackModel, history));
    assert.equal(r.result, "ok", r.result === "illegal" ? r.explanation.slice(0, 2000) : "");
    console.log(`  steps: ${r.steps}`);
  });

  test("10,000 ops over 10 stacks with 1% unknown outcomes, half landed: ok", () => {
    // Mixed landed/lost unknowns are the expensive case: the search must guess which ones happened.
    const history = simulate({ ...base, seed: 5, unknownRate: 0.01, landedRate: 0.5 });
    const r = timed("10k ops / 10 stacks / 1% unknown, half landed", () =>
      checkHistory(stackModel, history, { stepsMax: 5_000_000 }),
    );
    assert.equal(r.result, "ok", r.result === "illegal" ? r.explanation.slice(0, 2000) : "");
    console.log(`  steps: ${r.steps}`);
  });

  test("10,000 ops on one stack, 3 clients: ok", () => {
    const history = simulate({ ...base, seed: 3, stacks: 1, clients: 3 });
    const r = timed("10k ops / 1 stack / 3 clients", () => checkHistory(stackModel, history));
    assert.equal(r.result, "ok", r.result === "illegal" ? r.explanation.slice(0, 2000) : "");
    console.log(`  steps: ${r.steps}`);
  });

  test("one phantom pop in 10,000 ops is found", () => {
    const history = simulate({ ...base, seed: 4 });
    const victim = history.findIndex(
      (op, i) => i > 5000 && op.input.op === "pop" && op.output?.kind === "value",
    );
    const bad = history[victim]!;
    history[victim] = { ...bad, output: { kind: "value", value: "never-pushed" } };
    const r = timed("10k ops with a phantom pop", () => checkHistory(stackModel, history));
    assert.equal(r.result, "illegal");
    if (r.result === "illegal") assert.ok(r.stuck.includes(history[victim]!));
  });

  test("one duplicated pop in 10,000 ops is found", () => {
    const history = simulate({ ...base, seed: 5 });
    const pops = history.flatMap((op, i) =>
      op.input.op === "pop" && op.output?.kind === "value" ? [i] : [],
    );
    const a = history[pops[1000]!]!;
    const dupe = pops.find((i) => i > pops[1000]! && history[i]!.input.stack === a.input.stack)!;
    history[dupe] = { ...history[dupe]!, output: a.output };
    const r = timed("10k ops with a duplicated pop", () => checkHistory(stackModel, history));
    assert.equal(r.result, "illegal");
  });
});
