import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster, text } from "./harness.js";

describe("commit from heartbeats (issue 9 item 3)", () => {
  test("a follower that lost acknowledged entries commits from a heartbeat only what this leader confirmed, and does not crash", () => {
    const c = new Cluster(3, { seed: 4 });
    const term = c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `w${i}`);
    c.stabilize();
    c.tickAll(2);
    assert.equal(c.raft(2).log.committed, 6);
    // Node 2's log is gone but it kept its term (no recovering marker): the leader still believes
    // node 2 holds 6 entries and says so in its heartbeats.
    c.replaceDisk(2, { term, vote: 1, commit: 0 });
    c.tickAll(3); // before the fix: InvariantError "commit 6 is past the last index 0" on node 2
    assert.equal(c.raft(2).log.committed, 0);
    assert.ok(
      c.sent.some((m) => m.type === "heartbeat" && m.to === 2 && m.commit > 0),
      "the leader did promise more than node 2 holds",
    );
  });

  test("a follower restarted in an idle cluster learns the commit index once the leader probes it", () => {
    const c = new Cluster(3, { seed: 4 });
    c.elect(1);
    c.stabilize();
    c.propose(1, "x");
    c.process(1);
    c.deliver(); // the append reaches both followers
    c.processAll();
    c.deliver(); // both acknowledgements reach the leader, which commits "x"
    c.process(1);
    c.crash(3); // node 3 dies before the commit index rides on a message to it
    c.tickAll(2); // the leader's commit broadcast is lost on the dead node: the cluster is idle now
    const committed = c.raft(1).log.committed;
    assert.equal(c.raft(1).status().progress.get(3)?.match, committed, "the leader knows node 3 has it all");
    c.restart(3);
    assert.ok(c.raft(3).log.committed < committed);
    c.raft(1).reportUnreachable(3); // the transport saw node 3's connection drop
    c.tickAll(3);
    assert.equal(c.raft(3).log.committed, committed);
    assert.deepEqual(c.node(3).applied.map(text).slice(-1), ["x"]);
  });
});
