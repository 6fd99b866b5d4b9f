import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AppendMsg, Message, NodeId } from "../../src/raft/index.js";
import { assertLogMatching, assertStateMachineSafety, Cluster, text } from "./harness.js";

const figure7Leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
const figure7Followers: Record<string, number[]> = {
  a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
  b: [1, 1, 1, 4],
  c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
  d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
  e: [1, 1, 1, 4, 4, 4, 4],
  f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
};

describe("log replication", () => {
  for (const [name, followerTerms] of Object.entries(figure7Followers)) {
    test(`§5.3 Figure 7 (${name}): the leader of term 8 brings the follower's log to match its own, skipping a term per round trip`, () => {
      const c = new Cluster(3, {
        preVote: false,
        checkQuorum: false,
        logs: new Map([
          [1, { terms: figure7Leader, term: 7 }],
          [2, { terms: followerTerms, term: 7 }],
          [3, { terms: figure7Leader, term: 7 }],
        ]),
      });
      c.elect(1);
      c.stabilize();
      const leaderLog = c.logOf(1).map((e) => `${e.index}:${e.term}`);
      assert.deepEqual(
        c.logOf(2).map((e) => `${e.index}:${e.term}`),
        leaderLog,
      );
      assert.equal(c.raft(2).log.committed, 11, "the leader's no-op at index 11 commits everywhere");
      const rejections = c.sent.filter(
        (m) => m.type === "appResp" && m.from === 2 && m.reject && m.index > 0,
      ).length;
      assert.ok(rejections <= 3, `fast backtracking took ${rejections} rejections`);
    });
  }

  test("§5.3 a follower truncates a conflicting suffix and never an entry that matches", () => {
    const c = new Cluster(3, {
      preVote: false,
      checkQuorum: false,
      logs: new Map([
        [1, { terms: [1, 2, 2], term: 2 }],
        [2, { terms: [1, 1, 1, 1, 1], term: 2 }],
        [3, { terms: [1, 2, 2], term: 2 }],
      ]),
    });
    c.elect(1);
    c.stabilize();
    assert.deepEqual(
      c.logOf(2).map((e) => e.term),
      [1, 2, 2, c.raft(1).term],
    );
  });

  test("§5.4.2 Figure 8: an entry from an earlier term is not committed by counting replicas", () => {
    const outcome = runFigure8({});
    assert.equal(outcome.oldEntryCommittedByCounting, false);
    assertStateMachineSafety(outcome.cluster);
    assertLogMatching(outcome.cluster);
  });

  test("§5.4.2 Figure 8 mutation: committing an old-term entry by counting lets a later leader overwrite it (caught)", () => {
    // Either a follower's invariant (never truncate a committed entry) or the safety check fires.
    assert.throws(() => {
      const outcome = runFigure8({ commitOldTermByCounting: true });
      assert.equal(outcome.oldEntryCommittedByCounting, true);
      assertStateMachineSafety(outcome.cluster);
    }, /committed|applied/);
  });

  test("§5.3 Log Matching + §5.4.3 State Machine Safety under random drops, duplicates, reordering, crashes (seeded)", () => {
    for (let seed = 1; seed <= 60; seed++) randomRun(seed, 3 + (seed % 3 === 0 ? 2 : 0));
  });

  test("§5.3 Leader Append-Only: a leader never overwrites or deletes entries in its log", () => {
    const c = new Cluster(3, { seed: 9 });
    c.elect(1);
    const before: string[] = [];
    for (let i = 0; i < 20; i++) {
      c.propose(1, `v${i}`);
      if (i % 3 === 0) c.stabilize();
      const now = c.logOf(1).map((e) => `${e.index}:${e.term}:${text(e)}`);
      assert.deepEqual(now.slice(0, before.length), before, "the leader's log lost or changed an entry");
      before.splice(0, before.length, ...now);
    }
  });

  test("batching: 100 proposals in one turn go to each follower in one AppendEntries", () => {
    const c = new Cluster(3, { seed: 2 });
    c.elect(1);
    c.sent = [];
    for (let i = 0; i < 100; i++) c.propose(1, `p${i}`);
    c.stabilize();
    const appends = c.sent.filter((m): m is AppendMsg => m.type === "app" && m.entries.length > 0);
    assert.equal(appends.length, 2);
    assert.ok(appends.every((m) => m.entries.length === 100));
    c.tick(1);
    c.stabilize();
    assert.equal(c.raft(3).log.committed, c.raft(1).log.lastIndex());
  });

  test("the commit index rides on the next append, or reaches idle followers at the next tick (no message per commit)", () => {
    const c = new Cluster(3, { seed: 2 });
    c.elect(1);
    c.tickAll(1);
    c.sent = [];
    c.propose(1, "a");
    c.stabilize();
    const committed = c.raft(1).log.committed;
    assert.equal(committed, c.raft(1).log.lastIndex());
    assert.equal(
      c.sent.filter((m) => m.type === "app").length,
      2,
      "one append per follower, no commit-only append yet",
    );
    assert.ok(c.raft(2).log.committed < committed);
    c.propose(1, "b"); // the next append carries the commit index of "a"
    c.stabilize();
    assert.ok(c.raft(2).log.committed >= committed);
    c.tick(1);
    c.stabilize();
    assert.equal(c.raft(2).log.committed, c.raft(1).log.committed);
    assert.equal(c.raft(3).log.committed, c.raft(1).log.committed);
  });

  test("pipelining: appends in replicate state are bounded by inflightMax without waiting for each reply", () => {
    const c = new Cluster(3, { seed: 2, limits: { inflightMax: 4, appendEntriesMax: 1 } });
    c.elect(1);
    c.sent = [];
    for (let i = 0; i < 10; i++) c.propose(1, `p${i}`);
    c.process(1);
    const toTwo = c.queue.filter((m) => m.type === "app" && m.to === 2);
    assert.equal(toTwo.length, 4, "four appends in flight before any acknowledgement");
    c.stabilize();
    assert.equal(c.raft(2).log.lastIndex(), c.raft(1).log.lastIndex());
  });

  test("a stale acknowledgement at the match point does not end probing (no burst of appends the follower cannot use)", () => {
    const c = new Cluster(3, { seed: 2, limits: { appendEntriesMax: 1 } });
    const term = c.elect(1);
    c.stabilize();
    const match = c.raft(1).status().progress.get(2)?.match ?? 0;
    c.raft(1).reportUnreachable(2); // probe node 2
    for (let i = 0; i < 10; i++) c.propose(1, `p${i}`);
    c.process(1); // one probe to node 2, still unanswered
    const queued = () => c.queue.filter((m) => m.type === "app" && m.to === 2).length;
    assert.equal(queued(), 1);
    // A duplicate of an old reply arrives (the network reorders and duplicates).
    c.raft(1).step({
      type: "appResp",
      from: 2,
      to: 1,
      term,
      reject: false,
      index: match,
      hintIndex: 0,
      hintTerm: 0,
    });
    c.process(1);
    assert.equal(queued(), 1, "the stale reply ended probing and fired a window of appends");
    assert.equal(c.raft(1).status().progress.get(2)?.state, "probe");
    c.stabilize();
    assert.equal(c.raft(2).log.lastIndex(), c.raft(1).log.lastIndex());
  });

  test("proposals: a follower forwards to the leader; with forwarding off it names the leader; without a leader it fails fast", () => {
    const c = new Cluster(3, { seed: 4 });
    c.elect(1);
    c.propose(2, "via-follower");
    c.stabilize();
    assert.ok(c.node(1).applied.some((e) => text(e) === "via-follower"));

    const strict = new Cluster(3, { seed: 4, forwardProposals: false });
    strict.elect(1);
    assert.deepEqual(strict.raft(2).propose([new Uint8Array(1)]), {
      ok: false,
      error: "not_leader",
      leader: 1,
    });

    const fresh = new Cluster(3, { seed: 4 });
    assert.deepEqual(fresh.raft(2).propose([new Uint8Array(1)]), {
      ok: false,
      error: "no_leader",
      leader: 0,
    });
  });

  test("a leader cut off from its quorum stops accepting proposals past uncommittedBytesMax", () => {
    const c = new Cluster(3, { seed: 4, limits: { uncommittedBytesMax: 1000 } });
    c.elect(1);
    c.isolate(1);
    let accepted = 0;
    for (let i = 0; i < 100; i++) {
      const r = c.raft(1).propose([new Uint8Array(100)]);
      if (r.ok) accepted++;
      else assert.equal(r.error, "uncommitted_full");
    }
    assert.ok(accepted >= 10 && accepted <= 11, `accepted ${accepted}`);
  });

  test("§7 a follower behind the leader's compacted log catches up by snapshot and then by log", () => {
    const c = new Cluster(3, { seed: 6 });
    c.elect(1);
    c.crash(3);
    for (let i = 0; i < 50; i++) c.propose(1, `s${i}`);
    c.stabilize();
    const leader = c.node(1);
    const appliedIndex = c.raft(1).log.applied;
    const data = new TextEncoder().encode(
      JSON.stringify(leader.applied.map((e) => ({ ...e, data: text(e) }))),
    );
    leader.storage.createSnapshot(appliedIndex, { voters: c.ids, learners: [] }, data);
    c.restart(3);
    c.propose(1, "after");
    for (let i = 0; i < 10; i++) c.tickAll();
    assert.ok(
      c.sent.some((m) => m.type === "snap" && m.to === 3),
      "no snapshot was sent",
    );
    assert.equal(c.raft(3).log.committed, c.raft(1).log.committed);
    assert.equal(c.node(3).storage.snapshot().meta.index, appliedIndex);
    assert.deepEqual(c.node(3).applied.map(text), c.node(1).applied.map(text));
  });
});

