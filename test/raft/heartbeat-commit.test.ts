import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster, text } from "./harness.js";

describe("commit from heartbeats (issue 9 item 3)", () => {
  test("a recovering follower that the leader believes holds more than it does commits from a heartbeat only what this leader confirmed", () => {
    const c = new Cluster(3, { seed: 4 });
    const term = c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `w${i}`);
    c.stabilize();
    c.tickAll(2);
    assert.equal(c.raft(2).log.committed, 6);
    // Node 2's log is lost and repaired, but the damage hid its current term: it restarts (one term
    // above the recovered one) in the leader's own term, and the leader still believes it holds 6.
    c.replaceDisk(2, { term: term - 1, vote: 0, commit: 0, recovering: true });
    assert.equal(c.raft(2).term, term);
    c.tickAll(3); // before the fix: InvariantError "commit 6 is past the last index 0" on node 2
    assert.equal(c.raft(2).log.committed, 0);
    assert.ok(
      c.sent.some((m) => m.type === "heartbeat" && m.to === 2 && m.commit > 0),
      "the leader did promise more than node 2 holds",
    );
  });

  test("a follower that lost acknowledged entries without a repair stops (fail-stop on an impossible state)", () => {
    const c = new Cluster(3, { seed: 4 });
    const term = c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `w${i}`);
    c.stabilize();
    c.tickAll(2);
    c.replaceDisk(2, { term, vote: 1, commit: 0 }); // no recovering marker: the disk lied
    assert.throws(() => c.tickAll(3), /acknowledged entries were lost without a repair/);
  });

  test("...even when an append reaches it first: the leader refills it only after a heartbeat claimed what it acknowledged", () => {
    const c = new Cluster(3, { seed: 4 });
    const term = c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `w${i}`);
    c.stabilize();
    c.tickAll(2);
    c.replaceDisk(2, { term, vote: 1, commit: 0 });
    c.propose(1, "next"); // its append reaches node 2 before any heartbeat; node 2 rejects it
    c.stabilize();
    assert.deepEqual(
      c.node(1).events.filter((e) => e.type === "followerLostEntries"),
      [{ type: "followerLostEntries", term, follower: 2, match: 6, lastIndex: 0 }],
    );
    assert.equal(c.raft(2).log.lastIndex(), 0, "not refilled before the claim was heard");
    assert.throws(() => c.tickAll(3), /acknowledged entries were lost without a repair/);
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
