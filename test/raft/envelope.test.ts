import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvariantError, MemoryStorage, type Message, Raft } from "../../src/raft/index.js";
import { RaftState } from "../../src/raft/state.js";
import { Cluster } from "./harness.js";

function state(): RaftState {
  const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
  return new RaftState({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, seed: 1 });
}

describe("one send() decides the envelope", () => {
  test("every message carries its sender's id, and its term unless it is a vote message naming another", () => {
    const c = new Cluster(5, { seed: 12 });
    const termAtReady = new Map<Message, number>();
    const recordTerms = () => {
      for (const id of c.ids) {
        const n = c.node(id);
        if (!n.up) continue;
        const before = c.sent.length;
        c.process(id);
        for (const m of c.sent.slice(before)) {
          assert.equal(m.from, id, `a ${m.type} from node ${id} says from ${m.from}`);
          termAtReady.set(m, n.raft.term);
        }
      }
    };
    for (let step = 0; step < 300; step++) {
      for (const id of c.ids) c.tick(id);
      if (step % 7 === 0 && c.leaders().length > 0) c.propose(c.leaders()[0] as number, `p${step}`);
      if (step === 100) c.crash(c.leaders()[0] ?? 1);
      if (step === 150) c.isolate(2);
      if (step === 200) c.heal();
      recordTerms();
      c.deliver();
    }
    let votes = 0;
    for (const [m, term] of termAtReady) {
      if (m.type === "vote" && m.preVote) {
        votes++; // asks for the next term: checked by send() itself, see below
      } else if (m.type === "voteResp" && !m.reject) {
        assert.ok(m.term >= term, "a granted vote answers in the candidate's term");
      } else {
        // A Ready can hold a message stamped before a later message in the same turn raised the term.
        assert.ok(m.term <= term, `a ${m.type} names term ${m.term} above the sender's ${term}`);
      }
    }
    assert.ok(votes > 0 && termAtReady.size > 500, "the run exercised elections and replication");
  });

  test("send() refuses a message that names its sender, or a term on a type that must not carry one", () => {
    const r = state();
    assert.throws(
      () => r.send({ type: "heartbeatResp", to: 2, readSeq: 0, from: 3 } as never),
      InvariantError,
    );
    assert.throws(
      () => r.send({ type: "heartbeatResp", to: 2, readSeq: 0, term: 7 } as never),
      InvariantError,
    );
    assert.throws(
      () =>
        r.send({ type: "vote", to: 2, term: 5, preVote: true, transfer: false, lastIndex: 0, lastTerm: 0 }),
      InvariantError,
      "a pre-vote must ask for exactly the next term",
    );
    assert.throws(
      () => r.send({ type: "voteResp", to: 2, term: -1, preVote: false, reject: true }),
      InvariantError,
    );
    r.send({ type: "vote", to: 2, term: 1, preVote: true, transfer: false, lastIndex: 0, lastTerm: 0 });
    r.send({ type: "heartbeatResp", to: 2, readSeq: 0 });
    assert.deepEqual(
      r.sendAfterPersist.map((m) => [m.type, m.from, m.term]),
      [
        ["vote", 1, 1],
        ["heartbeatResp", 1, 0],
      ],
    );
  });

  test("term, vote, role and leader are readable but not writable from outside", () => {
    const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    const raft = new Raft({ id: 1, storage, electionTicks: 10, heartbeatTicks: 1, seed: 1 });
    raft.step({ type: "heartbeat", from: 2, to: 1, term: 4, commit: 0, readSeq: 0 });
    assert.deepEqual([raft.term, raft.vote, raft.role, raft.leader], [4, 0, "follower", 2]);
    for (const field of ["term", "vote", "role", "leader", "log"]) {
      assert.throws(() => {
        (raft as unknown as Record<string, unknown>)[field] = 9;
      }, TypeError);
    }
    assert.throws(() => {
      // @ts-expect-error the compiler refuses the write too
      raft.term = 5;
    }, TypeError);
  });
});
