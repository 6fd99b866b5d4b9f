import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type ConfChange,
  type ConfChangeOp,
  decodeConfChange,
  decodeConfigEntry,
  encodeConfChange,
  type Message,
  type NodeId,
  type ProposeResult,
  type RaftEvent,
} from "../../src/raft/index.js";
import { assertLogMatching, assertStateMachineSafety, Cluster, type ClusterOptions } from "./harness.js";

const cc = (op: ConfChangeOp, id: NodeId, context = ""): ConfChange => ({
  op,
  id,
  context: new TextEncoder().encode(context),
});

/** Proposes on `leader` and lets the cluster settle (a tick tells the followers the new commit index). */
function change(c: Cluster, leader: NodeId, op: ConfChangeOp, id: NodeId): ProposeResult {
  const result = c.raft(leader).proposeConfChange(cc(op, id));
  settle(c, leader);
  return result;
}

function settle(c: Cluster, leader: NodeId): void {
  c.stabilize();
  c.tick(leader);
  c.stabilize();
}

/** A 3-voter cluster led by 1, with node 4 joining (empty configuration) and added as a learner. */
function withLearner(options: ClusterOptions = {}): Cluster {
  const c = new Cluster(3, { seed: 1, ...options });
  c.elect(1);
  c.addNode(4);
  assert.equal(change(c, 1, "addLearner", 4).ok, true);
  return c;
}

const configEvents = (events: readonly RaftEvent[]) => events.filter((e) => e.type === "configApplied");

describe("membership: encoding", () => {
  test("a ConfChange survives encode/decode, context included", () => {
    const original = cc("update", 7, "http://h:1 http://h:2");
    assert.deepEqual(decodeConfChange(encodeConfChange(original)), original);
    assert.equal(decodeConfigEntry(encodeConfChange(original)).config, undefined);
  });

  test("a committed config entry carries the whole configuration it results in", () => {
    const c = withLearner();
    const entry = c.node(2).applied.find((e) => e.kind === "config");
    assert.ok(entry);
    const { cc: decoded, config } = decodeConfigEntry(entry.data);
    assert.equal(decoded.op, "addLearner");
    assert.deepEqual(config, { voters: [1, 2, 3], learners: [4], removed: [] });
  });
});

describe("membership: proposals", () => {
  test("only the leader takes changes; a follower refuses with the leader's id", () => {
    const c = new Cluster(3, { seed: 1 });
    assert.deepEqual(c.raft(2).proposeConfChange(cc("addLearner", 4)), {
      ok: false,
      error: "no_leader",
      leader: 0,
    });
    c.elect(1);
    assert.deepEqual(c.raft(2).proposeConfChange(cc("addLearner", 4)), {
      ok: false,
      error: "not_leader",
      leader: 1,
    });
  });

  test("Ongaro 2015: a new leader refuses a change until it has applied an entry of its own term", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.crash(1);
    c.tick(2, 30);
    c.elect(3, true); // the no-op of term 2 is appended but not replicated yet
    assert.equal(c.raft(3).role, "leader");
    const early = c.raft(3).proposeConfChange(cc("addLearner", 4));
    assert.deepEqual(early, { ok: false, error: "config_change_pending", leader: 3 });
    settle(c, 3);
    assert.equal(c.raft(3).proposeConfChange(cc("addLearner", 4)).ok, true);
  });

  test("one change at a time: a second is refused until the first is applied", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.addNode(4);
    c.addNode(5);
    assert.equal(c.raft(1).proposeConfChange(cc("addLearner", 4)).ok, true);
    assert.equal(c.raft(1).proposeConfChange(cc("addLearner", 5)).ok, false);
    assert.deepEqual(c.raft(1).proposeConfChange(cc("update", 2)), {
      ok: false,
      error: "config_change_pending",
      leader: 1,
    });
    c.stabilize();
    assert.equal(c.raft(1).proposeConfChange(cc("addLearner", 5)).ok, true);
  });

  test("invalid changes are refused: last voter, non-learner promotion, existing or removed id, non-member", () => {
    const solo = new Cluster(1, { seed: 1 });
    solo.elect(1);
    const refused = { ok: false, error: "config_invalid", leader: 1 };
    assert.deepEqual(solo.raft(1).proposeConfChange(cc("remove", 1)), refused);
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    assert.deepEqual(c.raft(1).proposeConfChange(cc("promote", 2)), refused, "a voter is no learner");
    assert.deepEqual(c.raft(1).proposeConfChange(cc("promote", 9)), refused);
    assert.deepEqual(c.raft(1).proposeConfChange(cc("addLearner", 3)), refused);
    assert.deepEqual(c.raft(1).proposeConfChange(cc("update", 9)), refused);
    assert.deepEqual(c.raft(1).proposeConfChange(cc("remove", 9)), refused);
    assert.equal(change(c, 1, "remove", 3).ok, true);
    assert.deepEqual(c.raft(1).proposeConfChange(cc("addLearner", 3)), refused, "ids are never reused");
    assert.equal(change(c, 1, "update", 2).ok, true);
    assert.deepEqual(c.raft(1).config.voters, [1, 2], "update changes no set");
  });
});

