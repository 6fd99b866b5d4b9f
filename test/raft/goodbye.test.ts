import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConfChange, Message, NodeId } from "../../src/raft/index.js";
import { assertLogMatching, assertStateMachineSafety, Cluster, encodeAppliedSnapshot } from "./harness.js";

// The leader's answer to a removed member's late acknowledgement of its removal (raft/membership.ts,
// sayGoodbye): these tests replay such acknowledgements duplicated, reordered, from an earlier term, and
// after the removed node restarted, and check the answer never makes the node commit what it does not
// hold (follower.ts, handleHeartbeat throws on a commit index past its log) and stays bounded.

const remove = (id: NodeId): ConfChange => ({ op: "remove", id, context: new Uint8Array() });

const isAckFrom3 = (m: Message): boolean => m.type === "appResp" && m.from === 3;

/**
 * 3 voters led by 1; node 1 removes 3 while 3's append acknowledgements are held back, so 1 and 2
 * commit and apply the removal and 1's goodbye heartbeat tells 3 less than its removal entry.
 * Returns the held acknowledgements and the removal entry's index.
 */
function removeWithAcksHeld(c: Cluster): { held: Message[]; removalIndex: number } {
  c.elect(1);
  assert.equal(c.raft(1).proposeConfChange(remove(3)).ok, true);
  const removalIndex = c.raft(1).log.lastIndex();
  const held: Message[] = [];
  for (let round = 0; round < 50; round++) {
    c.processAll();
    if (round === 10) c.tick(1);
    c.deliver((m) => {
      if (!isAckFrom3(m)) return true;
      held.push(m);
      return false;
    });
  }
  assert.deepEqual(c.raft(1).config.voters, [1, 2]);
  assert.ok(
    held.some((m) => m.type === "appResp" && m.index >= removalIndex),
    "3 acknowledged its removal",
  );
  assert.deepEqual(c.raft(3).config.voters, [1, 2, 3], "the first goodbye told 3 too little");
  return { held, removalIndex };
}

/** The leader's goodbyes to 3 (heartbeats, and the empty append that commits its removal) since `from`. */
const goodbyesTo3 = (c: Cluster, from: number): Message[] =>
  c.sent.slice(from).filter((m) => (m.type === "heartbeat" || m.type === "app") && m.to === 3);

