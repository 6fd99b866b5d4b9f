import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkHistory, describeHistory, type Model, stackModel } from "../../src/check/index.js";
import { bruteForce } from "./brute-force.js";
import type { StackOp } from "./fixtures.js";
import { type GenOptions, generate, type Mutation, mutations } from "./generate.js";
import { mulberry32 } from "./simulate.js";

const decide = stackModel.decide!;
const label = (op: StackOp) => stackModel.describeOperation!(op.input, op.output);
const { decide: _fast, ...searchOnlyModel } = stackModel;
/** The same specification without the fast path: the general search decides everything. */
const searchOnly: Model<unknown, StackOp["input"], StackOp["output"] & object> = searchOnlyModel as never;

function show(history: readonly StackOp[]): string {
  return describeHistory(history, { describe: stackModel.describeOperation! });
}

/** The fast decision on the stack's partition, as checkHistory would call it. */
function fast(history: readonly StackOp[]) {
  return decide(stackModel.partition!(history)[0] ?? [], label);
}

type Tally = Record<"ok" | "illegal" | "undecided", number>;

describe("fast stack decision against exhaustive search", { timeout: 120_000 }, () => {
  const small = (mutation: Mutation, ops: number, clients: number): GenOptions => ({
    ops,
    clients,
    // A value can only reappear after an unknown pop that took effect: make those common there.
    unknownRate: mutation === "reappear" ? 0.4 : 0.2,
    landedRate: mutation === "reappear" ? 0.9 : 0.6,
    sizeRate: 0.1,
    topRate: 0.2,
    durationMax: 4,
    mutation,
  });

  for (const mutation of mutations) {
    test(`${mutation}: 1,000 small histories, verdicts match the oracle`, () => {
      const rand = mulberry32(1000 + mutations.indexOf(mutation));
      const tally: Tally = { ok: 0, illegal: 0, undecided: 0 };
      for (let i = 0; i < 1000; i++) {
        const history = generate(
          rand,
          small(mutation, 3 + Math.floor(rand() * 7), 2 + Math.floor(rand() * 3)),
        );
        const truth = bruteForce(history) ? "ok" : "illegal";
        const d = fast(history);
        tally[d.kind]++;
        if (d.kind !== "undecided")
          assert.equal(d.kind, truth, `case ${i}: fast says ${d.kind}\n${show(history)}`);
        assert.equal(checkHistory(stackModel, history).result, truth, `case ${i}\n${show(history)}`);
      }
      console.log(`${mutation}: ${JSON.stringify(tally)}`);
      // The fast path must decide nearly everything, and each mutation must produce violations.
      assert.ok(tally.undecided <= 50, JSON.stringify(tally));
      if (mutation !== "none") assert.ok(tally.illegal >= 100, JSON.stringify(tally));
      else assert.equal(tally.illegal, 0);
    });
  }
});

describe("fast stack decision against the general search", { timeout: 300_000 }, () => {
  test("700 medium histories (20-60 ops, 3-6 clients, unknown outcomes, sizes)", () => {
    const rand = mulberry32(77);
    const tally: Tally = { ok: 0, illegal: 0, undecided: 0 };
    let searched = 0;
    for (let i = 0; i < 700; i++) {
      const mutation = mutations[i % mutations.length]!;
      const history = generate(rand, {
        ops: 20 + Math.floor(rand() * 41),
        clients: 3 + Math.floor(rand() * 4),
        unknownRate: 0.08,
        landedRate: 0.5,
        sizeRate: 0.08,
        topRate: 0.2,
        durationMax: 6,
        mutation,
      });
      const d = fast(history);
      tally[d.kind]++;
      const search = checkHistory(searchOnly, history, { stepsMax: 200_000 });
      if (search.result === "unknown") continue;
      searched++;
      if (d.kind !== "undecided")
        assert.equal(d.kind, search.result, `case ${i} (${mutation}): fast says ${d.kind}\n${show(history)}`);
    }
    console.log(`medium: ${JSON.stringify(tally)}, ${searched} also decided by the search`);
    assert.ok(searched >= 500 && tally.undecided <= 35 && tally.illegal >= 200, JSON.stringify(tally));
  });
});