describe("membership: applied when committed", () => {
  test("a change takes effect when applied, on every node, and is reported in Ready.events", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.addNode(4);
    c.raft(1).proposeConfChange(cc("addLearner", 4));
    c.process(1);
    assert.deepEqual(c.raft(1).config.learners, [], "applied before it committed");
    settle(c, 1);
    for (const id of [1, 2, 3]) {
      assert.deepEqual(c.raft(id).config.learners, [4], `node ${id}`);
      const [event] = configEvents(c.node(id).events);
      assert.ok(event && event.type === "configApplied");
      assert.deepEqual([event.op, event.id, event.voters, event.learners], ["addLearner", 4, [1, 2, 3], [4]]);
    }
  });

  test("the Ready that hands out a config entry persists its commit index (mustSync)", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.addNode(4);
    c.raft(1).proposeConfChange(cc("addLearner", 4));
    for (let round = 0; round < 50; round++) {
      for (const id of c.ids) {
        const n = c.node(id);
        while (n.raft.hasReady()) {
          const rd = n.raft.ready();
          if (rd.committed.some((e) => e.kind === "config")) {
            assert.equal(rd.mustSync, true);
            assert.ok(rd.hardState && rd.hardState.commit >= (rd.committed.at(-1)?.index ?? 0));
          }
          c.queue.push(...rd.sendNow, ...rd.sendAfterPersist);
          n.storage.persist(rd);
          n.raft.advance();
        }
      }
      c.deliver();
    }
    assert.deepEqual(c.raft(3).config.learners, [4]);
  });

  test("a restarted node keeps its configuration (snapshot + committed log); a removed one stays out", () => {
    const c = withLearner();
    assert.equal(change(c, 1, "remove", 3).ok, true);
    for (const id of [1, 2, 4]) {
      c.crash(id);
      c.restart(id);
      assert.deepEqual(c.raft(id).config, { voters: [1, 2], learners: [4], removed: [3] }, `node ${id}`);
    }
    c.tickAll(30);
    const [leader] = c.leaders();
    assert.ok(leader !== undefined && leader !== 3);
    const term = c.raft(leader).term;
    // Node 3 restarts with its log: if it missed that its removal committed it campaigns with its old
    // configuration, and is ignored.
    c.crash(3);
    c.restart(3);
    c.tickAll(100);
    assert.deepEqual(c.leaders(), [leader]);
    assert.equal(c.raft(leader).term, term, "a removed node disrupted the cluster");
  });

  test("snapshot metadata carries the configuration; a node joining from a snapshot learns it", () => {
    const c = withLearner();
    c.propose(1, "x");
    c.stabilize();
    const leader = c.node(1);
    const applied = leader.raft.log.applied;
    leader.storage.createSnapshot(applied, leader.raft.config, new Uint8Array(0));
    assert.deepEqual(leader.storage.snapshot().meta.config.learners, [4]);
    c.addNode(5);
    assert.equal(change(c, 1, "addLearner", 5).ok, true);
    c.tickAll(3);
    assert.deepEqual(c.raft(5).config, { voters: [1, 2, 3], learners: [4, 5], removed: [] });
    assert.equal(c.raft(5).log.lastIndex(), c.raft(1).log.lastIndex());
  });
});

