// The members as a node sees them: the leader's progress, or null with a reason elsewhere (never a 0 that
// reads like "nothing replicated"); the leader's view travels to a follower within clusterViewBytesMax.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assertClusterViewFits,
  clusterViewBytesMax,
  decodeLeaderView,
  encodeLeaderView,
  memberStatuses,
  PROGRESS_LEADER_ONLY,
} from "../../src/node/cluster-view.js";
import { NodeError } from "../../src/node/index.js";
import { memberSilence } from "../../src/node/silence.js";
import type { ProgressStatus, Status } from "../../src/raft/index.js";
import { defaultTransportLimits } from "../../src/transport/index.js";

const table = [1, 2, 3].map((id) => ({ id, peerUrl: `http://p${id}`, clientUrl: `http://c${id}` }));

function status(id: number, role: Status["role"], progress: [number, ProgressStatus][] = []): Status {
  return {
    id,
    term: 3,
    vote: 1,
    role,
    leader: 1,
    recovering: false,
    commit: 40,
    applied: 39,
    lastIndex: 41,
    config: { voters: [1, 2, 3], learners: [] } as unknown as Status["config"],
    progress: new Map(progress),
  };
}

const pr = (match: number): ProgressStatus => ({
  match,
  next: match + 1,
  state: "replicate",
  recentActive: true,
  heardTicksAgo: 0,
});

test("on the leader: every member's match and state; its own entry also its last and applied index", () => {
  const members = memberStatuses(
    status(1, "leader", [
      [1, pr(41)],
      [2, pr(41)],
      [3, pr(7)],
    ]),
    table,
    new Map(),
  );
  assert.deepEqual(
    members.map((m) => [m.id, m.match, m.state, m.progress]),
    [
      [1, 41, "replicate", undefined],
      [2, 41, "replicate", undefined],
      [3, 7, "replicate", undefined],
    ],
  );
  assert.deepEqual([members[0]?.lastIndex, members[0]?.applied], [41, 39]);
  assert.equal(members[1]?.lastIndex, undefined);
  // A member in the table that the leader does not track (not in its configuration) says so.
  const untracked = memberStatuses(status(1, "leader", [[1, pr(41)]]), table, new Map())[2];
  assert.deepEqual([untracked?.match, untracked?.state], [null, null]);
  assert.match(untracked?.progress ?? "", /not tracked by the leader/);
});

test("on a follower: no number where the progress is unknown, and the reason", () => {
  const members = memberStatuses(status(2, "follower"), table, new Map());
  for (const m of members) {
    assert.equal(m.match, null);
    assert.equal(m.state, null);
    assert.equal(m.progress, PROGRESS_LEADER_ONLY);
  }
  assert.deepEqual([members[1]?.lastIndex, members[1]?.applied], [41, 39]);
});

test("a leader's view: encoded, decoded; too large refused both ways; foreign answers rejected", () => {
  const members = memberStatuses(
    status(1, "leader", [
      [1, pr(41)],
      [2, pr(3)],
      [3, pr(0)],
    ]),
    table,
    new Map(),
  );
  assert.deepEqual(decodeLeaderView(encodeLeaderView({ viewFrom: 1, members })), { viewFrom: 1, members });

  const many = Array.from({ length: 2000 }, (_, i) => ({
    ...table[0]!,
    id: i + 1,
    match: 1,
    state: "probe",
  }));
  assert.throws(
    () => encodeLeaderView({ viewFrom: 1, members: many }),
    (err: unknown) => err instanceof NodeError && err.code === "too_large",
  );
  const big = new TextEncoder().encode(JSON.stringify({ viewFrom: 1, members: many }));
  assert.ok(big.length > clusterViewBytesMax);
  assert.equal(decodeLeaderView(big), undefined);

  const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const one = { id: 2, peerUrl: "", clientUrl: "" };
  for (const bad of [
    "not json",
    [],
    { members: [] },
    { viewFrom: 1, members: [{ ...one, match: -1, state: "probe" }] },
    { viewFrom: 1, members: [{ ...one, match: null, state: null }] },
    { viewFrom: 1, members: [{ ...one, match: "5", state: "probe" }] },
  ]) {
    const encoded = typeof bad === "string" ? new TextEncoder().encode(bad) : bytes(bad);
    assert.equal(decodeLeaderView(encoded), undefined, JSON.stringify(bad));
  }
  assert.equal(decodeLeaderView(new Uint8Array([0xff, 0xfe])), undefined);
});

test("the largest view fits one forward-result frame of the default transport; a small frame is refused", () => {
  assertClusterViewFits(defaultTransportLimits.frameBytesMax);
  assert.throws(() => assertClusterViewFits(clusterViewBytesMax), RangeError);
});

test("a member's silence: ms from the core's ticks; cut off past 2 election timeouts, never heard counts from the take-over", () => {
  const timing = (ticksLed: number) => ({ tickMs: 10, electionTicks: 15, ticksLed });
  assert.deepEqual(memberSilence(0, timing(100)), { lastHeardMs: 0, cutOff: false });
  assert.deepEqual(memberSilence(30, timing(100)), { lastHeardMs: 300, cutOff: false });
  assert.deepEqual(memberSilence(31, timing(100)), { lastHeardMs: 310, cutOff: true });
  // Not heard since it took over: unknown when, and cut off only once it has led that long.
  assert.deepEqual(memberSilence(Number.POSITIVE_INFINITY, timing(30)), { lastHeardMs: null, cutOff: false });
  assert.deepEqual(memberSilence(Number.POSITIVE_INFINITY, timing(31)), { lastHeardMs: null, cutOff: true });

  const silence = new Map([
    [1, { lastHeardMs: 0, cutOff: false }],
    [3, { lastHeardMs: 5000, cutOff: true }],
  ]);
  const members = memberStatuses(
    status(1, "leader", [
      [1, pr(41)],
      [2, pr(41)],
      [3, pr(7)],
    ]),
    table,
    silence,
  );
  assert.deepEqual(
    members.map((m) => [m.id, m.lastHeardMs, m.cutOff]),
    [
      [1, 0, false],
      [2, null, null],
      [3, 5000, true],
    ],
  );
  // A follower does not know: null, as its match.
  const local = memberStatuses(status(2, "follower"), table, silence);
  assert.deepEqual(
    local.map((m) => [m.lastHeardMs, m.cutOff]),
    [
      [null, null],
      [null, null],
      [null, null],
    ],
  );
  // A leader's view travels with them; an older leader's without them still decodes; a wrong type does not.
  assert.deepEqual(decodeLeaderView(encodeLeaderView({ viewFrom: 1, members }))?.members, members);
  const older = members.map(({ lastHeardMs: _, cutOff: __, ...m }) => m);
  assert.deepEqual(decodeLeaderView(encodeLeaderView({ viewFrom: 1, members: older }))?.members, older);
  const wrong = members.map((m) => ({ ...m, cutOff: "yes" }));
  assert.equal(
    decodeLeaderView(new TextEncoder().encode(JSON.stringify({ viewFrom: 1, members: wrong }))),
    undefined,
  );
});
