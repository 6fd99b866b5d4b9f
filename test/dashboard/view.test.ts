// The dashboard's member table and its note say where the view comes from: a follower names the leader,
// a node cut off from the others says so (issue 14: "works when the node serving it is a follower or cut off").
import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterPicture, type PeerAnswer } from "../../src/dashboard/index.js";

const members = [1, 2, 3].map((id) => ({
  id,
  peerUrl: `http://127.0.0.1:${100 + id}`,
  clientUrl: `http://127.0.0.1:${200 + id}`,
  match: 0,
  state: "replicate",
}));

function view(id: number, role: string, leader: number, term: number, commit: number, applied = commit) {
  return {
    id,
    role,
    leader,
    term,
    commit,
    applied,
    lastIndex: commit,
    snapshotIndex: 0,
    viewFrom: id,
    members,
  };
}

function answered(v: ReturnType<typeof view>): PeerAnswer {
  return {
    id: v.id,
    clientUrl: `http://127.0.0.1:${200 + v.id}`,
    summary: { cluster: v, events: [], lastSeq: 0, rate: null },
    error: undefined,
    ms: 2,
  };
}

function silent(id: number): PeerAnswer {
  return { id, clientUrl: `http://127.0.0.1:${200 + id}`, summary: undefined, error: "ECONNREFUSED", ms: 1 };
}

test("served by a follower: every member, the leader named, lag against the leader's commit", () => {
  const leader = { ...view(1, "leader", 1, 4, 10), members: members.map((m) => ({ ...m, match: 10 })) };
  const p = clusterPicture(
    view(2, "follower", 1, 4, 9, 7),
    new Map([
      [1, answered(leader)],
      [3, answered(view(3, "follower", 1, 4, 10))],
    ]),
  );
  assert.equal(p.leader, 1);
  assert.equal(p.cutOff, false);
  assert.deepEqual(
    p.members.map((m) => [m.id, m.role, m.health, m.lag, m.match]),
    [
      [1, "leader", "ok", 0, 10],
      [2, "follower", "ok", 3, 10],
      [3, "follower", "ok", 0, 10],
    ],
  );
  assert.equal(p.note, "node 2 serves this page as a follower; the leader is node 1.");
});

test("served by a node cut off from the others: it says so, and names the leader others report", () => {
  const cut = clusterPicture(
    view(3, "preCandidate", 0, 4, 9),
    new Map([
      [1, silent(1)],
      [2, silent(2)],
    ]),
  );
  assert.equal(cut.cutOff, true);
  assert.deepEqual(
    cut.members.map((m) => m.health),
    ["unreachable", "unreachable", "no leader"],
  );
  assert.match(cut.note, /node 3 serves this page and knows no leader: it is cut off/);
  assert.match(cut.note, /it reaches none of the other members/);

  // Half cut off: it still hears node 1, which names the leader of a newer term.
  const half = clusterPicture(
    view(3, "follower", 0, 4, 9),
    new Map([
      [1, answered(view(1, "leader", 1, 5, 12))],
      [2, silent(2)],
    ]),
  );
  assert.equal(half.leader, 1);
  assert.equal(half.term, 5);
  assert.equal(half.cutOff, true);
  assert.match(half.note, /\(others name node 1\); it cannot reach node 2\./);
});

test("a removed node is shown removed, not by its Raft role: the one serving the page, or a member it lists", () => {
  const others = members.filter((m) => m.id !== 3);
  // The removed node's own view lacks it and names no leader (docs/api.md); the others answer.
  const removed = { ...view(3, "follower", 0, 5, 9), members: others, removed: true as const };
  const own = clusterPicture(
    removed,
    new Map([
      [1, answered({ ...view(1, "leader", 1, 5, 12), members: others })],
      [2, answered({ ...view(2, "follower", 1, 5, 12), members: others })],
    ]),
  );
  assert.deepEqual(
    own.members.map((m) => [m.id, m.role, m.self]),
    [
      [1, "leader", false],
      [2, "follower", false],
      [3, "removed", true],
    ],
  );
  assert.equal(
    own.note,
    "node 3 serves this page but was removed from the cluster: it serves no reads or writes (the others name node 1 leader).",
  );

  // A member that has not applied the removal yet still lists node 3, which answers as removed.
  const lagging = clusterPicture(
    view(2, "follower", 1, 5, 9),
    new Map([
      [1, answered(view(1, "leader", 1, 5, 12))],
      [3, answered(removed)],
    ]),
  );
  assert.deepEqual(
    lagging.members.map((m) => [m.id, m.role]),
    [
      [1, "leader"],
      [2, "follower"],
      [3, "removed"],
    ],
  );
});

test("a member the leader has not heard from for over 2 election timeouts is cut off, whether or not it answers here", () => {
  const heard = (id: number, lastHeardMs: number | null, cutOff: boolean) => ({
    ...(members[id - 1] as (typeof members)[number]),
    lastHeardMs,
    cutOff,
  });
  const leaderMembers = [heard(1, 0, false), heard(2, 40, false), heard(3, 4200, true)];
  const leader = { ...view(1, "leader", 1, 4, 10), members: leaderMembers };
  // Served by the leader: node 3 answers this page (its client port is not cut), yet the leader does not hear it.
  const p = clusterPicture(
    leader,
    new Map([
      [2, answered(view(2, "follower", 1, 4, 10))],
      [3, answered(view(3, "preCandidate", 0, 4, 9))],
    ]),
  );
  assert.equal(p.cutOff, false, "the serving node is not cut off");
  assert.deepEqual(
    p.members.map((m) => [m.id, m.health, m.cutOff, m.lastHeardMs]),
    [
      [1, "ok", false, 0],
      [2, "ok", false, 40],
      [3, "no leader", true, 4200],
    ],
  );
  assert.equal(
    p.note,
    "node 1 serves this page and is the leader (term 4); node 3 is cut off: the leader last heard from it 4200 ms ago.",
  );

  // Served by the other follower, which reaches the leader but not node 3: the leader's view still says why.
  const fromFollower = clusterPicture(
    view(2, "follower", 1, 4, 10),
    new Map([
      [1, answered(leader)],
      [3, silent(3)],
    ]),
  );
  const row3 = fromFollower.members.find((m) => m.id === 3);
  assert.deepEqual([row3?.health, row3?.cutOff, row3?.lastHeardMs], ["unreachable", true, 4200]);
  assert.match(
    fromFollower.note,
    /it cannot reach node 3; node 3 is cut off: the leader last heard from it 4200 ms ago\.$/,
  );

  // Not heard since the leader took over; and an older leader that says nothing of it shows nothing.
  const never = clusterPicture(
    { ...leader, members: [heard(1, 0, false), heard(2, 40, false), heard(3, null, true)] },
    new Map(),
  );
  assert.match(never.note, /node 3 is cut off: the leader has not heard from it since it took over\.$/);
  const older = clusterPicture(view(1, "leader", 1, 4, 10), new Map());
  assert.deepEqual(
    older.members.map((m) => [m.cutOff, m.lastHeardMs]),
    [
      [undefined, undefined],
      [undefined, undefined],
      [undefined, undefined],
    ],
  );
  assert.doesNotMatch(older.note, /cut off/);
});
