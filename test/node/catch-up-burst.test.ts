// A learner joining behind a long log must not make the leader encode that whole log in one turn of its
// event loop (bench:membership --trace showed 60-120 ms leader stalls, with as much CPU, as the learner
// first answered: every client write waited). With the node's raft limits, what the leader sends one
// follower in one step stays within one in-flight window plus one append.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nodeRaftLimits } from "../../src/node/index.js";
import { defaultRaftLimits, type Message, type RaftLimits } from "../../src/raft/index.js";
import { Cluster } from "../raft/harness.js";

const entries = 10_000;
const entryBytes = 100;

/** The largest number of entry bytes leader 1 sent node 4 in one step while node 4 caught up. */
function largestBurst(limits: RaftLimits): number {
  const c = new Cluster(3, { seed: 1, limits });
  c.elect(1);
  for (let done = 0; done < entries; done += 1000) {
    const datas = Array.from({ length: 1000 }, () => new Uint8Array(entryBytes));
    assert.equal(c.raft(1).propose(datas).ok, true);
    c.stabilize();
  }
  c.addNode(4);
  const added = c.raft(1).proposeConfChange({ op: "addLearner", id: 4, context: new Uint8Array(0) });
  assert.equal(added.ok, true);
  const toLearner = (ms: readonly Message[]) =>
    ms.reduce((sum, m) => sum + (m.type === "app" && m.to === 4 ? m.entries.length * entryBytes : 0), 0);
  let largest = 0;
  for (let round = 0; round < 10_000; round++) {
    const before = c.sent.length;
    c.process(1);
    largest = Math.max(largest, toLearner(c.sent.slice(before)));
    for (const id of [2, 3, 4]) c.process(id);
    if (c.queue.length === 0) break;
    c.deliver();
  }
  assert.ok(c.raft(4).status().lastIndex >= entries, "the learner caught up");
  return largest;
}

describe("catching a learner up", () => {
  test("the leader sends one follower at most one window plus one append per step", () => {
    const burst = largestBurst(nodeRaftLimits);
    assert.ok(
      burst <= nodeRaftLimits.inflightBytesMax + nodeRaftLimits.appendBytesMax,
      `the leader sent ${burst} bytes of entries in one step`,
    );
  });

  test("the core's defaults send more than that at once (the test can fail: what the node's limits avoid)", () => {
    const burst = largestBurst(defaultRaftLimits);
    const bound = nodeRaftLimits.inflightBytesMax + nodeRaftLimits.appendBytesMax;
    assert.ok(burst > bound, `the leader sent ${burst} bytes of entries in one step`);
  });
});
