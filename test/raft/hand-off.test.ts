import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { handOffTarget, requestedSilentTicksMax } from "../../src/raft/hand-off.js";
import { NONE } from "../../src/raft/index.js";
import { Cluster } from "./harness.js";

// The hand-off ranking (src/raft/hand-off.ts) at the default node timing: a heartbeat every 3 ticks, an
// election timeout of 15. Leader 1 at tick 100; `heard` maps a voter to [match, ticks since heard].
const timing = { heartbeatTicks: 3, electionTicks: 15 };
const now = 100;
function pick(heard: Record<number, [number, number]>, voters?: number[], silentTicksMax?: number): number {
  const progress = new Map(
    Object.entries(heard).map(([id, [match, ago]]) => [
      Number(id),
      { match, heardAt: now - ago, unreachable: false },
    ]),
  );
  const ids = voters ?? [1, ...progress.keys()];
  return handOffTarget(1, ids, progress, now, timing, silentTicksMax);
}

describe("hand-off ranking", () => {
  test("heard within two heartbeat intervals beats more log heard earlier", () => {
    assert.equal(pick({ 2: [50, 7], 3: [10, 6] }), 3);
    assert.equal(pick({ 2: [50, 16], 3: [10, 15] }), 3, "within an election timeout beats longer ago");
    assert.equal(pick({ 2: [50, 6], 3: [10, 0] }), 2, "within a rank, the most log");
    assert.equal(pick({ 2: [50, 15], 3: [10, 7] }), 2);
  });

  test("ties: the one heard last, then the lowest id (not the voters' order)", () => {
    assert.equal(pick({ 2: [50, 4], 3: [50, 1] }), 3);
    assert.equal(pick({ 3: [50, 1], 2: [50, 1] }, [3, 1, 2]), 2);
    assert.equal(pick({ 3: [50, Infinity], 2: [50, Infinity] }, [3, 2]), 2);
  });

  test("a voter reported unreachable since it was last heard ranks last", () => {
    const progress = new Map([
      [2, { match: 50, heardAt: now, unreachable: true }],
      [3, { match: 10, heardAt: now - 14, unreachable: false }],
    ]);
    assert.equal(handOffTarget(1, [1, 2, 3], progress, now, timing), 3);
    progress.set(3, { match: 10, heardAt: now - 16, unreachable: false });
    assert.equal(handOffTarget(1, [1, 2, 3], progress, now, timing), 2, "in the last rank, the most log");
  });

  test("the first rank never reaches past an election timeout", () => {
    const slowHeartbeats = { heartbeatTicks: 10, electionTicks: 12 };
    const progress = new Map([
      [2, { match: 50, heardAt: now - 13, unreachable: false }],
      [3, { match: 10, heardAt: now - 12, unreachable: false }],
    ]);
    assert.equal(handOffTarget(1, [1, 2, 3], progress, now, slowHeartbeats), 3);
  });

  test("a requested transfer skips voters silent for two election timeouts; a removed leader's takes any", () => {
    const max = requestedSilentTicksMax(timing);
    assert.equal(max, 29);
    assert.equal(pick({ 2: [50, 29] }, undefined, max), 2);
    assert.equal(pick({ 2: [50, 30] }, undefined, max), NONE);
    assert.equal(pick({ 2: [50, Infinity] }, undefined, max), NONE, "never heard: a member just added");
    assert.equal(pick({ 2: [50, Infinity], 3: [10, 40] }), 2, "never heard ranks with the long silent");
    assert.equal(pick({ 2: [10, Infinity], 3: [10, 40] }), 3);
    assert.equal(pick({ 2: [50, Infinity] }), 2);
    assert.equal(pick({}), NONE, "no other voter");
    assert.equal(pick({ 2: [50, 0] }, [1, 3]), NONE, "a voter without progress is skipped");
  });
});

// A candidate's votes count as heard at the tick each arrived: a vote that came early in a long campaign
// is as old as it is, not as fresh as the election. 5 voters, 4 and 5 down: 1 needs the votes of 2 and 3.
test("a new leader knows when each vote arrived", () => {
  const c = new Cluster(5, { seed: 1 });
  c.crash(4);
  c.crash(5);
  const answers = c.campaign(1);
  c.queue = answers.filter((m) => m.from === 2);
  c.deliver();
  c.tick(1, 3);
  c.queue = answers.filter((m) => m.from === 3);
  c.deliver();
  assert.equal(c.raft(1).role, "leader");
  const pr = c.raft(1).status().progress;
  const ago = [2, 3, 4, 5].map((id) => pr.get(id)?.heardTicksAgo);
  assert.deepEqual(ago, [3, 0, Infinity, Infinity]);
});
