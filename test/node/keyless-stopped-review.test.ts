// Review of ee87b20/08b0ffc (a follower past 90% of its exactly-once table forwards keyless writes without
// a key, not sent again after an unknown outcome). Forwarder.failed passes a non-idempotent request's
// error through unless it is REFUSED (not_leader, no_leader). A leader that stops answers its proposals
// already in the log `stopped` (Driver.stop -> Proposals.failAll("stopped")), and forwards that to the
// follower; the client is told `stopped` (503 with Retry-After, not "outcome unknown"), while the entry
// commits under the next leader. Before ee87b20 the same write carried a node key: `stopped` is RETRIED
// for an idempotent request, so the follower sent it again to the next leader and told the real outcome.
import assert from "node:assert/strict";
import { test } from "node:test";
import { answerCode, followerKeyTaken, leaderOf, nextLeader, threeNodes } from "./three-drivers.js";

test("a keyless write through a follower whose leader stops after proposing it is not answered 'stopped' once applied", {
  timeout: 30_000,
}, async () => {
  // The follower's first write takes the table's one slot with its key: the next goes without a key.
  const { clock, drivers, net, leader, follower, leaderRequests } = await followerKeyTaken({
    sessionsMax: 1,
  });
  // The leader hears no acknowledgement: it proposes and replicates the write, but does not commit it.
  net.deaf = leader.id;
  const answer = answerCode(follower.propose({ type: "lpush", label: "s", items: ["w"], atMs: 0 }));
  await clock.advance(20);
  for (const d of drivers.values())
    assert.ok(d.raft.log.lastIndex() >= leader.raft.log.lastIndex(), `node ${d.id} holds the entry`);
  // The leader stops (a rolling restart): its proposals are answered `stopped`.
  leader.stop();
  leaderRequests.close();
  net.isolated = leader.id;
  await clock.advance(3000);
  const next = nextLeader(drivers, leader);
  assert.deepEqual(next.machine.range("s", 0, -1), ["w", "x"], "the write was applied by the next leader");
  // Applied, so `stopped` ("node is shutting down", Retry-After) invites a client to push w again.
  assert.equal(answer(), "timeout", `answered ${answer()} for an applied write`);
});

// The same answer on the leader's own path (before ee87b20 too): the root is Driver.stop answering the
// proposals already in its log `stopped` (Proposals.failAll("stopped")) rather than "outcome unknown".
test("a keyless write proposed on a leader that then stops is not answered 'stopped' once applied", {
  timeout: 30_000,
}, async () => {
  const { clock, drivers, requests, net } = await threeNodes();
  await clock.advance(1000);
  const leader = leaderOf(drivers);
  const leaderRequests = requests.get(leader.id);
  assert.ok(leaderRequests !== undefined);
  net.deaf = leader.id;
  const answer = answerCode(leaderRequests.propose({ type: "lpush", label: "s", items: ["w"], atMs: 0 }));
  await clock.advance(20);
  leader.stop();
  leaderRequests.close();
  net.isolated = leader.id;
  await clock.advance(3000);
  const next = nextLeader(drivers, leader);
  assert.deepEqual(next.machine.range("s", 0, -1), ["w"], "the write was applied by the next leader");
  assert.equal(answer(), "timeout", `answered ${answer()} for an applied write`);
});