describe("raft: the goodbye to a removed member whose acknowledgement arrives late", () => {
  test("duplicated and reordered late acks: one goodbye commits the removal, the rest get no answer", () => {
    const c = new Cluster(3, { seed: 1, preVote: false });
    const { held, removalIndex } = removeWithAcksHeld(c);
    const before = c.sent.length;
    // Newest first, then all of them again oldest first: every copy reaches the leader.
    c.queue.push(...[...held].reverse(), ...held);
    c.stabilize();
    assert.deepEqual(c.raft(3).config.voters, [1, 2], "the removed node learns its removal");
    assert.ok(c.raft(3).log.committed >= removalIndex);
    // The newest ack is answered with the removal's commit and the member is forgotten: the 2n-1 other
    // copies (and 3's heartbeat answers) get nothing, so a chatty removed node costs the leader nothing.
    const answers = goodbyesTo3(c, before);
    assert.equal(answers.length, 1, `answers: ${JSON.stringify(answers)}`);
    // Later copies, even after a new append from the leader, are still ignored.
    c.propose(1, "after");
    c.stabilize();
    c.queue.push(...held);
    c.stabilize();
    assert.equal(goodbyesTo3(c, before).length, 1);
    assertLogMatching(c);
    assertStateMachineSafety(c);
  });

  test("an ack from an earlier term of the same leader is not answered, even while it says goodbye", () => {
    // 2 leads in term t1 cut off from 1, 4 and 5: x, y, z reach only 3, which acknowledges them (index
    // past what the later terms give 3). 1 then leads (t2) and overwrites them on 2 and 3; 2 leads again
    // (t3) and gives 3 its empty entry, then removes 3 while cut from it, so its goodbye is pending.
    // 3's old t1 acknowledgement of z arriving now names an index past 3's log: answered, the heartbeat
    // would commit past 3's last index and 3 would stop on its invariant.
    const c = new Cluster(5, { seed: 1, preVote: false, checkQuorum: false });
    const t1 = c.elect(2);
    for (const other of [1, 4, 5]) c.cut(2, other);
    for (const text of ["x", "y", "z"]) c.propose(2, text);
    c.stabilize();
    const staleAcks = c.sent.filter((m) => isAckFrom3(m) && m.to === 2 && m.term === t1);
    const stale = staleAcks.at(-1);
    assert.ok(stale !== undefined && stale.type === "appResp" && !stale.reject);
    assert.equal(stale.index, c.raft(2).log.lastIndex(), "3 acknowledged z");
    c.heal();

    c.elect(1);
    c.stabilize();
    assert.ok(c.raft(3).log.lastIndex() < stale.index, "1 overwrote x, y, z on 3");
    const t3 = c.elect(2);
    c.stabilize();
    assert.ok(t3 > t1 + 1);
    const lastOf3 = c.raft(3).log.lastIndex();
    assert.ok(lastOf3 < stale.index, "3 holds less than its old ack named");

    c.cut(2, 3);
    assert.equal(c.raft(2).proposeConfChange(remove(3)).ok, true);
    c.stabilize();
    c.tick(2);
    c.stabilize();
    assert.deepEqual(c.raft(2).config.voters, [1, 2, 4, 5]);
    assert.ok(c.raft(2).log.committed >= stale.index, "the leader committed past the old ack's index");
    c.heal();

    const before = c.sent.length;
    c.queue.push(...staleAcks);
    c.stabilize(); // an answer would throw in 3's step: "commits ... but our log ends at ..."
    assert.deepEqual(goodbyesTo3(c, before), [], "an ack of an earlier term is not answered");
    assert.equal(c.raft(3).log.lastIndex(), lastOf3);
    assert.equal(c.raft(2).role, "leader");
    assert.equal(c.raft(2).term, t3);
    assertLogMatching(c);
    assertStateMachineSafety(c);
  });

  test("a removed node that restarted before its late ack arrived commits nothing it does not hold", () => {
    // Intact disk: the answer to the old life's ack claims entries 3 holds; the empty append is checked by
    // 3's log matching, so it commits no more than 3 holds (here its removal). Repaired disk
    // (recovering) in the same term or one above: the answer claims more than 3's empty log, which must
    // not trip its invariant, and the removed node's newer term must not depose the leader.
    const cases = [
      { name: "intact disk", restart: (c: Cluster) => c.restart(3) },
      {
        name: "repaired disk, same term",
        restart: (c: Cluster) =>
          c.replaceDisk(3, { term: c.raft(1).term - 1, vote: 0, commit: 0, recovering: true }),
      },
      {
        name: "repaired disk, term above",
        restart: (c: Cluster) =>
          c.replaceDisk(3, { term: c.raft(1).term, vote: 1, commit: 0, recovering: true }),
      },
    ];
    for (const { name, restart } of cases) {
      const c = new Cluster(3, { seed: 1, preVote: false });
      const { held } = removeWithAcksHeld(c);
      const term = c.raft(1).term;
      c.crash(3);
      c.stabilize();
      restart(c);
      c.queue.push(...held);
      c.stabilize();
      c.tickAll(3);
      assert.equal(c.raft(1).role, "leader", name);
      assert.equal(c.raft(1).term, term, `${name}: the leader keeps its term`);
      assert.ok(c.raft(3).log.committed <= c.raft(3).log.lastIndex(), name);
      assert.equal(c.raft(3).recovering, name !== "intact disk", `${name}: nobody caught 3 up`);
      if (name === "intact disk") assert.deepEqual(c.raft(3).config.voters, [1, 2], "3 learns its removal");
      assertLogMatching(c);
      assertStateMachineSafety(c);
    }
  });

  // A follower commits from a heartbeat only what it confirmed with this leader in this role (follower.ts:
  // commitTo(min(m.commit, confirmedMatch))). A removed node hears nothing after the leader's first goodbye,
  // so if its acknowledgement is slower than its election timeout it pre-campaigns (same term; the message
  // that ends the campaign goes through becomeFollower -> reset -> confirmedMatch = 0). Answered with a
  // heartbeat it committed nothing, the leader forgot it, and it never learned its removal (failed so before
  // the answer became an empty append at the acknowledged index, which its log matching confirms).
  test("a removed node that pre-campaigned before its late ack was answered still learns its removal", () => {
    const c = new Cluster(3, { seed: 1 }); // pre-vote on
    const { held, removalIndex } = removeWithAcksHeld(c);
    const term = c.raft(1).term;
    // 3 hears nothing more: its timer runs out and it asks for pre-votes, which the members refuse.
    for (let i = 0; i < 100 && c.raft(3).role !== "preCandidate"; i++) {
      c.tick(3);
      c.processAll();
      c.deliver((m) => !isAckFrom3(m));
    }
    assert.equal(c.raft(3).role, "preCandidate");
    assert.equal(c.raft(3).term, term);
    c.queue.push(...held);
    c.stabilize();
    assert.ok(c.raft(3).log.committed >= removalIndex, "3 commits its removal");
    assert.deepEqual(c.raft(3).config.voters, [1, 2], "the removed node learns its removal");
  });
  // The empty append names the term of the acknowledged index in the leader's log; once the leader has
  // compacted that index away there is no term to name (log.term is undefined), so the goodbye falls back
  // to a heartbeat at the acknowledged index. That heartbeat still commits the removal on a node that kept
  // following, and it is answered by a heartbeatResp, which the leader never answers: one message per ack.
  test("an ack whose index the leader compacted meanwhile is answered by a heartbeat, once", () => {
    const c = new Cluster(3, { seed: 1, preVote: false });
    const { held, removalIndex } = removeWithAcksHeld(c);
    const ackedMax = Math.max(...held.map((m) => (m.type === "appResp" ? m.index : 0)));
    for (const t of ["a", "b", "c"]) c.propose(1, t);
    c.stabilize();
    const applied = c.raft(1).log.applied;
    assert.ok(applied > ackedMax, `applied ${applied} past every held ack (${ackedMax})`);
    c.node(1).storage.createSnapshot(applied, c.raft(1).config, encodeAppliedSnapshot(c.node(1).applied));
    assert.equal(c.raft(1).log.term(ackedMax), undefined, "the acknowledged index is compacted");
    const term = c.raft(1).term;
    const before = c.sent.length;
    c.queue.push(...held);
    c.stabilize();
    const answers = goodbyesTo3(c, before);
    assert.ok(answers.length > 0 && answers.length <= held.length, `answers: ${JSON.stringify(answers)}`);
    assert.ok(
      answers.every((m) => m.type === "heartbeat"),
      "no append names a compacted index",
    );
    assert.ok(c.raft(3).log.committed >= removalIndex, "3 commits its removal from the heartbeat");
    assert.deepEqual(c.raft(3).config.voters, [1, 2]);
    // Nothing keeps going: more rounds of ticks send 3 nothing (it is no member) and depose nobody.
    const after = c.sent.length;
    c.tickAll(30);
    assert.deepEqual(goodbyesTo3(c, after), []);
    assert.equal(c.raft(1).role, "leader");
    assert.equal(c.raft(1).term, term);
    assertLogMatching(c);
    assertStateMachineSafety(c);
  });

  // Without pre-vote a removed node that hears nothing campaigns in a higher term (the members refuse it:
  // removed). Each goodbye of the leader's term then reaches a node of a higher term, which answers with a
  // stale-term rejection naming its term. That answer must neither depose the leader nor be answered
  // again: while the goodbye is pending (an ack below the removal got a heartbeat) a rejection answered
  // by another heartbeat would be rejected again, without end. The node does not learn its removal here
  // (best effort: docs/membership.md), but it cannot disrupt.
  test("a removed node that campaigned in a higher term: its rejections depose nobody, get no answer", () => {
    const c = new Cluster(3, { seed: 1, preVote: false, checkQuorum: true });
    const { held, removalIndex } = removeWithAcksHeld(c);
    const term = c.raft(1).term;
    for (let i = 0; i < 100 && c.raft(3).term === term; i++) {
      c.tick(3);
      c.processAll();
      c.deliver((m) => !isAckFrom3(m));
    }
    assert.ok(c.raft(3).term > term, "3 campaigned in a higher term");
    const rejectionsSince = (from: number) =>
      c.sent.slice(from).filter((m) => isAckFrom3(m) && m.type === "appResp" && m.reject);

    // An acknowledgement 3 sent earlier, of the entry before its removal: answered by a heartbeat.
    const ack = held[0];
    assert.ok(ack !== undefined && ack.type === "appResp");
    const before = c.sent.length;
    c.queue.push({ ...ack, index: removalIndex - 1 });
    c.stabilize(); // an answered rejection would ping-pong until "cluster did not stabilize"
    assert.deepEqual(
      goodbyesTo3(c, before).map((m) => m.type),
      ["heartbeat"],
    );
    assert.equal(rejectionsSince(before).length, 1, "3 rejected the heartbeat of an older term");

    // Its acknowledgements of the removal: one empty append, rejected too.
    const middle = c.sent.length;
    c.queue.push(...held);
    c.stabilize();
    assert.deepEqual(
      goodbyesTo3(c, middle).map((m) => m.type),
      ["app"],
    );
    const rejections = rejectionsSince(middle);
    assert.equal(rejections.length, 1, "3 rejected the goodbye of an older term");
    assert.ok((rejections[0]?.term ?? 0) > term);
    for (const id of [1, 2]) assert.equal(c.raft(id).term, term, `node ${id} keeps the term`);
    assert.equal(c.raft(1).role, "leader");
    c.propose(1, "after");
    c.tickAll(3); // 3 campaigns on: refused, it moves no term
    assert.equal(c.raft(1).log.committed, c.raft(1).log.lastIndex(), "the members go on committing");
    assert.equal(c.raft(2).log.committed, c.raft(1).log.lastIndex());
    for (const id of [1, 2]) assert.equal(c.raft(id).term, term, `node ${id} still keeps the term`);
    assertLogMatching(c);
    assertStateMachineSafety(c);
  });
  // A leader that removed 3 and then itself keeps leading its term until its hand-off's TimeoutNow goes out
  // (membership.ts, handOffRemovedLeadership; replication.ts steps it down then, in the same term): 3's late
  // ack arriving meanwhile still gets the goodbye that commits its removal (an index committed in this
  // term, so committed whoever leads next). Once it stepped down it has forgotten its goodbyes and answers
  // nobody, even in the same term.
  test("a leader that removed itself meanwhile still says goodbye until it hands off, then is silent", () => {
    const c = new Cluster(3, { seed: 1 });
    const { held, removalIndex } = removeWithAcksHeld(c);
    const term = c.raft(1).term;
    assert.equal(c.raft(1).proposeConfChange(remove(1)).ok, true);
    c.processAll();
    // An entry 2 does not get yet keeps the hand-off waiting for 2 to catch up: no TimeoutNow.
    c.propose(1, "x");
    const x = c.raft(1).log.lastIndex();
    const holdX = (m: Message) => !(m.type === "app" && m.to === 2 && m.entries.some((e) => e.index >= x));
    for (let round = 0; round < 50; round++) {
      c.processAll();
      c.deliver(holdX);
    }
    assert.deepEqual(c.raft(1).config.voters, [2], "1 applied its own removal");
    assert.equal(c.raft(1).role, "leader", "1 still leads: 2 lacks x, so no TimeoutNow yet");
    assert.ok(c.raft(1).transfer !== undefined, "1 is handing off");
    const before = c.sent.length;
    c.queue.push(...held);
    for (let round = 0; round < 20; round++) {
      c.processAll();
      c.deliver(holdX);
    }
    assert.deepEqual(
      goodbyesTo3(c, before).map((m) => m.type),
      ["app"],
    );
    assert.ok(c.raft(3).log.committed >= removalIndex, "3 commits its removal");
    assert.deepEqual(c.raft(3).config.voters, [1, 2], "3 learns its removal");

    // 2 gets x: TimeoutNow goes out (held back here) and 1 steps down in its term, forgetting its goodbyes.
    for (let round = 0; round < 50 && c.raft(1).role === "leader"; round++) {
      c.tick(1); // a heartbeat's answer shows 2 behind: the append of x again
      c.processAll();
      c.deliver((m) => m.type !== "timeoutNow");
    }
    assert.equal(c.raft(1).role, "follower");
    assert.equal(c.raft(1).term, term);
    const after = c.sent.length;
    c.queue.push(...held);
    c.stabilize();
    assert.deepEqual(goodbyesTo3(c, after), [], "a leader that stepped down answers no late ack");
    assert.equal(c.raft(2).role, "leader", "the hand-off completed");
    assert.ok(c.raft(2).term > term);
    assertLogMatching(c);
    assertStateMachineSafety(c);
  });
});
