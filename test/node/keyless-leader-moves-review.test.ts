// Review of ee87b20/08b0ffc: a follower past 90% of its exactly-once table forwards a keyless write, and a
// RESP run, without keys, as non-idempotent requests. When their answers are lost and leadership moves
// (to another node, or to the forwarding follower itself, whose Forwarder would then run them locally),
// neither is sent again: each is applied once, and answered "outcome unknown".
import assert from "node:assert/strict";
import { test } from "node:test";
import { pushAThenB } from "./runs.js";
import { answerCode, followerKeyTaken, runAnswerLost } from "./three-drivers.js";

for (const to of ["the forwarding follower", "the other follower"] as const) {
  test(`keyless forwards whose answers are lost are not sent again when leadership moves to ${to}`, {
    timeout: 30_000,
  }, async () => {
    // The follower's first write takes the table's one slot with its key: the next go without keys.
    const nodes = await followerKeyTaken({ sessionsMax: 1 });
    const { clock, drivers, net, leader, from, other, follower } = nodes;
    // Forwarded before runAnswerLost drops the leader's answers, but nothing is delivered until the clock
    // runs: the write's answer is lost like the run's.
    const one = answerCode(follower.propose({ type: "lpush", label: "s", items: ["w"], atMs: 0 }));
    const answers = await runAnswerLost(nodes, from, pushAThenB());
    assert.deepEqual(leader.machine.range("s", 0, -1), ["b", "a", "w", "x"], "applied by the leader");
    assert.ok(leader.transferLeadership(to === "the forwarding follower" ? from : other));
    await clock.advance(200);
    net.dropResultsFrom = 0;
    await clock.advance(3000);
    for (const d of drivers.values())
      assert.deepEqual(d.machine.range("s", 0, -1), ["b", "a", "w", "x"], `node ${d.id}`);
    assert.equal(one(), "timeout", "outcome unknown");
    assert.deepEqual(answers.sizes(2), ["timeout", "timeout"], "outcome unknown");
  });
}