/** Figure 8 of the Raft paper with this implementation's no-op entries (see the test name for the point). */
function runFigure8(mutations: { commitOldTermByCounting?: boolean }) {
  const c = new Cluster(5, {
    preVote: false,
    checkQuorum: false,
    limits: { appendEntriesMax: 1 },
    mutations,
  });
  // (a) S1 leads term 1 and replicates "x" (index 2, term 1) to S2 only.
  c.elect(1);
  c.stabilize();
  c.propose(1, "x");
  c.process(1);
  c.deliver((m) => m.to === 2);
  c.stabilize();
  // (b) S1 crashes; S5 wins term 2 with S3 and S4 and appends entries nobody else receives.
  c.crash(1);
  c.elect(5, true);
  c.isolate(5);
  c.propose(5, "y");
  c.stabilize();
  c.crash(5);
  c.heal();
  // (c) S1 restarts, wins term 3 and replicates index 2 (term 1) to a majority, its no-op (index 3) only to S2.
  c.restart(1);
  c.elect(1, true);
  const stopAtIndex2 = (m: Message) =>
    !(
      m.type === "app" &&
      m.to !== 2 &&
      m.entries.some((e) => e.index >= 3) &&
      c.raft(m.to).log.lastIndex() >= 2
    );
  for (let i = 0; i < 10; i++) {
    c.tick(1); // heartbeats unpause the probes dropped during the election
    c.processAll();
    c.deliver(stopAtIndex2);
  }
  const oldEntryCommittedByCounting = c.raft(1).log.committed >= 2;
  c.crash(1);
  // (d) S5 restarts and wins term 4 with S2, S3, S4: it overwrites index 2 everywhere.
  c.restart(5);
  c.elect(5, true);
  c.tickAll(5);
  return { cluster: c, oldEntryCommittedByCounting };
}

