import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type MutationName, runSimulation, type SimResult } from "../../src/sim/index.js";
import { assertSeedsPass } from "./helpers.js";

/** Sum of one membership counter over runs. */
function sum(results: readonly SimResult[], key: keyof SimResult["stats"]["membership"]): number {
  return results.reduce((n, r) => n + r.stats.membership[key], 0);
}

// Membership runs (--membership): spare nodes join as learners and are promoted, followers and leaders
// are removed, voters replaced, among partitions, crashes, pauses and message loss (docs/membership.md).
// Seeds 1..400 (3 nodes) and 1..150 (5 nodes) passed when this was written; npm test replays a few.
test("membership seeds on 3 and 5 nodes: no safety, liveness or linearizability violation", {
  timeout: 240_000,
}, async () => {
  const results = [
    ...(await assertSeedsPass(1, 24, { nodes: 3, membership: true })),
    ...(await assertSeedsPass(1, 6, { nodes: 5, membership: true })),
  ];
  // The runs must actually change the membership, or passing proves nothing (measured: 95 adds,
  // 13 leader removals, 55 replacements, 150 changes applied).
  const counts = `${JSON.stringify(results.map((r) => r.stats.membership))}`;
  assert.ok(sum(results, "adds") >= 40, counts);
  assert.ok(sum(results, "leaderRemoves") >= 4, counts);
  assert.ok(sum(results, "replaces") >= 20, counts);
  assert.ok(sum(results, "applied") >= 60, counts);
  const checked = results.filter((r) => r.linearizability === "ok").length;
  assert.ok(checked >= 27, `linearizability proven for only ${checked} of 30 histories`);
});

/**
 * Each deliberate membership bug must be caught (3 nodes, membership on). `found` is the first catching
 * seed when the case was set; scans start at `from` to keep npm test short.
 */
const cases: { mutation: MutationName; found: number; from: number; bound: number }[] = [
  // A second change computed from a stale configuration brings a removed node back as a voter.
  { mutation: "allowConcurrentConfChanges", found: 3, from: 1, bound: 150 },
  // Two learners plus the leader outvote two voters: caught as a leader-completeness violation.
  { mutation: "countLearnersInQuorum", found: 99, from: 90, bound: 400 },
];

describe("the simulator catches each membership mutation", () => {
  for (const { mutation, from, bound } of cases) {
    test(`${mutation} within seeds ${from}..${bound}`, { timeout: 240_000 }, async () => {
      for (let seed = from; seed <= bound; seed++) {
        const r = await runSimulation({ seed, nodes: 3, mutation, membership: true });
        if (!r.ok) {
          assert.notEqual(r.violation?.invariant, "exception", r.violation?.message);
          return;
        }
      }
      assert.fail(`${mutation} went unnoticed in seeds ${from}..${bound}`);
    });
  }
});
