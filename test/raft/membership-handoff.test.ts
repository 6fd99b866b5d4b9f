import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConfChange, ConfChangeOp, Message, NodeId } from "../../src/raft/index.js";
import { assertLogMatching, assertStateMachineSafety, Cluster } from "./harness.js";

// Hand-off of a removed leader and promotion of learners (issue 11 review, items a and b). Each test
// failed before its fix (see the commit messages).

const cc = (op: ConfChangeOp, id: NodeId): ConfChange => ({ op, id, context: new Uint8Array(0) });

function settle(c: Cluster, leader: NodeId): void {
  c.stabilize();
  c.tick(leader);
  c.stabilize();
}

/** Delivers only the messages `from` sent; the others stay queued. */
function deliverFrom(c: Cluster, from: NodeId): void {
  const keep: Message[] = [];
  const batch = c.queue;
  c.queue = [];
  for (const m of batch) {
    if (m.from === from && c.canDeliver(m)) c.raft(m.to).step(m);
    else keep.push(m);
  }
  c.queue.push(...keep);
}

describe("membership: hand-off of a removed leader", () => {
  // Scenario: leader 1 of {1,2,3} removes itself. Node 2 acknowledges the removal, the leader commits
  // it, a tick sends 2 the new commit index, the leader applies the removal and sends TimeoutNow at
  // once (2 holds its whole log). Node 2 steps both messages before its driver has applied the
  // removal (one Ready per batch of messages, as a real driver does): with committed config entries
  // unapplied it may not campaign (26ad546), so it dropped TimeoutNow, the removed leader had stepped
  // down, and the cluster waited a whole election timeout without a leader. Now the target keeps the
  // TimeoutNow until its apply catches up (within an election timeout) and then campaigns.
  test("a target with the removal committed but not yet applied campaigns as soon as it applies it", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.propose(1, "a");
    settle(c, 1);
    assert.equal(c.raft(1).proposeConfChange(cc("remove", 1)).ok, true);
    c.processAll();
    c.deliver(); // the removal reaches 2 and 3
    c.processAll();
    c.deliver(); // their acknowledgements reach 1: committed there
    c.tick(1); // the commit index goes out with the next Ready...
    c.process(1); // ...which also hands the removal out: applied, hand-off, TimeoutNow to 2
    assert.ok(c.node(1).events.some((e) => e.type === "removedLeaderStepsDown" && e.to === 2));
    assert.ok(c.queue.some((m) => m.type === "timeoutNow" && m.to === 2));
    deliverFrom(c, 1); // 2 steps the new commit index and TimeoutNow together, nothing applied yet
    assert.ok(c.raft(2).log.committed > c.raft(2).log.applied);
    c.stabilize(); // no tick: only the hand-off can elect a leader
    assert.deepEqual(c.leaders(), [2], "the hand-off target leads without an election timeout");
    assert.deepEqual(c.raft(2).config.voters, [2, 3]);
    c.propose(2, "b");
    settle(c, 2);
    assertLogMatching(c);
    assertStateMachineSafety(c);
  });

  // Scenario: the removal is applied just after a check-quorum round cleared every follower's
  // recentActive flag (tickLeader, once per election timeout) and before any follower answered again.
  // The hand-off looked only at recently active voters, found none, and stepped down without a
  // TimeoutNow: no leader for an election timeout although both voters were up and held the whole log.
  // Now a recently active voter is preferred, and without one the most caught-up voter is the target.
  test("without a recently active voter, the hand-off still goes to the most caught-up voter", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.propose(1, "a");
    settle(c, 1);
    assert.equal(c.raft(1).proposeConfChange(cc("remove", 1)).ok, true);
    c.processAll();
    c.deliver();
    c.processAll();
    c.deliver(); // committed on 1; 2 and 3 are active in this round
    c.tick(1, 10); // one check-quorum round passes (it clears the flags) and nobody answers after it
    c.process(1);
    const handOff = c.node(1).events.find((e) => e.type === "removedLeaderStepsDown");
    assert.ok(handOff?.type === "removedLeaderStepsDown" && handOff.to !== 0, "a target was chosen");
    c.stabilize(); // no tick
    assert.deepEqual(c.leaders(), [handOff.to], "the most caught-up voter leads without an election timeout");
    assertStateMachineSafety(c);
  });
});

