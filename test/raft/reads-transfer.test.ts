import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster } from "./harness.js";

describe("ReadIndex (§6.4)", () => {
  test("§6.4 a leader answers a read once a heartbeat round confirms it, at its commit index, without writing to the log", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.propose(1, "a");
    c.stabilize();
    const lastIndex = c.raft(1).log.lastIndex();
    assert.deepEqual(c.raft(1).readIndex(42), { ok: true });
    c.process(1);
    assert.deepEqual(c.node(1).readStates, [], "served before leadership was confirmed");
    c.stabilize();
    assert.deepEqual(c.node(1).readStates, [{ index: c.raft(1).log.committed, context: 42 }]);
    assert.equal(c.raft(1).log.lastIndex(), lastIndex, "a read wrote to the log");
  });

  test("§6.4 a follower's read is confirmed by the leader and served at the leader's commit index", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.propose(1, "a");
    c.stabilize();
    c.raft(3).readIndex(7);
    c.stabilize();
    assert.deepEqual(c.node(3).readStates, [{ index: c.raft(1).log.committed, context: 7 }]);
  });

  test("§6.4 many reads arriving together share one heartbeat round", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.stabilize();
    c.sent = [];
    for (let i = 1; i <= 50; i++) c.raft(1).readIndex(i);
    c.stabilize();
    assert.equal(c.node(1).readStates.length, 50);
    assert.equal(c.sent.filter((m) => m.type === "heartbeat").length, 2);
  });

  test("§6.4 step 1: a new leader serves reads only after committing an entry of its term", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1, true); // the no-op has not replicated yet
    c.raft(1).readIndex(9);
    c.processAll();
    assert.equal(c.node(1).readStates.length, 0);
    for (let i = 0; i < 5 && c.node(1).readStates.length === 0; i++) {
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.node(1).readStates.length, 1);
    assert.equal(c.raft(1).log.term(c.node(1).readStates[0]?.index ?? 0), c.raft(1).term);
  });

  test("§6.4 ReadIndex under a deposed leader: a partitioned old leader never serves a read, even after a newer write", () => {
    const c = new Cluster(3, { seed: 2 });
    c.elect(1);
    c.stabilize();
    c.isolate(1);
    const newLeader = c.electAmong([2, 3]);
    c.propose(newLeader, "newer");
    c.stabilize();
    // The old leader still believes it leads (check-quorum has not fired yet) and is asked to read.
    assert.equal(c.raft(1).role, "leader");
    c.raft(1).readIndex(5);
    c.stabilize();
    assert.equal(c.node(1).readStates.length, 0);
    c.heal();
    c.tick(1);
    c.stabilize();
    assert.equal(c.node(1).readStates.length, 0, "a stale read was served");
    assert.equal(c.raft(1).role, "follower", "the old leader stepped down on seeing the newer term");
  });

  test("§6.4 without check-quorum's help the old leader still cannot confirm: its heartbeats are answered by a newer term", () => {
    const c = new Cluster(5, { seed: 3, checkQuorum: false });
    c.elect(1);
    c.stabilize();
    c.cut(1, 2);
    c.cut(1, 3);
    c.cut(1, 4);
    c.electAmong([2, 3, 4, 5]);
    c.stabilize();
    c.raft(1).readIndex(1);
    c.tick(1);
    c.stabilize();
    assert.equal(c.node(1).readStates.length, 0);
  });
});

test("§6.4 a deposed leader in a minority partition with one follower cannot gather a read quorum", () => {
  const c = new Cluster(5, { seed: 5, checkQuorum: false });
  c.elect(1);
  c.stabilize();
  for (const a of [1, 2]) for (const b of [3, 4, 5]) c.cut(a, b);
  const newLeader = c.electAmong([3, 4, 5]);
  c.propose(newLeader, "newer");
  c.stabilize();
  c.raft(1).readIndex(77);
  for (let i = 0; i < 5; i++) {
    c.tick(1);
    c.stabilize();
  }
  assert.equal(c.raft(1).role, "leader", "the old leader still believes it leads");
  assert.equal(c.node(1).readStates.length, 0, "a read was served with 2 of 5 acknowledgements");
});

describe("leadership transfer (dissertation §3.10)", () => {
  test("§3.10 transfer to an up-to-date follower: it campaigns at once and wins the next term", () => {
    const c = new Cluster(3, { seed: 4 });
    const term = c.elect(1);
    c.stabilize();
    assert.equal(c.raft(1).transferLeadership(3), true);
    c.stabilize();
    assert.equal(c.raft(3).role, "leader");
    assert.equal(c.raft(3).term, term + 1);
    assert.equal(c.raft(1).role, "follower");
  });

  test("§3.10 transfer to a lagging follower first catches it up, and proposals are refused meanwhile", () => {
    const c = new Cluster(3, { seed: 4 });
    c.elect(1);
    c.stabilize();
    c.crash(3);
    for (let i = 0; i < 20; i++) c.propose(1, `w${i}`);
    c.stabilize();
    c.restart(3);
    c.raft(1).transferLeadership(3);
    const refused = c.raft(1).propose([new Uint8Array(1)]);
    assert.equal(refused.ok, false);
    assert.equal(refused.ok === false && refused.error, "transfer_in_progress");
    for (let i = 0; i < 5 && c.raft(3).role !== "leader"; i++) {
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.raft(3).role, "leader");
    assert.equal(c.raft(3).log.lastIndex() >= 21, true);
  });

  test("§3.10 a transfer to an unreachable node is abandoned after an election timeout", () => {
    const c = new Cluster(3, { seed: 4 });
    c.elect(1);
    c.stabilize();
    c.crash(3);
    c.raft(1).transferLeadership(3);
    for (let i = 0; i < 25; i++) {
      c.tick(1);
      c.tick(2);
      c.stabilize();
    }
    assert.equal(c.raft(1).role, "leader");
    assert.equal(c.raft(1).propose([new Uint8Array(1)]).ok, true);
  });
});
