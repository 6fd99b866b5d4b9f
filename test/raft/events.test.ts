import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStorage, Raft, type RaftEvent, type VoteMsg } from "../../src/raft/index.js";
import { Cluster } from "./harness.js";

const vote = (from: number, term: number, lastIndex: number, lastTerm: number, preVote = false): VoteMsg => ({
  type: "vote",
  from,
  to: 1,
  term,
  preVote,
  transfer: false,
  lastIndex,
  lastTerm,
});

function single(seed = 1, limits: { eventsMax?: number } = {}): { raft: Raft; storage: MemoryStorage } {
  const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
  return { raft: new Raft({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, seed, limits }), storage };
}

function drain(raft: Raft, storage: MemoryStorage): RaftEvent[] {
  const events: RaftEvent[] = [];
  while (raft.hasReady()) {
    const rd = raft.ready();
    storage.persist(rd);
    events.push(...rd.events);
    raft.advance();
  }
  return events;
}

const refusals = (events: readonly RaftEvent[]) =>
  events.flatMap((e) => (e.type === "voteRefused" ? [`${e.candidate}:${e.reason}`] : []));

describe("events in Ready", () => {
  test("an election reports the campaign, the term bump, each role change and the new leader", () => {
    const c = new Cluster(3, { seed: 7 });
    c.elect(1);
    const types = c.node(1).events.map((e) => e.type);
    assert.deepEqual(types, [
      "roleChanged",
      "campaignStarted",
      "termChanged",
      "roleChanged",
      "campaignStarted",
      "leaderChanged",
      "roleChanged",
    ]);
    assert.deepEqual(
      c.node(1).events.filter((e) => e.type === "roleChanged"),
      [
        { type: "roleChanged", term: 0, from: "follower", to: "preCandidate" },
        { type: "roleChanged", term: 1, from: "preCandidate", to: "candidate" },
        { type: "roleChanged", term: 1, from: "candidate", to: "leader" },
      ],
    );
    for (const id of [2, 3]) {
      assert.deepEqual(c.node(id).events, [
        { type: "termChanged", from: 0, to: 1, source: 1 },
        { type: "leaderChanged", term: 1, from: 0, to: 1 },
      ]);
    }
  });

  test("a refused vote says why: voted for another, stale term, leader lease, leader known, log behind", () => {
    const { raft, storage } = single();
    raft.step(vote(2, 5, 0, 0));
    raft.step(vote(3, 5, 0, 0)); // same term: already voted for 2
    assert.deepEqual(refusals(drain(raft, storage)), ["3:votedForAnother"]);
    raft.step(vote(3, 4, 9, 4)); // older term
    assert.deepEqual(refusals(drain(raft, storage)), ["3:staleTerm"]);

    const c = new Cluster(3, { seed: 3 });
    const term = c.elect(1);
    c.raft(2).step({ ...vote(3, term + 1, 1, 1), to: 2 }); // inside the leader's lease: dropped
    c.process(2);
    assert.deepEqual(refusals(c.node(2).events), ["3:leaderLease"]);

    const follower = single(3);
    follower.raft.step({ type: "heartbeat", from: 2, to: 1, term: 5, commit: 0, readSeq: 0 });
    follower.raft.step(vote(3, 5, 0, 0)); // it never voted in term 5, but it follows a leader there
    assert.deepEqual(refusals(drain(follower.raft, follower.storage)), ["3:leaderKnown"]);

    const behind = single(2);
    behind.storage.append([{ term: 2, index: 1, kind: "normal", data: new Uint8Array(0) }]);
    const r = new Raft({ id: 1, storage: behind.storage, electionTicks: 10, heartbeatTicks: 1, seed: 1 });
    r.step(vote(2, 3, 5, 1));
    assert.deepEqual(refusals(drain(r, behind.storage)), ["2:logBehind"]);
  });

  test("a pre-candidate deferring to a higher id reports it", () => {
    const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    const r = new Raft({ id: 3, storage, electionTicks: 10, heartbeatTicks: 1, seed: 1 });
    while (r.role !== "preCandidate") r.tick();
    r.step({ ...vote(2, 1, 0, 0, true), to: 3 });
    assert.deepEqual(refusals(drain(r, storage)), ["2:preVoteDeferral"]);
  });

  test("§6.2 a check-quorum step-down is reported with the count it saw", () => {
    const c = new Cluster(3, { seed: 5 });
    const term = c.elect(1);
    c.isolate(1);
    for (let i = 0; i < 20; i++) {
      c.tick(1);
      c.stabilize();
    }
    const events = c.node(1).events;
    const stepDown = events.findIndex((e) => e.type === "checkQuorumStepDown");
    assert.deepEqual(events[stepDown], { type: "checkQuorumStepDown", term, active: 1, quorum: 2 });
    assert.deepEqual(events.slice(stepDown + 1), [
      { type: "leaderChanged", term, from: 1, to: 0 },
      { type: "roleChanged", term, from: "leader", to: "follower" },
    ]);
  });

  test("an election storm leaves a trace: every campaign is reported with its pre-vote round", () => {
    const c = new Cluster(3, { seed: 9 });
    for (const id of c.ids) c.isolate(id);
    c.tickAll(200);
    for (const id of c.ids) {
      const rounds = c
        .node(id)
        .events.flatMap((e) => (e.type === "campaignStarted" ? [e.preVoteRounds] : []));
      assert.ok(rounds.length >= 9, `node ${id} reported ${rounds.length} campaigns in 200 ticks`);
      assert.deepEqual(
        rounds,
        rounds.map((_, i) => i + 1),
      );
    }
  });

  test("events are bounded per Ready (eventsMax) and what was dropped is counted", () => {
    const { raft } = single(1, { eventsMax: 4 });
    raft.step(vote(2, 9, 0, 0)); // one termChanged
    for (let i = 0; i < 10; i++) raft.step(vote(3, 3, 0, 0)); // ten stale-term refusals
    const rd = raft.ready();
    assert.equal(rd.events[0]?.type, "termChanged");
    assert.equal(rd.events.length, 4);
    assert.equal(rd.eventsDropped, 7);
    raft.advance();
    assert.equal(raft.hasReady(), false, "the dropped count was handed out once");
  });
});
