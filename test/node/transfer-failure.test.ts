// A leadership transfer that does not happen fails with one code, transfer_failed, and a stable reason,
// on the leader and on a follower that forwarded it (the reason crosses in the forward result's code).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { forwardErrorCode, nodeErrorOfForward } from "../../src/node/errors.js";
import { NodeError } from "../../src/node/index.js";
import type { LeaderRequests } from "../../src/node/leader-requests.js";
import type { ManualClock } from "./helpers.js";
import { leaderOf, threeNodes } from "./three-drivers.js";

/** Advances `clock` by `stepMs` until `p` settles (at most `stepsMax` steps); its value or error. */
async function settleOf<T>(clock: ManualClock, p: Promise<T>, stepMs: number, stepsMax: number) {
  const answer: { settled?: { value: T } | { error: unknown } } = {};
  p.then(
    (value) => {
      answer.settled = { value };
    },
    (error: unknown) => {
      answer.settled = { error };
    },
  );
  await clock.settle();
  for (let i = 0; i < stepsMax && answer.settled === undefined; i++) await clock.advance(stepMs);
  const settled = answer.settled as { value: T } | { error: unknown } | undefined; // set by the steps above
  assert.ok(settled !== undefined, `no answer within ${stepsMax * stepMs} ms`);
  return settled;
}

function transferFailure(settled: { error: unknown } | { value: unknown }): NodeError {
  assert.ok("error" in settled, `resolved: ${JSON.stringify(settled)}`);
  const err = settled.error;
  assert.ok(err instanceof NodeError && err.code === "transfer_failed", String(err));
  return err;
}

describe("a failed transfer's code and reason across a forward", () => {
  test("the reason rides after a slash and comes back; unknown codes are internal, unknown reasons dropped", () => {
    const failed = new NodeError("transfer_failed", "given up", 2, "target_unreachable");
    assert.equal(forwardErrorCode(failed), "transfer_failed/target_unreachable");
    const back = nodeErrorOfForward(forwardErrorCode(failed), failed.message, failed.leader);
    assert.deepEqual(
      [back.code, back.reason, back.message, back.leader],
      ["transfer_failed", "target_unreachable", "given up", 2],
    );
    assert.equal(forwardErrorCode(new NodeError("busy", "b")), "busy");
    assert.equal(nodeErrorOfForward("busy", "b", 0).reason, undefined);
    assert.equal(nodeErrorOfForward("from_a_newer_build", "x", 1).code, "internal");
    const newerReason = nodeErrorOfForward("transfer_failed/target_on_fire", "x", 1);
    assert.deepEqual([newerReason.code, newerReason.reason], ["transfer_failed", undefined]);
  });
});

describe("transfers to a dead target between real drivers", () => {
  test("a target that dies while it is caught up: answered transfer_failed target_unreachable once the core gives it up, on the leader and through a follower, and the leader takes writes again", async () => {
    const { clock, drivers, requests } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const [target, other] = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];
    const onLeader = requests.get(leader.id) as LeaderRequests;
    drivers.delete(target); // killed: its messages go nowhere
    void onLeader.propose({ type: "create", label: "s", atMs: 0 });
    await clock.settle(); // the write is out; the target misses it, so no TimeoutNow goes to it yet
    const asked = onLeader.transfer(target);
    await clock.settle();
    leader.peerUnreachable(target); // its connection closed
    const startMs = clock.now();
    const err = transferFailure(await settleOf(clock, asked, 10, 20));
    // Three heartbeat intervals (90 ms) after the target was last heard, before the transfer's own
    // timeout (an election timeout, 100 ms after it began) and long before the request's (2 s).
    assert.ok(clock.now() - startMs < 100, `answered after ${clock.now() - startMs} ms`);
    assert.equal(err.reason, "target_unreachable");
    assert.match(err.message, /given up before TimeoutNow/);
    assert.equal(err.leader, leader.id);
    assert.equal(leader.raft.role, "leader");
    assert.equal(leader.raft.propose([new Uint8Array(0)]).ok, true);

    // Again, asked of the live follower: the leader's answer crosses the forward with its reason.
    await clock.advance(200);
    const viaFollower = (requests.get(other) as LeaderRequests).transfer(target);
    const forwarded = transferFailure(await settleOf(clock, viaFollower, 10, 50));
    assert.equal(forwarded.reason, "target_unreachable", forwarded.message);
    assert.equal(forwarded.leader, leader.id);
  });

  test("a dead target that was caught up gets TimeoutNow at once: the request's deadline answers transfer_failed outcome_unknown, on the leader and through a follower", async () => {
    const { clock, drivers, requests } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const [target, other] = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];
    drivers.delete(target); // killed while idle: its log is complete, so nothing is left to catch up
    const onLeader = (requests.get(leader.id) as LeaderRequests).transfer(target);
    const err = transferFailure(await settleOf(clock, onLeader, 50, 60));
    assert.equal(err.reason, "outcome_unknown", err.message);
    assert.match(err.message, new RegExp(`node ${target} did not take leadership`));
    // Through the follower its own forward expires first (it began earlier): the same code and reason.
    const viaFollower = (requests.get(other) as LeaderRequests).transfer(target);
    const forwarded = transferFailure(await settleOf(clock, viaFollower, 50, 60));
    assert.equal(forwarded.reason, "outcome_unknown", forwarded.message);
    assert.match(forwarded.message, new RegExp(`node ${target} did not take leadership`));
  });
});
