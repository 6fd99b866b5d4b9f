import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Message, NONE, type NodeId } from "../../src/raft/index.js";
import { Cluster, rng } from "./harness.js";

// The voter `POST /v1/leader` (no id) and a stopping leader's hand-over pick (Raft.handOffTarget). CI on 8305e0c: the
// request arrived just after a check-quorum round had cleared every follower's "answered in this
// round" flag, so no voter counted as active and a healthy 3-node cluster answered 409 "no other active
// voter can take leadership" (a stopping leader would likewise have skipped its hand-over). Failed
// before: the pick returned NONE.
describe("the leader's hand-over target", () => {
  test("right after a check-quorum round, a voter that answered in the previous round is picked", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.stabilize();
    c.tick(1, 10); // one round ends (the flags clear) and nobody has answered since
    const to = c.raft(1).handOffTarget();
    assert.ok(to === 2 || to === 3, `picked ${to}`);
  });

  test("a voter silent for two whole rounds is not picked; one that answers again is", () => {
    const c = new Cluster(3, { seed: 1, checkQuorum: false }); // the leader stays while nobody answers
    c.elect(1);
    c.stabilize();
    c.crash(2);
    c.crash(3);
    c.tick(1, 25); // two rounds without an answer
    assert.equal(c.raft(1).handOffTarget(), NONE);
    c.restart(2);
    c.tick(1, 3); // a heartbeat
    c.stabilize();
    assert.equal(c.raft(1).handOffTarget(), 2);
  });

  // Cold review of b01ae91: with "this round or the one before" as one flag, a voter that went down
  // just after a round tied with one that answered since, and the first in the voters' order won. On
  // an idle cluster (every match equal) leader 3 handed off to the dead 1 although 2 had just answered:
  // POST /v1/leader waited out its request timeout, a stopping leader left without a successor, and
  // proposals were refused for an election timeout. Before b01ae91 the answer of this round decided.
  // Failed before the fix (picked 1).
  test("a voter that answered in this round is picked over one heard only in the round before", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(3);
    c.stabilize();
    c.tick(3, 10); // a round ends: 1 and 2 answered in it
    c.crash(1);
    c.tick(3); // a heartbeat: only 2 answers in the new round
    c.stabilize();
    const pr = c.raft(3).status().progress;
    assert.equal(pr.get(1)?.match, pr.get(2)?.match, "an idle cluster: equal matches");
    assert.equal(c.raft(3).handOffTarget(), 2);
  });

  // The hole 722c79c left: a round clears every follower's flag at once, so right after one, before
  // any follower answers again, a voter that died in the round before ties with the live ones and wins
  // on the log (or on the voters' order when every match is equal): POST /v1/leader timed out (504)
  // and proposals waited an election timeout. Failed before ranking by the tick of the last answer
  // (both picked the dead 2).
  for (const lagging of [false, true]) {
    const what = lagging ? "holding the most of the log" : "on an idle cluster";
    test(`right after a round boundary, a voter that died in the round before is not picked (${what})`, () => {
      const c = new Cluster(3, { seed: 1 }); // an election timeout of 10 ticks, a heartbeat every tick
      c.elect(1);
      c.stabilize();
      // 3 hears heartbeats but no appends (a slow link): with `lagging`, it falls behind 2.
      const noAppendsTo3 = (m: { type: string; to: number }) => !(lagging && m.to === 3 && m.type === "app");
      if (lagging) c.propose(1, "x");
      for (let t = 1; t <= 9; t++) {
        if (t === 5) c.crash(2); // after answering in this round
        c.tick(1);
        for (let round = 0; round < 20; round++) {
          c.processAll();
          c.deliver(noAppendsTo3);
        }
      }
      const before = c.raft(1).status().progress;
      assert.equal((before.get(2)?.match ?? 0) > (before.get(3)?.match ?? 0), lagging, "2 holds more log");
      c.tick(1); // the 10th tick: a round ends, and nobody has answered in the new one yet
      c.processAll();
      const after = c.raft(1).status().progress;
      assert.deepEqual([after.get(2)?.heardTicksAgo, after.get(3)?.heardTicksAgo], [6, 1]);
      assert.equal(c.raft(1).handOffTarget(), 3);
    });
  }

  // A killed voter that answered the same heartbeat as the live one looks as fresh in ticks, for up to
  // two heartbeat intervals, and won on the id (a probe of 3 real nodes: POST /v1/leader right after
  // SIGKILL of the lowest-id follower timed out 2 of 2 times). Its connection closes at once, and the
  // transport's report now ranks it last until it answers again. Failed before (picked 2).
  test("a voter the transport reported unreachable since its last answer is passed over until it answers", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.stabilize();
    c.tick(1);
    c.stabilize(); // 2 and 3 answered the same heartbeat
    c.crash(2);
    c.raft(1).reportUnreachable(2);
    assert.equal(c.raft(1).handOffTarget(), 3);
    c.restart(2);
    c.tick(1);
    c.stabilize();
    assert.equal(c.raft(1).handOffTarget(), 2, "2 answers again: equal in all, the lower id");
  });

  // Cold review of 83b63a1: the transport's report reached the core only while it led, so a voter whose
  // connection closed after it voted (killed between its vote and the election's last one) was dropped
  // with the candidate's notes: the new leader heard it as fresh as the living, all at match 0, and the
  // lowest id won. The transport reports again only after its redial fails (10-20 ms later). Failed
  // before the candidate kept the report (picked 2).
  test("a voter reported unreachable after its vote, while the leader still campaigned, is passed over", () => {
    const c = new Cluster(5, { seed: 1 });
    c.crash(4);
    c.crash(5); // 1 needs the votes of both 2 and 3
    const answers = c.campaign(1);
    c.queue = answers.filter((m) => m.from === 2);
    c.deliver();
    c.crash(2);
    c.raft(1).reportUnreachable(2);
    c.queue = answers.filter((m) => m.from === 3);
    c.deliver();
    assert.equal(c.raft(1).role, "leader");
    assert.equal(c.raft(1).handOffTarget(), 3);
  });

  // The notes live in the term's tracker: a learner's carry over to its promotion, and a leader that
  // stepped down and won again hears nobody from the old term (2 died meanwhile).
  test("a promoted learner keeps its notes; a leader elected again starts from its campaign's", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.addNode(4);
    const conf = (op: "addLearner" | "promote") => ({ op, id: 4, context: new Uint8Array(0) });
    assert.equal(c.raft(1).proposeConfChange(conf("addLearner")).ok, true);
    c.tickAll(2);
    assert.equal(c.raft(1).proposeConfChange(conf("promote")).ok, true);
    c.stabilize();
    assert.ok(c.raft(1).config.voters.includes(4));
    assert.equal(c.raft(1).status().progress.get(4)?.heardTicksAgo, 0);
    c.isolate(1);
    c.tick(1, 20); // check-quorum: 1 steps down
    assert.notEqual(c.raft(1).role, "leader");
    c.heal();
    c.crash(2);
    for (const id of [3, 4]) c.tick(id, 10); // their lease on the old leader ends
    c.processAll();
    c.queue = [];
    c.elect(1);
    assert.equal(c.raft(1).status().progress.get(2)?.heardTicksAgo, Number.POSITIVE_INFINITY);
    assert.notEqual(c.raft(1).handOffTarget(), 2);
  });

  // A paused (SIGSTOPped) voter is as useless a target as a dead one while it is stopped, and a good one
  // again as soon as it answers: its messages wait in the network instead of being lost.
  test("a paused voter holding the most of the log is passed over until it answers again", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1);
    c.stabilize();
    const held: Message[] = [];
    let paused = false;
    // 3 hears heartbeats but no appends (a slow link), so it lags; messages to or from a paused 2 wait.
    const network = (m: Message) => {
      if (paused && (m.to === 2 || m.from === 2)) held.push(m);
      return !(paused && (m.to === 2 || m.from === 2)) && !(m.to === 3 && m.type === "app");
    };
    const run = (ticks: number) => {
      for (let t = 0; t < ticks; t++) {
        c.tick(1); // a paused 2 does not tick
        for (let round = 0; round < 20; round++) {
          c.processAll();
          c.deliver(network);
        }
      }
    };
    c.propose(1, "x");
    run(1);
    paused = true;
    run(3);
    const pr = c.raft(1).status().progress;
    assert.ok((pr.get(2)?.match ?? 0) > (pr.get(3)?.match ?? 0), "2 holds more log");
    assert.equal(c.raft(1).handOffTarget(), 3, "2 is silent for 3 heartbeats");
    paused = false; // SIGCONT: 2 reads what waited and answers
    c.queue.push(...held);
    run(1);
    assert.equal(c.raft(1).handOffTarget(), 2, "2 answers again, with the most of the log");
  });

  // Cold review of b01ae91: a new leader's progress starts with nobody heard, and a follower answers
  // its first append only once the entries are on disk (sendAfterPersist). A second POST /v1/leader
  // right after a transfer (answered as soon as the old leader sees the new one lead, before that
  // fsync) reached a leader that had heard no voter yet: 409 on a healthy cluster, and a leader stopped
  // just after winning skipped its hand-over. An answer to the campaign (a vote of this term) counts. Failed before
  // the fix (picked 0).
  test("right after an election, before any append is answered, a voter that answered the campaign is picked", () => {
    const c = new Cluster(3, { seed: 1 });
    c.elect(1, true); // the votes only: the new leader's first appends are not answered yet
    const status = c.raft(1).status();
    assert.ok([2, 3].every((id) => status.progress.get(id)?.recentActive === false));
    const to = c.raft(1).handOffTarget();
    assert.ok(to === 2 || to === 3, `picked ${to}`);
  });

  // What the rule gives, under random ticks, delays, drops, crashes and restarts (3 or 5 voters, a
  // heartbeat every 1 to 3 ticks, an election timeout of 10):
  // - under check-quorum, a leader with another voter always has a target (a leader that still leads
  //   heard a majority in its last round, or in its first, in its campaign); NONE (409) means
  //   check-quorum is off or this is the only voter. Failed on b01ae91 (seed 1 step 37: a leader in its
  //   first round, before any append was answered, picked 0);
  // - while an up voter answered the leader within the last heartbeat interval, the target is never a
  //   voter the leader has not heard for more than an election timeout (dead, paused, or cut off). The
  //   test keeps its own record of what each node heard when, from the messages it delivers. Failed
  //   with ranking by check-quorum rounds (the rule before Raft.handOffTarget ranked by ticks).
  test("under check-quorum, a leader always has a target, and never a long-silent one while another answers", () => {
    const electionTicks = 10;
    let silentPassedOver = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const random = rng(seed);
      const size = random.pick([3, 5]);
      const heartbeatTicks = random.pick([1, 2, 3]);
      const c = new Cluster(size, { seed, heartbeatTicks, electionTicks });
      const ticks = new Map<NodeId, number>(c.ids.map((id) => [id, 0]));
      // node → member → when it last received a message of its own term from the member.
      const heard = new Map<NodeId, Map<NodeId, { term: number; tick: number }>>(
        c.ids.map((id) => [id, new Map()]),
      );
      const silentTicks = (at: NodeId, from: NodeId) => {
        const h = heard.get(at)?.get(from);
        return h?.term === c.raft(at).term ? (ticks.get(at) ?? 0) - h.tick : Number.POSITIVE_INFINITY;
      };
      for (let step = 0; step < 600; step++) {
        const id = random.pick(c.ids);
        if (random.chance(0.02)) c.crash(id);
        else if (random.chance(0.05) && !c.node(id).up) c.restart(id);
        else if (c.node(id).up) {
          c.tick(id);
          ticks.set(id, (ticks.get(id) ?? 0) + 1);
        }
        c.processAll();
        c.deliverSome(random, (m) => {
          if (m.term === c.raft(m.to).term)
            heard.get(m.to)?.set(m.from, { term: m.term, tick: ticks.get(m.to) ?? 0 });
        });
        c.processAll();
        for (const leader of c.leaders()) {
          const to = c.raft(leader).handOffTarget();
          assert.notEqual(to, NONE, `seed ${seed} step ${step}: leader ${leader} found no target`);
          const others = c.raft(leader).config.voters.filter((v) => v !== leader);
          if (!others.some((v) => c.node(v).up && silentTicks(leader, v) <= heartbeatTicks)) continue;
          assert.ok(
            silentTicks(leader, to) <= electionTicks,
            `seed ${seed} step ${step}: leader ${leader} picked ${to}, silent for ${silentTicks(leader, to)} ticks`,
          );
          if (others.some((v) => silentTicks(leader, v) > electionTicks)) silentPassedOver++;
        }
      }
    }
    assert.ok(silentPassedOver >= 100, `a long-silent voter was passed over only ${silentPassedOver} times`);
  });

  // The same under crashes the transport reports at once to every running node, whatever its role (as a
  // closed connection does): a down voter is picked only when every up voter ranks last too (silent for
  // more than an election timeout, or reported since last heard). The test keeps its own record of the
  // reports a leader or candidate got and of what it heard since. Failed on 83b63a1 (seed 126 step 53:
  // leader 5 picked the down 1, whose report reached 5 while it campaigned, over 2 heard a tick ago).
  test("a voter reported down is picked only when every up voter ranks last too", () => {
    const electionTicks = 10;
    let downPicks = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const random = rng(seed);
      const size = random.pick([3, 5]);
      const c = new Cluster(size, { seed, heartbeatTicks: random.pick([1, 2, 3]), electionTicks });
      // node → member → the node's term when the member's crash was reported to it as leader or
      // candidate; deleted once a message of its term from the member arrives.
      const reported = new Map<NodeId, Map<NodeId, number>>(c.ids.map((id) => [id, new Map()]));
      for (let step = 0; step < 400; step++) {
        const id = random.pick(c.ids);
        if (random.chance(0.03) && c.node(id).up) {
          c.crash(id);
          for (const at of c.ids.filter((n) => c.node(n).up)) {
            c.raft(at).reportUnreachable(id);
            if (c.raft(at).role === "leader" || c.raft(at).role === "candidate")
              reported.get(at)?.set(id, c.raft(at).term);
          }
        } else if (random.chance(0.05) && !c.node(id).up) c.restart(id);
        else c.tick(id);
        c.processAll();
        c.deliverSome(random, (m) => {
          if (m.term === c.raft(m.to).term) reported.get(m.to)?.delete(m.from);
        });
        c.processAll();
        for (const leader of c.leaders()) {
          const to = c.raft(leader).handOffTarget();
          if (to === NONE || c.node(to).up) continue;
          downPicks++;
          const pr = c.raft(leader).status().progress;
          for (const v of c.raft(leader).config.voters.filter((n) => n !== leader && c.node(n).up)) {
            const last = reported.get(leader)?.get(v) === c.raft(leader).term;
            const ago = pr.get(v)?.heardTicksAgo ?? Number.POSITIVE_INFINITY;
            assert.ok(
              last || ago > electionTicks,
              `seed ${seed} step ${step}: leader ${leader} picked the down ${to} over ${v}, heard ${ago} ticks ago`,
            );
          }
        }
      }
    }
    assert.ok(downPicks >= 100, `a down voter was picked only ${downPicks} times`);
  });
});
