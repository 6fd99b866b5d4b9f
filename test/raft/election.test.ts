import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStorage, Raft, type VoteMsg } from "../../src/raft/index.js";
import { Cluster } from "./harness.js";

const vote = (
  from: number,
  to: number,
  term: number,
  lastIndex: number,
  lastTerm: number,
  preVote = false,
): VoteMsg => ({
  type: "vote",
  from,
  to,
  term,
  preVote,
  transfer: false,
  lastIndex,
  lastTerm,
});

describe("elections", () => {
  test("§5.2 a follower that hears nothing campaigns and a 3-node cluster elects exactly one leader", () => {
    const c = new Cluster(3, { seed: 7 });
    for (let i = 0; i < 30 && c.leaders().length === 0; i++) c.tickAll();
    assert.equal(c.leaders().length, 1);
    const leader = c.leaders()[0] as number;
    for (const id of c.ids) assert.equal(c.raft(id).leader, leader);
  });

  test("§5.2 randomized election timeouts are drawn from [T, 2T) ticks", () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
      const r = new Raft({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, seed, preVote: false });
      let ticks = 0;
      while (r.role === "follower") {
        r.tick();
        ticks++;
        assert.ok(ticks < 20, "campaigned at or after 2T");
      }
      assert.ok(ticks >= 10, `campaigned after ${ticks} < T ticks`);
      seen.add(ticks);
    }
    assert.ok(seen.size >= 5, "timeouts are not randomized");
  });

  test("§5.2 Election Safety: one vote per term", () => {
    const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    const r = new Raft({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, seed: 1 });
    r.step(vote(2, 1, 5, 0, 0));
    r.step(vote(3, 1, 5, 0, 0));
    const rd = r.ready();
    const replies = rd.sendAfterPersist.filter((m) => m.type === "voteResp");
    assert.deepEqual(
      replies.map((m) => [m.to, m.type === "voteResp" && m.reject]),
      [
        [2, false],
        [3, true],
      ],
    );
  });

  test("§5.2 vote and term are durable before the reply leaves: the reply waits for persistence and survives restart", () => {
    const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    const r = new Raft({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, seed: 1 });
    r.step(vote(2, 1, 5, 0, 0));
    const rd = r.ready();
    assert.deepEqual(rd.hardState, { term: 5, vote: 2, commit: 0 });
    assert.equal(rd.mustSync, true);
    assert.equal(rd.sendNow.length, 0, "a vote must not leave before it is persisted");
    assert.equal(rd.sendAfterPersist.length, 1);
    storage.persist(rd);
    r.advance();
    // Restart: the vote is remembered, so a second candidate in term 5 is refused.
    const restarted = new Raft({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, seed: 2 });
    restarted.step(vote(3, 1, 5, 0, 0));
    const rd2 = restarted.ready();
    const reply = rd2.sendAfterPersist[0];
    assert.ok(reply?.type === "voteResp" && reply.reject);
  });

  test("§5.4.1 a vote is granted only to a candidate whose log is at least as up-to-date", () => {
    const c = new Cluster(3, { seed: 3 });
    c.elect(1);
    c.propose(1, "x");
    c.stabilize();
    const r2 = c.raft(2);
    const last = r2.log.lastIndex();
    const lastTerm = r2.log.lastTerm();
    for (const [index, term, granted] of [
      [last - 1, lastTerm, false], // shorter log, same last term
      [last + 5, lastTerm - 1, false], // longer log but older last term
      [last, lastTerm, true], // equal
      [last - 1, lastTerm + 1, true], // newer last term wins even if shorter
    ] as const) {
      const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
      storage.append(c.logOf(2));
      storage.setHardState({ term: r2.term, vote: 0, commit: 0 });
      const voter = new Raft({
        id: 2,
        storage,
        electionTicks: 10,
        heartbeatTicks: 1,
        seed: 1,
        checkQuorum: false,
      });
      voter.step(vote(3, 2, r2.term + 1, index, term));
      const reply = voter.ready().sendAfterPersist.find((m) => m.type === "voteResp");
      assert.ok(reply?.type === "voteResp");
      assert.equal(!reply.reject, granted, `lastIndex ${index} lastTerm ${term}`);
    }
  });

  test("§5.2 a candidate that receives AppendEntries from a leader of its term returns to follower", () => {
    const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    const r = new Raft({ id: 3, storage, electionTicks: 10, heartbeatTicks: 1, seed: 1, preVote: false });
    while (r.role !== "candidate") r.tick();
    r.step({ type: "heartbeat", from: 1, to: 3, term: r.term, commit: 0, readSeq: 0 });
    assert.equal(r.role, "follower");
    assert.equal(r.leader, 1);
  });

  test("§9.6 pre-vote: a partitioned node does not raise its term and does not disrupt the leader when it returns", () => {
    const c = new Cluster(3, { seed: 11 });
    const term = c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 100; i++) {
      c.tick(3);
      c.tickAll();
    }
    assert.equal(c.raft(3).term, term, "pre-vote kept the isolated node's term");
    assert.equal(c.raft(1).role, "leader");
    c.heal();
    c.tickAll(30);
    assert.equal(c.raft(1).role, "leader");
    assert.equal(c.raft(1).term, term, "the leader was not disrupted");
  });

  test("§9.6 without pre-vote the same partition does disrupt the leader (the test can fail)", () => {
    const c = new Cluster(3, { seed: 11, preVote: false, checkQuorum: false });
    const term = c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 100; i++) c.tickAll();
    assert.ok(c.raft(3).term > term);
    c.heal();
    c.tickAll(30);
    assert.ok(c.raft(1).term > term, "the returning node forced a new term");
  });

  test("§6.2 check-quorum: a leader that cannot hear a majority steps down within an election timeout", () => {
    const c = new Cluster(3, { seed: 5 });
    c.elect(1);
    c.isolate(1);
    for (let i = 0; i < 20; i++) {
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.raft(1).role, "follower");
  });

  test("§4.2.3 a follower that heard from its leader within the election timeout ignores a disruptive vote request", () => {
    const c = new Cluster(3, { seed: 5 });
    const term = c.elect(1);
    c.tickAll(2);
    const r2 = c.raft(2);
    r2.step(vote(3, 2, term + 5, 1000, term));
    assert.equal(r2.term, term, "a vote request inside the lease changed the term");
    assert.equal(c.raft(1).role, "leader");
  });

  test("§9.6 fast failover: followers that find the leader unreachable elect a new one within half an election timeout", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster(3, { seed, electionTicks: 10 });
      c.elect(1);
      c.stabilize();
      c.crash(1);
      c.raft(2).reportUnreachable(1);
      c.raft(3).reportUnreachable(1);
      let ticks = 0;
      while (c.leaders().length === 0) {
        for (const id of [2, 3]) c.tick(id);
        c.stabilize();
        ticks++;
        assert.ok(ticks <= 8, `seed ${seed}: no leader after ${ticks} ticks`);
      }
    }
  });

  test("§9.6 a follower that wrongly suspects a live leader does not disrupt it (pre-vote and the others' lease)", () => {
    const c = new Cluster(3, { seed: 3, electionTicks: 10 });
    const term = c.elect(1);
    c.stabilize();
    c.cutOneWay(1, 2); // node 2 stops hearing the leader, node 3 still does
    c.raft(2).reportUnreachable(1);
    for (let i = 0; i < 50; i++) c.tickAll();
    assert.equal(c.raft(1).role, "leader");
    assert.equal(c.raft(1).term, term);
    assert.equal(c.raft(2).term, term, "the suspicious follower raised the term");
  });

  test("§5.2 split votes are resolved: 5 nodes starting together elect a leader within a bounded time", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster(5, { seed });
      let ticks = 0;
      while (c.leaders().length === 0) {
        c.tickAll();
        ticks++;
        assert.ok(ticks < 200, `seed ${seed}: no leader after 200 ticks`);
      }
      assert.equal(c.leaders().length, 1);
    }
  });
});