describe("membership: learners", () => {
  test("a node joining with no configuration learns it from the log and never campaigns", () => {
    const c = withLearner();
    c.propose(1, "a");
    c.stabilize();
    assert.deepEqual(c.raft(4).config, { voters: [1, 2, 3], learners: [4], removed: [] });
    assert.equal(c.raft(4).log.lastIndex(), c.raft(1).log.lastIndex());
    c.isolate(4);
    c.tick(4, 200);
    c.stabilize();
    assert.equal(c.raft(4).role, "follower");
    assert.equal(
      c.sent.some((m) => m.from === 4 && m.type === "vote"),
      false,
    );
    const joiner = c.addNode(5);
    joiner.raft.tick();
    c.tick(5, 200);
    assert.equal(c.raft(5).role, "follower", "a node with no configuration campaigned");
  });

  test("a learner never counts toward the commit quorum", () => {
    for (const countLearnersInQuorum of [false, true]) {
      const c = withLearner({ mutations: { countLearnersInQuorum } });
      c.addNode(5);
      assert.equal(change(c, 1, "addLearner", 5).ok, true);
      c.cut(1, 2);
      c.cut(1, 3);
      const before = c.raft(1).log.committed;
      c.propose(1, "needs a voter");
      c.stabilize();
      assert.equal(c.raft(5).log.lastIndex(), c.raft(1).log.lastIndex(), "the learner is replicated to");
      const committed = c.raft(1).log.committed > before;
      assert.equal(committed, countLearnersInQuorum, `mutation ${countLearnersInQuorum}`);
    }
  });

  test("a learner neither confirms a ReadIndex nor keeps a cut-off leader in office (check-quorum)", () => {
    const c = withLearner();
    c.cut(1, 2);
    c.cut(1, 3);
    c.raft(1).readIndex(5);
    c.tickAll(1);
    assert.deepEqual(c.node(1).readStates, []);
    for (let i = 0; i < 30 && c.raft(1).role === "leader"; i++) c.tick(1);
    c.stabilize();
    assert.notEqual(c.raft(1).role, "leader");
  });

  test("voters ignore (pre)vote requests from a removed node, whatever its term", () => {
    const c = withLearner();
    assert.equal(change(c, 1, "remove", 3).ok, true);
    const term = c.raft(2).term;
    for (const preVote of [true, false]) {
      c.raft(2).step({
        type: "vote",
        from: 3,
        to: 2,
        term: term + 5,
        preVote,
        transfer: true, // bypasses the leader lease: only the membership rule refuses it
        lastIndex: 1000,
        lastTerm: term + 4,
      });
      c.process(2);
    }
    assert.equal(c.raft(2).term, term);
    assert.equal(c.raft(2).leader, 1);
    assert.equal(
      c.queue.some((m) => m.from === 2 && m.type === "voteResp"),
      false,
    );
    assert.ok(c.node(2).events.some((e) => e.type === "voteRefused" && e.reason === "removed"));
  });

  test("a voter answers a candidate it knows only as a learner (promoted, and it has not applied that yet)", () => {
    // Sim seed 33 (--membership): a voter whose log stopped before a promotion ignored the promoted
    // node, the only other voter left, and no leader could ever be elected.
    const c = withLearner();
    const term = c.raft(2).term;
    c.raft(2).step({
      type: "vote",
      from: 4,
      to: 2,
      term: term + 1,
      preVote: false,
      transfer: true,
      lastIndex: 1000,
      lastTerm: term,
    });
    c.process(2);
    assert.ok(c.queue.some((m) => m.from === 2 && m.to === 4 && m.type === "voteResp" && !m.reject));
  });

  test("a node that is no voter itself answers vote requests (it may be promoted without knowing yet)", () => {
    // Sim seed 48 (--membership): a voter whose log had not reached any config entry ignored the only
    // other voter's requests, and neither could ever win.
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.addNode(4);
    const term = c.raft(1).term;
    c.raft(4).step({
      type: "vote",
      from: 2,
      to: 4,
      term: term + 1,
      preVote: false,
      transfer: true,
      lastIndex: 100,
      lastTerm: term,
    });
    c.process(4);
    assert.ok(c.queue.some((m) => m.from === 4 && m.to === 2 && m.type === "voteResp" && !m.reject));
  });

  test("a promoted learner counts: with it, a 4-voter cluster commits without one old voter", () => {
    const c = withLearner();
    assert.equal(change(c, 1, "promote", 4).ok, true);
    assert.deepEqual(c.raft(4).config.voters, [1, 2, 3, 4]);
    c.cut(1, 3);
    const before = c.raft(1).log.committed;
    c.propose(1, "with 4");
    c.stabilize();
    assert.ok(c.raft(1).log.committed > before);
    assertStateMachineSafety(c);
  });

  test("status on the leader exposes voters, learners and each member's progress", () => {
    const c = withLearner();
    const s = c.raft(1).status();
    assert.deepEqual([s.config.voters, s.config.learners], [[1, 2, 3], [4]]);
    assert.equal(s.progress.get(4)?.match, c.raft(1).log.lastIndex());
    assert.equal(s.progress.get(4)?.recentActive, true);
  });
});