function randomRun(seed: number, size: number): void {
  const c = new Cluster(size, { seed });
  let state = seed;
  const rand = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const leadersByTerm = new Map<number, NodeId>();
  for (let step = 0; step < 400; step++) {
    const r = rand();
    const id = c.ids[Math.floor(rand() * size)] as NodeId;
    if (r < 0.5) c.tick(id);
    else if (r < 0.6) {
      const leader = c.leaders()[0];
      if (leader !== undefined) c.raft(leader).propose([new TextEncoder().encode(`s${seed}-${step}`)]);
    } else if (r < 0.62 && c.node(id).up && c.ids.filter((x) => !c.node(x).up).length < (size - 1) / 2)
      c.crash(id);
    else if (r < 0.66 && !c.node(id).up) c.restart(id);
    c.processAll();
    // Deliver a random subset, possibly duplicated and reordered.
    const batch = c.queue;
    c.queue = [];
    for (const m of batch) {
      const x = rand();
      if (x < 0.1) continue;
      if (x < 0.3) c.queue.push(m);
      else {
        if (!c.canDeliver(m)) continue;
        c.raft(m.to).step(m);
        if (x < 0.35) c.raft(m.to).step(m);
      }
    }
    for (const leader of c.leaders()) {
      const term = c.raft(leader).term;
      const known = leadersByTerm.get(term);
      assert.ok(known === undefined || known === leader, `seed ${seed}: two leaders in term ${term}`);
      leadersByTerm.set(term, leader);
    }
  }
  for (const x of c.ids) if (!c.node(x).up) c.restart(x);
  c.tickAll(60);
  assertLogMatching(c);
  assertStateMachineSafety(c);
}
