// The console's readable log lines: role changes, term bumps, refused votes and step-downs carry their reason.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEvent } from "../../src/node/index.js";

test("events read as sentences with their reasons", () => {
  assert.equal(
    describeEvent({ type: "roleChanged", term: 5, from: "candidate", to: "leader" }, 1),
    "became leader in term 5 (was candidate)",
  );
  assert.equal(
    describeEvent({ type: "termChanged", from: 4, to: 5, source: 1 }, 1),
    "term 4 → 5 (campaigning)",
  );
  assert.equal(
    describeEvent({ type: "termChanged", from: 4, to: 5, source: 3 }, 1),
    "term 4 → 5 (message from node 3)",
  );
  assert.equal(
    describeEvent({ type: "voteRefused", term: 5, candidate: 3, preVote: false, reason: "logBehind" }, 1),
    "refused vote to node 3 in term 5: the candidate's log is behind ours",
  );
  assert.equal(
    describeEvent({ type: "checkQuorumStepDown", term: 5, active: 1, quorum: 2 }, 1),
    "stepped down in term 5: heard from 1 voters, 2 needed, within an election timeout",
  );
  assert.equal(
    describeEvent({ type: "leaderChanged", term: 6, from: 1, to: 0 }, 2),
    "no leader in term 6 (was node 1)",
  );
});