describe("membership: a deferred TimeoutNow (cold review of 2ec386d)", () => {
  /** Leader 1 of {1,2,3} removes itself; 2 steps the commit and TimeoutNow before applying: deferred. */
  function deferredAt2(): { c: Cluster; term: number } {
    const c = new Cluster(3, { seed: 1 });
    const term = c.elect(1);
    c.propose(1, "a");
    settle(c, 1);
    assert.equal(c.raft(1).proposeConfChange(cc("remove", 1)).ok, true);
    c.processAll();
    c.deliver();
    c.processAll();
    c.deliver();
    c.tick(1);
    c.process(1);
    deliverFrom(c, 1);
    assert.ok(c.raft(2).log.committed > c.raft(2).log.applied);
    assert.equal(c.raft(2).hasReady(), true);
    return { c, term };
  }

  const transferCampaigns = (c: Cluster, id: NodeId) =>
    c.node(id).events.filter((e) => e.type === "campaignStarted" && e.kind === "transfer").length;

  // Scenario: another node's campaign (here a transfer vote of term+1, which passes the lease) reaches
  // the target between TimeoutNow and its apply. The TimeoutNow belongs to the old term: after the
  // apply the target must not campaign on it. Passed when written (reset() clears the deferral);
  // failed with that line removed (node 2 started a transfer campaign in term+2).
  test("a term change drops it: the target does not campaign on an old term's TimeoutNow", () => {
    const { c, term } = deferredAt2();
    c.raft(2).step({
      type: "vote",
      from: 3,
      to: 2,
      term: term + 1,
      preVote: false,
      transfer: true,
      lastIndex: 0,
      lastTerm: 0,
    });
    assert.equal(c.raft(2).term, term + 1);
    c.process(2); // applies the removal
    assert.ok(
      c.node(2).events.some((e) => e.type === "transferRefused" && e.reason === "configUnapplied"),
      "the TimeoutNow was deferred",
    );
    assert.equal(transferCampaigns(c, 2), 0);
    assert.equal(c.raft(2).role, "follower");
  });

  // Scenario: the target's apply takes longer than an election timeout (the leader's own limit for a
  // transfer). Passed when written.
  test("it lapses after an election timeout: a later apply starts no transfer campaign", () => {
    const { c } = deferredAt2();
    c.tick(2, 10);
    c.process(2);
    assert.equal(transferCampaigns(c, 2), 0);
    assert.equal(c.raft(2).role, "follower");
    c.tickAll(30); // an ordinary election follows
    assert.equal(c.leaders().length, 1);
    assertStateMachineSafety(c);
  });
});

