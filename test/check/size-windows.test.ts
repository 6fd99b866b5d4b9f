import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkHistory, describeHistory, stackModel } from "../../src/check/index.js";
import { bruteForce } from "./brute-force.js";
import { done, empty, lost, ok, pop, push, type StackOp, size, sz, val } from "./fixtures.js";
import { generate } from "./generate.js";
import { mulberry32 } from "./simulate.js";

const label = (op: StackOp) => stackModel.describeOperation!(op.input, op.output);
const show = (history: readonly StackOp[]) =>
  describeHistory(history, { describe: stackModel.describeOperation! });

/**
 * checkHistory (fast decision first, the search for what it leaves undecided) answers as the exhaustive
 * oracle does, and does not throw.
 */
function assertAnswered(history: readonly StackOp[], truth: "ok" | "illegal"): void {
  assert.equal(bruteForce(history), truth === "ok", `oracle\n${show(history)}`);
  assert.equal(checkHistory(stackModel, history).result, truth, show(history));
}

/** The same, and the fast decision itself answers "ok" with its verified witness. */
function assertFastOk(history: readonly StackOp[]): void {
  assertAnswered(history, "ok");
  assert.equal(stackModel.decide!(history, label).kind, "ok", show(history));
}

// A size read that fits no position of the witness is re-searched in a window of the witness. Size reads
// placed exactly at a window's edge used to stay outside it: the window's result was spliced in after
// (or before) them, even where the misfit had to come before (after) them in real time, and the
// witness's self-check threw "witness places an operation after one called after it returned".
describe("size reads at the edge of a re-searched window", { timeout: 60_000 }, () => {
  test("sim seed 1086 (stack s0, shrunk from 189 ops): the earlier size read sits at the witness's end", () => {
    // The fixpoint's witness, push c9-27, pop c9-27, push c4-23, push c7-15, is 2 deep only at its end:
    // "size 2" goes there, and "size 1", called after it returned, fits no position from there on. Its
    // window ended where "size 2" sat. Linearizable: push c7-15, push c9-27, size 2, pop c9-27, size 1,
    // push c4-23.
    assertFastOk([
      done(7, 0, 11, push("c7-15"), ok),
      done(9, 1, 9, push("c9-27"), ok),
      done(4, 2, 10, push("c4-23"), ok),
      done(13, 3, 5, size(), sz(2)),
      done(8, 4, 6, pop(), val("c9-27")),
      done(10, 7, 8, size(), sz(1)),
    ]);
  });

  test("sim seed 1161 (stack s0, shrunk from 227 ops): the same shape", () => {
    assertFastOk([
      done(4, 0, 3, push("c4-13"), ok),
      done(6, 1, 11, push("c6-9"), ok),
      done(7, 2, 10, push("c7-10"), ok),
      done(11, 4, 6, size(), sz(2)),
      done(14, 5, 7, pop(), val("c4-13")),
      done(14, 8, 9, size(), sz(1)),
    ]);
  });

  test("the later size read placed at the witness's start, before the misfit's window", () => {
    // Witness: pop -> empty, push v0, pop v0; "size 1" must precede the empty pop's call, where the depth
    // is 0 (misfit); "size 0" then went to position 0. Linearizable: push, size 1, pop v0, pop empty,
    // size 0.
    assertFastOk([
      done(1, 0, 3, push("v0"), ok),
      done(2, 1, 1, size(), sz(1)),
      done(0, 2, 4, pop(), empty),
      done(2, 2, 5, size(), sz(0)),
      done(1, 3, 3, pop(), val("v0")),
    ]);
  });

  test("not linearizable: a size read after one that saw the only value, with no pop", () => {
    // The fast decision leaves it undecided (no window fits "size 0", and the necessary conditions on
    // size reads do not rule it out); the search finds it illegal.
    assertAnswered(
      [done(0, 0, 3, push("v1"), ok), done(2, 1, 2, size(), sz(1)), done(0, 3, 4, size(), sz(0))],
      "illegal",
    );
  });

  test("with an unknown pop that took effect between the size reads", () => {
    assertFastOk([
      done(0, 0, 3, push("v0"), ok),
      done(3, 1, 2, size(), sz(1)),
      lost(4, 2, pop()),
      done(3, 3, 4, size(), sz(0)),
    ]);
  });

  test("1,000 small histories full of size reads: answered, never thrown, as the oracle says", () => {
    // Before the fix, history 289 of these threw.
    const rand = mulberry32(3);
    let illegal = 0;
    for (let i = 0; i < 1000; i++) {
      const history = generate(rand, {
        ops: 3 + Math.floor(rand() * 7),
        clients: 2 + Math.floor(rand() * 4),
        unknownRate: 0.1,
        landedRate: 0.5,
        sizeRate: 0.4,
        topRate: 0.1,
        durationMax: 4,
        mutation: i % 2 === 0 ? "none" : "wrongSize",
      });
      const truth = bruteForce(history) ? "ok" : "illegal";
      if (truth === "illegal") illegal++;
      assertAnswered(history, truth);
    }
    console.log(`size-heavy: ${illegal} of 1000 illegal`);
    assert.ok(illegal >= 250, `${illegal} illegal`);
  });
});
