import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { laggingTarget } from "./harness.js";

// Harness timing: heartbeatTicks 1, electionTicks 10.
const electionTicks = 10;

describe("leadership transfer edges (§3.10)", () => {
  test("a TimeoutNow sent late in the transfer window gets its election: the leader takes no write meanwhile", () => {
    const c = laggingTarget();
    assert.equal(c.raft(1).transferLeadership(3), true);
    c.stabilize(); // the catch-up append is lost on the cut link
    for (let i = 0; i < electionTicks - 2; i++) {
      c.tick(1);
      c.stabilize();
    }
    c.heal(); // the target is reachable again, late in the transfer's election timeout
    let ticks = electionTicks - 2;
    const timeoutNowQueued = () => c.queue.some((m) => m.type === "timeoutNow");
    while (!timeoutNowQueued() && ticks < electionTicks) {
      c.tick(1);
      ticks++;
      // Deliver until quiet, but hold everything once TimeoutNow is queued.
      for (let round = 0; round < 100; round++) {
        c.processAll();
        if (c.queue.length === 0 || timeoutNowQueued()) break;
        c.deliver();
      }
    }
    assert.ok(ticks < electionTicks, `TimeoutNow after ${ticks} ticks`);
    // TimeoutNow is on its way (a link's latency) while the leader's transfer window closes.
    c.tick(1);
    c.raft(1).propose([new TextEncoder().encode("racing")]);
    c.processAll();
    // Node 3 campaigns on TimeoutNow before the leader's next append reaches it. Had the leader taken
    // the write, node 2 and the leader would hold a longer log and refuse node 3: no leader at all.
    c.stabilize();
    assert.deepEqual(c.leaders(), [3], "the transfer's election failed");
    assert.equal(c.raft(1).role, "follower");
  });

  test("a target removed from the configuration mid-transfer is given up, not waited out", () => {
    const c = laggingTarget();
    c.heal();
    c.cut(1, 3); // still cut: the catch-up cannot finish, no TimeoutNow goes out
    const removal = c.raft(1).proposeConfChange({ op: "remove", id: 3, context: new Uint8Array(0) });
    assert.equal(removal.ok, true);
    assert.equal(c.raft(1).transferLeadership(3), true);
    c.stabilize(); // the removal commits with node 2 and is applied: node 3 can never lead now
    assert.deepEqual(c.raft(1).status().config.voters, [1, 2]);
    assert.equal(c.raft(1).propose([new Uint8Array(1)]).ok, true, "writes refused for a removed target");
    assert.deepEqual(c.raft(1).transfer, { to: 3, timeoutNowSent: false, abandoned: "targetRemoved" });
  });
});
