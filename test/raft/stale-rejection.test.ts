// A node answers an append of an older term with a rejection of prevIndex 0 (raft.ts stepStale), meant to
// make a stale leader step down. Found by the nemesis (5 nodes, partition-bridge and partition-flap): the
// partition held the old leader's append in TCP retransmission; it arrived after the follower had moved to
// a new term by voting for that same node, now leader of that term, which took the answer for "this
// follower lost its log" and crashed (`progress next 0 not above match 0`).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster } from "./harness.js";

const [L, B] = [1, 2];

describe("a stale-term rejection reaching a leader of the responder's term", () => {
  test("is ignored: no crash, the follower's progress stays", () => {
    const c = new Cluster(3, { seed: 4 });
    const term = c.elect(L);
    for (let i = 0; i < 3; i++) c.propose(L, `push${i}`);
    c.stabilize();
    const before = c.raft(L).status().progress.get(B)?.match;
    assert.ok(before !== undefined && before > 0);
    c.raft(L).step({
      type: "appResp",
      from: B,
      to: L,
      term,
      reject: true,
      index: 0,
      hintIndex: 0,
      hintTerm: 0,
    });
    assert.equal(c.raft(L).role, "leader");
    assert.equal(c.raft(L).status().progress.get(B)?.match, before);
    c.propose(L, "push3");
    c.stabilize();
    assert.equal(c.raft(B).log.lastIndex(), c.raft(L).log.lastIndex());
  });

  test("is ignored while the follower is still probed from the start (match 0)", () => {
    const c = new Cluster(3, { seed: 5 });
    const term = c.elect(L);
    assert.doesNotThrow(() =>
      c
        .raft(L)
        .step({ type: "appResp", from: B, to: L, term, reject: true, index: 0, hintIndex: 0, hintTerm: 0 }),
    );
    c.propose(L, "push0");
    c.stabilize();
    assert.equal(c.raft(B).log.lastIndex(), c.raft(L).log.lastIndex());
  });
});