describe("membership: removal", () => {
  test("a follower whose removal ack arrives after the others committed it still learns its removal", () => {
    const c = new Cluster(3, { seed: 1, preVote: false });
    c.elect(1);
    assert.equal(c.raft(1).proposeConfChange(cc("remove", 3)).ok, true);
    // Node 3's append acknowledgements are held back: 1 and 2 commit the removal, and the leader's
    // goodbye heartbeat can only carry what 3 had acknowledged, below its removal entry.
    const held: Message[] = [];
    for (let round = 0; round < 50; round++) {
      c.processAll();
      if (round === 10) c.tick(1);
      c.deliver((m) => {
        if (m.type !== "appResp" || m.from !== 3) return true;
        held.push(m);
        return false;
      });
    }
    assert.deepEqual(c.raft(1).config.voters, [1, 2]);
    assert.ok(held.length > 0);
    assert.deepEqual(c.raft(3).config.voters, [1, 2, 3], "the goodbye alone told it too little");
    // The late acknowledgement reaches the leader: it answers with a heartbeat that commits the removal.
    for (const m of held) c.raft(1).step(m);
    c.stabilize();
    assert.deepEqual(c.raft(3).config.voters, [1, 2], "the removed node learns its removal");
    assert.equal(c.raft(3).role, "follower");
  });

  test("a removed follower stops getting appends, never campaigns, and its votes are ignored", () => {
    const c = new Cluster(3, { seed: 1, preVote: false });
    c.elect(1);
    assert.equal(change(c, 1, "remove", 3).ok, true);
    assert.deepEqual(c.raft(3).config.voters, [1, 2], "the removed node learns its removal");
    c.sent = [];
    c.propose(1, "after");
    c.tickAll(30);
    assert.equal(
      c.sent.some((m) => m.to === 3),
      false,
    );
    assert.equal(c.raft(3).role, "follower");
    // A removed node that missed its removal campaigns with a higher term: nobody listens.
    const term = c.raft(1).term;
    c.raft(2).step({
      type: "vote",
      from: 3,
      to: 2,
      term: term + 3,
      preVote: false,
      transfer: true, // bypasses the leader lease: only the membership rule refuses it
      lastIndex: 999,
      lastTerm: term + 2,
    });
    assert.equal(c.raft(2).term, term);
    assert.deepEqual(c.leaders(), [1]);
  });

  test("a leader ignores responses from non-members, even of a higher term", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    assert.equal(change(c, 1, "remove", 3).ok, true);
    const term = c.raft(1).term;
    c.raft(1).step({
      type: "appResp",
      from: 3,
      to: 1,
      term: term + 1,
      reject: true,
      index: 0,
      hintIndex: 0,
      hintTerm: 0,
    });
    c.raft(1).step({ type: "heartbeatResp", from: 9, to: 1, term: term + 1, readSeq: 0 });
    assert.equal(c.raft(1).role, "leader");
    assert.equal(c.raft(1).term, term);
  });

  test("a leader applying its own removal hands leadership to a caught-up voter and steps down", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.propose(1, "a");
    c.stabilize();
    assert.equal(change(c, 1, "remove", 1).ok, true);
    assert.notEqual(c.raft(1).role, "leader");
    const leaders = c.leaders();
    assert.equal(leaders.length, 1);
    assert.ok(leaders[0] === 2 || leaders[0] === 3);
    assert.ok(c.node(1).events.some((e) => e.type === "removedLeaderStepsDown" && e.to === leaders[0]));
    assert.ok(c.sent.some((m) => m.type === "timeoutNow" && m.from === 1));
    c.tickAll(50);
    assert.deepEqual(c.leaders(), leaders, "the removed leader came back");
    c.propose(leaders[0] as NodeId, "b");
    c.stabilize();
    assertLogMatching(c);
    assertStateMachineSafety(c);
  });

  test("replace: add a learner, promote it, remove the old voter; the cluster keeps committing", () => {
    const c = withLearner();
    assert.equal(change(c, 1, "promote", 4).ok, true);
    c.crash(3);
    assert.equal(change(c, 1, "remove", 3).ok, true);
    assert.deepEqual(c.raft(1).config.voters, [1, 2, 4]);
    c.cut(1, 2);
    c.propose(1, "with 4 only");
    settle(c, 1);
    assert.equal(c.node(4).applied.at(-1)?.index, c.raft(1).log.lastIndex());
  });
});
