// The leader's view of a member it no longer hears: the driver turns the core's heardTicksAgo into
// lastHeardMs and cutOff (over 2 election timeouts), which GET /v1/cluster and `raftstack status` show.
import assert from "node:assert/strict";
import { test } from "node:test";
import { electedThree } from "./three-drivers.js";

// three-drivers: tickMs 10, electionTicks 10, so a member is cut off after 200 ms of silence.
const CUT_OFF_MS = 2 * 10 * 10;

test("a follower the leader stops hearing is cut off after 2 election timeouts; the other is not; followers know nothing", async () => {
  const { clock, drivers, net, leader, followers } = await electedThree();
  const [cut, kept] = followers;
  const before = leader.peerSilence();
  assert.deepEqual(before.get(leader.id), { lastHeardMs: 0, cutOff: false });
  for (const id of followers) assert.equal(before.get(id)?.cutOff, false, `node ${id} heard`);
  assert.ok((before.get(cut)?.lastHeardMs ?? Number.POSITIVE_INFINITY) <= 30, "heard within a heartbeat");

  net.isolated = cut;
  await clock.advance(CUT_OFF_MS - 50);
  assert.equal(leader.peerSilence().get(cut)?.cutOff, false, "not yet: within 2 election timeouts");
  await clock.advance(100);
  assert.equal(leader.raft.role, "leader", "the leader keeps its quorum with the other follower");
  const silent = leader.peerSilence().get(cut);
  assert.equal(silent?.cutOff, true);
  assert.ok((silent?.lastHeardMs ?? 0) > CUT_OFF_MS, `last heard ${silent?.lastHeardMs} ms ago`);
  assert.equal(leader.peerSilence().get(kept)?.cutOff, false);
  assert.equal(drivers.get(kept)?.peerSilence().size, 0, "a follower tracks no one");

  // Heard again: no longer cut off.
  net.isolated = 0;
  await clock.advance(100);
  assert.equal(leader.peerSilence().get(cut)?.cutOff, false);
});
