import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type CheckResult,
  checkHistory,
  type StackInput,
  type StackOutput,
  stackModel,
} from "../../src/check/index.js";
import type { StackOp } from "./fixtures.js";
import { duplicatePop, legal, lostPush, reappearing, staleRead } from "./hot.js";

/** Prints the time to decide; the tests assert verdicts only (`bench-hot.ts` measures, with size reads). */
function timed(label: string, history: readonly StackOp[]): CheckResult<StackInput, StackOutput> {
  const start = performance.now();
  const r = checkHistory(stackModel, history);
  console.log(`${label}: ${r.result} in ${(performance.now() - start).toFixed(0)} ms`);
  return r;
}

describe("hot stack: 100,000 ops, 16 clients, one stack, 1% unknown outcomes", { timeout: 300_000 }, () => {
  const base = legal();

  test("legal: ok", () => {
    assert.equal(timed("legal", base).result, "ok");
  });

  test("stale read (a value read after its pop returned): illegal, naming the read", () => {
    const { history, read } = staleRead(base);
    const r = timed("stale read", history);
    assert.equal(r.result, "illegal");
    if (r.result === "illegal") assert.ok(r.stuck.includes(history[read]!), r.explanation.slice(0, 3000));
  });

  test("duplicate pop: illegal", () => {
    assert.equal(timed("duplicate pop", duplicatePop(base)).result, "illegal");
  });

  test("lost push (acknowledged, never applied; no unknown outcomes): illegal", () => {
    assert.equal(timed("lost push", lostPush()).result, "illegal");
  });

  test("value reappears after an unknown pop removed it: illegal", () => {
    assert.equal(timed("reappearing value", reappearing(base)).result, "illegal");
  });
});
