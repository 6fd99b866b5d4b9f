import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConfChange, ConfChangeOp, Entry, NodeId } from "../../src/raft/index.js";
import { Cluster, text } from "./harness.js";

// Found by an adversarial review of the membership code: each test reproduced a bug before its fix.

const cc = (op: ConfChangeOp, id: NodeId): ConfChange => ({ op, id, context: new Uint8Array(0) });

/** One Ready cycle only (a driver whose apply lags: one Ready per network round). */
function processOnce(c: Cluster, id: NodeId): void {
  const n = c.node(id);
  if (!n.up || !n.raft.hasReady()) return;
  const rd = n.raft.ready();
  c.queue.push(...rd.sendNow);
  n.storage.persist(rd);
  c.queue.push(...rd.sendAfterPersist);
  n.applied.push(...rd.committed);
  n.events.push(...rd.events);
  n.raft.advance();
}

/** Network rounds where `slow` handles one Ready per round and every other node all of them. */
function rounds(c: Cluster, slow: NodeId, count: number): void {
  for (let i = 0; i < count; i++) {
    for (const id of c.ids) {
      if (id === slow) processOnce(c, id);
      else c.process(id);
    }
    c.deliver();
  }
}

function settle(c: Cluster, leader: NodeId): void {
  c.stabilize();
  c.tick(leader);
  c.stabilize();
}

const hasText = (log: readonly Entry[], s: string) => log.some((e) => e.kind === "normal" && text(e) === s);

describe("membership review: reproductions", () => {
  // A voter campaigned with its *applied* configuration while committed config entries are
  // still waiting to be applied: an apply backlog spanning several Readies (each hands out at most
  // applyBytesMax, default 16 MiB; ticks and messages arrive between them; the test uses 1 byte to
  // make the backlog small). One Ready in flight alone is not enough: its vote requests leave only
  // after the advance() that applies the entries. Two committed changes later ({1,2,3} -> +4 -> +5) its stale configuration
  // {1,2,3} and the leader's {1,2,3,4,5} have disjoint majorities ({2,3} vs {1,4,5}): node 2 wins
  // term 2 without entry "x" that {1,4,5} committed in term 1 (Leader Completeness broken; its no-op
  // then commits at x's index with {2,3}). etcd refuses to campaign while committed-but-unapplied
  // conf changes exist (raft.go hup(): "pending configuration changes to apply"); canCampaign() now
  // does too. Failed before that fix ("node 2 leads term 2 with config [1,2,3] and no x").
  test("a voter with committed but unapplied config entries does not campaign under its stale config", () => {
    const c = new Cluster(3, { seed: 1, limits: { applyBytesMax: 1 } });
    c.elect(1);
    c.addNode(4);
    c.addNode(5);
    assert.equal(c.raft(1).proposeConfChange(cc("addLearner", 4)).ok, true);
    settle(c, 1);
    assert.equal(c.raft(1).proposeConfChange(cc("addLearner", 5)).ok, true);
    settle(c, 1);
    assert.deepEqual(c.raft(2).config.learners, [4, 5]);

    c.isolate(3);
    // A backlog of normal entries and the promotion of 4, sent to node 2 together.
    for (let i = 0; i < 40; i++) c.propose(1, `p${i}`);
    assert.equal(c.raft(1).proposeConfChange(cc("promote", 4)).ok, true);
    for (let i = 0; i < 10 && !c.raft(1).config.voters.includes(4); i++) rounds(c, 2, 1);
    assert.deepEqual(c.raft(1).config.voters, [1, 2, 3, 4], "leader applied the promotion of 4");
    assert.equal(c.raft(1).proposeConfChange(cc("promote", 5)).ok, true);
    for (let i = 0; i < 10 && !c.raft(1).config.voters.includes(5); i++) rounds(c, 2, 1);
    assert.deepEqual(c.raft(1).config.voters, [1, 2, 3, 4, 5], "leader applied the promotion of 5");
    assert.deepEqual(c.raft(2).config.voters, [1, 2, 3], "node 2 has not applied either promotion yet");
    assert.ok(c.raft(2).log.committed >= c.raft(1).configIndex - 1, "...though it knows they committed");

    // Partition {2,3} | {1,4,5}; "x" commits with 3 of 5 voters.
    c.heal();
    for (const a of [2, 3]) for (const b of [1, 4, 5]) c.cut(a, b);
    c.propose(1, "x");
    for (let i = 0; i < 5; i++) {
      c.tick(1);
      rounds(c, 2, 1);
    }
    const xIndex = c.logOf(1).find((e) => e.kind === "normal" && text(e) === "x")?.index ?? 0;
    assert.ok(xIndex > 0 && c.raft(1).log.committed >= xIndex, "x committed by {1,4,5}");

    // Node 2 (still applying its backlog) and node 3 time out.
    for (let i = 0; i < 60 && c.raft(2).role !== "leader"; i++) {
      c.tick(2);
      c.tick(3);
      rounds(c, 2, 1);
    }
    const leaderWithoutX = c.raft(2).role === "leader" && !hasText(c.logOf(2), "x");
    const config = JSON.stringify(c.raft(2).config.voters);
    // Its no-op then commits at x's index with {2,3}: two different committed entries at one index.
    for (let i = 0; i < 5; i++) {
      c.tick(2);
      rounds(c, 2, 1);
    }
    const atX = c.logOf(2).find((e) => e.index === xIndex);
    const conflict =
      c.raft(2).log.committed >= xIndex && atX !== undefined && !(atX.kind === "normal" && text(atX) === "x");
    assert.ok(
      !leaderWithoutX,
      `node 2 leads term 2 with config ${config} and no x (committed conflict at ${xIndex}: ${conflict})`,
    );
  });
});
