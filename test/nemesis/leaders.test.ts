// The election-safety check over node logs: two nodes that became leader in one term are found.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { sharedLeaderTerms, termsLed } from "./leaders.js";

const became = (term: number, to = "leader") =>
  JSON.stringify({ level: 30, type: "roleChanged", from: "candidate", to, term, msg: `became ${to}` });

test("termsLed reads the roleChanged-to-leader lines and skips the rest", () => {
  const text = [
    became(3),
    became(4, "follower"),
    "raftstack: TEST HOOKS ON",
    `${became(7).slice(0, 20)}`,
    became(9),
  ].join("\n");
  assert.deepEqual(termsLed(text), [3, 9]);
});

test("sharedLeaderTerms flags a term led by two nodes and nothing else", () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-leaders-"));
  try {
    writeFileSync(join(dir, "node-1.log"), [became(2), became(5)].join("\n"));
    writeFileSync(join(dir, "node-2.log"), [became(3), became(5)].join("\n"));
    writeFileSync(join(dir, "node-6.log"), became(4));
    writeFileSync(join(dir, "other.log"), became(2));
    assert.deepEqual(sharedLeaderTerms(dir), [{ term: 5, nodes: [1, 2] }]);
    rmSync(join(dir, "node-2.log"));
    assert.deepEqual(sharedLeaderTerms(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
