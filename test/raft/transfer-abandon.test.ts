import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RaftEvent } from "../../src/raft/index.js";
import { Cluster, laggingTarget } from "./harness.js";

// The harness's timing: heartbeatTicks 1, electionTicks 10. A transfer whose target is reported
// unreachable is given up, before TimeoutNow, once the target was silent for more than three heartbeat
// intervals (hand-off.ts, transferSilentTicksMax): here at the 4th tick without it, not the 10th.
const silentTicksMax = 3;
const electionTicks = 10;

function abandoned(events: readonly RaftEvent[]): RaftEvent[] {
  return events.filter((e) => e.type === "transferAbandoned");
}

describe("leadership transfer to a target that goes silent (§3.10)", () => {
  test("a dead target still being caught up is given up within three heartbeat intervals, not an election timeout", () => {
    const c = laggingTarget();
    c.crash(3);
    assert.equal(c.raft(1).transferLeadership(3), true);
    c.stabilize();
    assert.equal(
      c.sent.filter((m) => m.type === "timeoutNow").length,
      0,
      "TimeoutNow sent to a lagging target",
    );
    c.raft(1).reportUnreachable(3); // its connection closed
    let ticks = 0;
    while (ticks < electionTicks && !c.raft(1).propose([new Uint8Array(1)]).ok) {
      c.tick(1);
      c.tick(2);
      c.stabilize();
      ticks++;
    }
    // Node 3 was last heard at the election, before the first of these ticks.
    assert.ok(ticks <= silentTicksMax + 1, `proposals refused for ${ticks} ticks`);
    assert.equal(c.raft(1).role, "leader");
    assert.deepEqual(c.raft(1).transfer, { to: 3, timeoutNowSent: false, abandoned: "targetSilent" });
    assert.deepEqual(
      abandoned(c.node(1).events).map(
        (e) => e.type === "transferAbandoned" && [e.to, e.reason, e.timeoutNowSent],
      ),
      [[3, "targetSilent", false]],
    );
    c.stabilize();
    assert.equal(c.raft(1).log.committed, c.raft(1).log.lastIndex(), "the leader commits again");
  });

  test("a target silent for long already is given up when the report comes", () => {
    const c = laggingTarget();
    c.crash(3);
    c.tickAll(silentTicksMax + 1); // node 3 misses four heartbeats before anyone asks for it
    assert.equal(c.raft(1).transferLeadership(3), true);
    assert.equal(c.raft(1).propose([new Uint8Array(1)]).ok, false);
    c.raft(1).reportUnreachable(3);
    assert.equal(c.raft(1).propose([new Uint8Array(1)]).ok, true);
    assert.equal(c.raft(1).transfer?.abandoned, "targetSilent");
  });

  test("one link blip does not give a transfer up: the target answers again, is caught up and leads", () => {
    const c = laggingTarget();
    assert.equal(c.raft(1).transferLeadership(3), true);
    c.stabilize(); // the catch-up append is lost on the cut link
    c.raft(1).reportUnreachable(3); // the connection dropped...
    for (let i = 0; i < 2; i++) {
      // ...and stays down for two heartbeats (both lost); node 3 was last heard at the election.
      c.tick(1);
      c.tick(2);
      c.stabilize();
      assert.equal(
        c.raft(1).propose([new Uint8Array(1)]).ok,
        false,
        "the transfer was given up during a blip",
      );
    }
    c.heal(); // redialled: the next heartbeat gets through
    for (let i = 0; i < electionTicks && c.raft(3).role !== "leader"; i++) {
      c.tick(1);
      c.tick(2);
      c.stabilize();
    }
    assert.equal(c.raft(3).role, "leader");
    assert.deepEqual(abandoned(c.node(1).events), []);
  });

  test("once TimeoutNow is out the transfer is waited out, however silent the target: it may be campaigning", () => {
    const c = new Cluster(3, { seed: 4 });
    c.elect(1);
    c.stabilize();
    // Node 3 holds the whole log: TimeoutNow goes out at once, and reaches it; its link then drops.
    assert.equal(c.raft(1).transferLeadership(3), true);
    c.processAll();
    c.deliver((m) => m.type === "timeoutNow");
    assert.equal(c.raft(3).role, "candidate");
    c.isolate(3); // its link drops: its vote requests are lost
    c.raft(1).reportUnreachable(3);
    for (let i = 0; i < electionTicks - 1; i++) {
      // Taking writes now would race node 3's election (a leaderless gap for them if it wins).
      assert.equal(c.raft(1).propose([new Uint8Array(1)]).ok, false, `proposal taken after ${i} ticks`);
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.raft(1).propose([new Uint8Array(1)]).ok, false, "proposal taken before the timeout");
    assert.deepEqual(c.raft(1).transfer, { to: 3, timeoutNowSent: true, abandoned: undefined });
    assert.deepEqual(abandoned(c.node(1).events), []);
    c.tick(1); // an election timeout since the transfer began: it is given up, TimeoutNow having gone out
    c.stabilize();
    assert.deepEqual(c.raft(1).transfer, { to: 3, timeoutNowSent: true, abandoned: "timedOut" });
    assert.deepEqual(
      abandoned(c.node(1).events).map(
        (e) => e.type === "transferAbandoned" && [e.to, e.reason, e.timeoutNowSent],
      ),
      [[3, "timedOut", true]],
    );
    assert.equal(c.raft(1).propose([new Uint8Array(1)]).ok, true);
  });

  test("a transfer that replaces one whose TimeoutNow is out is not given up early either", () => {
    const c = new Cluster(3, { seed: 4 });
    c.elect(1);
    c.stabilize();
    c.cut(1, 2); // node 2 misses a write, so a transfer to it starts by catching it up
    c.propose(1, "w");
    c.stabilize();
    assert.equal(c.raft(1).transferLeadership(3), true); // TimeoutNow to node 3 at once...
    c.processAll();
    c.queue = []; // ...lost on the way, as far as the leader knows: node 3 may be campaigning
    assert.equal(c.raft(1).transferLeadership(2), true);
    c.raft(1).reportUnreachable(2);
    for (let i = 0; i < electionTicks - 1; i++) {
      c.tick(1);
      c.stabilize();
      assert.equal(c.raft(1).propose([new Uint8Array(1)]).ok, false, `proposal taken after ${i + 1} ticks`);
    }
    assert.deepEqual(c.raft(1).transfer, { to: 2, timeoutNowSent: true, abandoned: undefined });
  });

  test("transfers requested again and again do not postpone check-quorum: a cut-off leader still steps down", () => {
    const c = new Cluster(3, { seed: 4 });
    c.elect(1);
    c.stabilize();
    c.isolate(1);
    let ticks = 0;
    for (; ticks < 3 * electionTicks && c.raft(1).role === "leader"; ticks++) {
      // A client (or an operator's script) asks for a transfer every few ticks, alternating targets.
      if (ticks % 3 === 0) c.raft(1).transferLeadership(ticks % 2 === 0 ? 2 : 3);
      c.tick(1);
      c.stabilize();
    }
    // The round running when the cut came still counts the followers; the next one does not.
    assert.equal(c.raft(1).role, "follower");
    assert.ok(ticks <= 2 * electionTicks, `stepped down after ${ticks} ticks`);
  });

  test("a stopping leader's second try passes over the target it gave up", () => {
    const c = laggingTarget();
    c.heal();
    c.crash(3);
    c.tickAll(silentTicksMax + 1);
    c.raft(1).reportUnreachable(3);
    assert.equal(c.raft(1).handOffTarget(), 2);
    assert.equal(c.raft(1).handOffTarget(2), 3, "the next one, however silent");
    c.crash(2);
    c.tickAll(silentTicksMax + 1);
    c.raft(1).reportUnreachable(2);
    assert.equal(c.raft(1).handOffTarget(3), 2);
  });
});