describe("membership: promotion is checked by the core", () => {
  // Scenario: learner 4 is added and then cut off (crashed, or a slow link) while the cluster goes on
  // writing; an operator promotes it by hand. Only the driver's automatic promotion checked catch-up,
  // so the core appended the promotion: {1,2,3,4} with a voter that holds nothing new, and with one
  // more voter down (2) commits stop although three of four voters are "up". Now the core refuses any
  // promotion of a learner that did not answer recently, lacks the applied configuration entry or
  // lags by more than promoteLagEntriesMax, with `learner_behind`.
  test("a learner that lags, never answered, or lacks its configuration entry is refused with learner_behind", () => {
    const c = new Cluster(3, { seed: 1, limits: { promoteLagEntriesMax: 4 } });
    c.elect(1);
    c.addNode(4);
    c.isolate(4);
    assert.equal(c.raft(1).proposeConfChange(cc("addLearner", 4)).ok, true);
    settle(c, 1);
    const empty = c.raft(1).proposeConfChange(cc("promote", 4));
    assert.deepEqual(empty, { ok: false, error: "learner_behind", leader: 1 }, "nothing acknowledged yet");
    c.heal();
    settle(c, 1);
    c.isolate(4);
    for (let i = 0; i < 10; i++) c.propose(1, `w${i}`);
    settle(c, 1);
    const behind = c.raft(1).proposeConfChange(cc("promote", 4));
    assert.deepEqual(behind, { ok: false, error: "learner_behind", leader: 1 }, "10 entries behind, limit 4");
    assert.deepEqual(c.raft(1).config.voters, [1, 2, 3]);
    c.heal();
    settle(c, 1);
    assert.equal(c.raft(1).proposeConfChange(cc("promote", 4)).ok, true, "caught up: promoted");
    settle(c, 1);
    assert.deepEqual(c.raft(1).config.voters, [1, 2, 3, 4]);
  });

  // Scenario (cold review of 4c1b250): learner 4 caught up, answered, then crashed in an idle cluster
  // (no writes, so no lag). The check-quorum round cleared only the voters' recentActive flags, so a
  // learner that answered once in the term stayed "active" forever and the promotion of a dead
  // learner was accepted: one more voter that can acknowledge nothing. Now every round clears the
  // learners' flags too. Failed before (the promotion was appended).
  for (const checkQuorum of [true, false])
    test(`a learner silent for a whole check-quorum round is refused although it lags nothing (checkQuorum ${checkQuorum})`, () => {
      const c = new Cluster(3, { seed: 1, checkQuorum });
      c.elect(1);
      c.addNode(4);
      assert.equal(c.raft(1).proposeConfChange(cc("addLearner", 4)).ok, true);
      settle(c, 1);
      c.tickAll(2);
      assert.equal(c.raft(1).status().progress.get(4)?.recentActive, true, "4 answered");
      assert.equal(c.raft(1).status().progress.get(4)?.match, c.raft(1).log.lastIndex(), "4 lags nothing");
      c.crash(4);
      c.tickAll(25); // two check-quorum rounds (electionTicks 10) without an answer from 4
      const dead = c.raft(1).proposeConfChange(cc("promote", 4));
      assert.deepEqual(dead, { ok: false, error: "learner_behind", leader: 1 });
      c.restart(4);
      c.tickAll(3);
      assert.equal(c.raft(1).proposeConfChange(cc("promote", 4)).ok, true, "answering again: promoted");
    });
});

describe("membership: the no-campaign-while-unapplied rule (26ad546) cannot block elections", () => {
  // Review of 26ad546: a node restarts with committed config entries in its log above its snapshot
  // (applied = snapshot index), so it may not campaign until its driver has applied them again. The
  // wait must end with the first Readies: it campaigns then, and the cluster elects without it being
  // stuck. Passed when written (a guard, not a bug fix).
  test("a restarted node with committed config entries to re-apply campaigns once it has applied them", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.addNode(4);
    assert.equal(c.raft(1).proposeConfChange(cc("addLearner", 4)).ok, true);
    settle(c, 1);
    assert.equal(c.raft(1).proposeConfChange(cc("promote", 4)).ok, true);
    settle(c, 1);
    assert.deepEqual(c.raft(2).config.voters, [1, 2, 3, 4]);
    c.crash(1);
    c.restart(2);
    assert.deepEqual(c.raft(2).config.voters, [1, 2, 3, 4], "configuration from the committed log");
    assert.ok(c.raft(2).log.committed > c.raft(2).log.applied, "config entries to re-apply");
    const sentBefore = c.sent.length;
    c.tick(2, 40); // no Ready processed: it must not campaign
    c.processAll();
    c.deliver();
    assert.ok(
      !c.sent.slice(sentBefore).some((m) => m.type === "vote" && m.from === 2),
      "no campaign while unapplied",
    );
    const leader = c.electAmong([2, 3, 4]);
    assert.ok([2, 3, 4].includes(leader));
    c.propose(leader, "after restart");
    settle(c, leader);
    assertStateMachineSafety(c);
  });
});
