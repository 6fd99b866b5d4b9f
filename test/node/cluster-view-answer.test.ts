// RaftNode.clusterView on a follower, around its request to the leader: an answer from a node that is no
// longer this node's leader is not presented as the leader's view, and the caller gets an answer within
// clusterViewTimeoutMs even when the request itself settles only later (the forwarder expires requests
// on the tick, so with --tick-ms above a few ms that is well past the bound). The node is a stand-in:
// clusterView needs only status() and the request to the leader.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeLeaderView, memberStatuses } from "../../src/node/cluster-view.js";
import { clusterViewTimeoutMs, NodeError, type NodeStatus, RaftNode } from "../../src/node/index.js";
import type { ProgressStatus } from "../../src/raft/index.js";

const GUARD_MS = 5_000;
const table = [1, 2, 3].map((id) => ({ id, peerUrl: `http://p${id}`, clientUrl: `http://c${id}` }));
const pr = (match: number): ProgressStatus => ({
  match,
  next: match + 1,
  state: "replicate",
  recentActive: true,
  heardTicksAgo: 0,
});

/** Node 2's status while it knows `state.leader` (0: none) as the leader. */
function followerStatus(state: { leader: number }): NodeStatus {
  const s = {
    id: 2,
    term: 6,
    vote: 0,
    role: state.leader === 0 ? ("candidate" as const) : ("follower" as const),
    leader: state.leader,
    recovering: false,
    commit: 10,
    applied: 10,
    lastIndex: 10,
    config: { voters: [1, 2, 3], learners: [] } as never,
    progress: new Map<number, ProgressStatus>(),
  };
  return {
    id: 2,
    role: s.role,
    leader: s.leader,
    term: s.term,
    commit: s.commit,
    applied: s.applied,
    lastIndex: s.lastIndex,
    snapshotIndex: 0,
    viewFrom: 2,
    viewReason: "local view: replication progress is known only on the leader",
    members: memberStatuses(s, table, new Map()),
  };
}

/** Node `from`'s view as a leader: every member at `match`. */
function leaderView(from: number, match: number): Uint8Array {
  const s = {
    id: from,
    term: 5,
    vote: from,
    role: "leader" as const,
    leader: from,
    recovering: false,
    commit: match,
    applied: match,
    lastIndex: match,
    config: { voters: [1, 2, 3], learners: [] } as never,
    progress: new Map(table.map((m) => [m.id, pr(match)])),
  };
  return encodeLeaderView({ viewFrom: from, members: memberStatuses(s, table, new Map()) });
}

function standIn(state: { leader: number }, fetchLeaderView: (timeoutMs: number) => Promise<Uint8Array>) {
  const node = { status: () => followerStatus(state), requests: { fetchLeaderView } };
  return (local: boolean) => RaftNode.prototype.clusterView.call(node as unknown as RaftNode, local);
}

function guarded<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${GUARD_MS} ms`)), GUARD_MS);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

test("a node that stopped being the leader while asked: its answer is not shown as the leader's view", async () => {
  for (const after of [0, 3]) {
    // Node 2 asks node 1; before node 1's (stale) answer arrives, node 2 learns of a newer term: no
    // leader known yet (0), or node 3 leads.
    const state = { leader: 1 };
    const view = await guarded(
      standIn(state, async () => {
        state.leader = after;
        return leaderView(1, 7);
      })(false),
    );
    assert.equal(view.leader, after);
    assert.notEqual(view.viewReason, undefined, `node 1's view shown as the leader's with leader ${after}`);
    assert.equal(view.viewFrom, 2);
    for (const m of view.members) assert.equal(m.match, null, `member ${m.id}`);
    assert.match(view.viewReason ?? "", /node 1/);
  }
  // Still the leader when it answers: its view.
  const state = { leader: 1 };
  const view = await guarded(standIn(state, async () => leaderView(1, 7))(false));
  assert.deepEqual(
    [view.viewFrom, view.viewReason, view.members.map((m) => m.match)],
    [1, undefined, [7, 7, 7]],
  );
});

test("the answer comes within clusterViewTimeoutMs even if the request to the leader settles later", async () => {
  const state = { leader: 1 };
  // As the forwarder does with --tick-ms 1000: the deadline is seen at the next tick, here much later.
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const late = () =>
    new Promise<Uint8Array>((_, reject) => {
      timer = setTimeout(() => {
        settled = true;
        reject(new NodeError("timeout", "the leader did not answer in time"));
      }, clusterViewTimeoutMs + 1_000);
    });
  try {
    const view = await guarded(standIn(state, late)(false));
    assert.equal(settled, false, "answered only once the request to the leader settled");
    assert.match(view.viewReason ?? "", /^the leader \(node 1\) did not answer within 300 ms/);
    assert.equal(view.viewFrom, 2);
  } finally {
    clearTimeout(timer);
  }
});
