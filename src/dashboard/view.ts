import type { ClusterView } from "../server/index.js";
import type { PeerAnswer } from "./peers.js";

/** How a member looks from the serving node this second. */
export type Health = "ok" | "no leader" | "unreachable";

export interface MemberRow {
  readonly id: number;
  readonly clientUrl: string;
  /** The node serving this dashboard. */
  readonly self: boolean;
  readonly health: Health;
  /** Why it is unreachable (timeout, connection refused). */
  readonly error?: string;
  readonly role?: string;
  readonly term?: number;
  /** The leader this member knows (0: none). */
  readonly leader?: number;
  readonly commit?: number;
  readonly applied?: number;
  readonly lastIndex?: number;
  /** Entries the leader committed that this member has not applied yet. */
  readonly lag?: number;
  /** The leader's acknowledged index for this member (when the leader's view is known). */
  readonly match?: number;
  /** Round trip of the serving node's request, in ms. */
  readonly rttMs?: number;
  /**
   * The leader's view's `cutOff`: it has not heard from this member for over 2 election timeouts, so the
   * member takes no part in the quorum, whether or not it answers here. Absent when the leader's view
   * did not reach the serving node or does not say (an older leader).
   */
  readonly cutOff?: boolean;
  /** The leader's view's `lastHeardMs` (null: not heard since it took over), beside `cutOff`. */
  readonly lastHeardMs?: number | null;
}

export interface ClusterPicture {
  readonly members: readonly MemberRow[];
  /** The leader of the highest term any reachable member knows (0: none known). */
  readonly leader: number;
  readonly term: number;
  /** True when the serving node knows no leader or reaches none of the others. */
  readonly cutOff: boolean;
  /** One sentence on where this view comes from, shown above the table. */
  readonly note: string;
}

type View = ClusterView;

/** Merges the serving node's own status with the summaries its peers answered (or did not). */
export function clusterPicture(self: View, peers: ReadonlyMap<number, PeerAnswer>): ClusterPicture {
  const views = new Map<number, View>([[self.id, self]]);
  for (const [id, p] of peers) if (p.summary !== undefined) views.set(id, p.summary.cluster);
  // The newest term's claim wins: a deposed leader that has not heard of the new term yet is stale.
  let best: View = self;
  for (const v of views.values()) {
    if (v.term > best.term || (v.term === best.term && v.leader !== 0 && best.leader === 0)) best = v;
  }
  const leader = best.leader;
  const leaderView = views.get(leader);
  let leaderCommit = leaderView?.commit ?? 0;
  if (leaderView === undefined)
    for (const v of views.values()) leaderCommit = Math.max(leaderCommit, v.commit);
  // Only the leader knows the members' progress: a follower's own view has null there.
  const matchOf = new Map<number, number>();
  const heardOf = new Map<number, { cutOff: boolean; lastHeardMs: number | null }>();
  if (leaderView?.role === "leader")
    for (const m of leaderView.members) {
      if (m.match !== null) matchOf.set(m.id, m.match);
      if (typeof m.cutOff === "boolean")
        heardOf.set(m.id, { cutOff: m.cutOff, lastHeardMs: m.lastHeardMs ?? null });
    }
  // A removed node's own view lacks it (docs/api.md), but the page still shows the node serving it.
  const listed = self.removed === true ? [...self.members, { id: self.id, clientUrl: "" }] : self.members;
  const members = listed.map((m): MemberRow => {
    const v = views.get(m.id);
    const answer = peers.get(m.id);
    const base = { id: m.id, clientUrl: m.clientUrl, self: m.id === self.id, ...heardOf.get(m.id) };
    if (v === undefined) {
      return { ...base, health: "unreachable", error: answer?.error ?? "not asked yet" };
    }
    return {
      ...base,
      health: v.leader === 0 ? "no leader" : "ok",
      // A removed node's Raft role (a follower, or a leader handing off) would hide that it is out, as in
      // `raftstack status`.
      role: v.removed === true ? "removed" : v.role,
      term: v.term,
      leader: v.leader,
      commit: v.commit,
      applied: v.applied,
      // A member of an older version may not send it.
      ...(v.lastIndex === undefined ? {} : { lastIndex: v.lastIndex }),
      lag: Math.max(0, leaderCommit - v.applied),
      ...(matchOf.has(m.id) ? { match: matchOf.get(m.id) as number } : {}),
      ...(answer === undefined ? {} : { rttMs: answer.ms }),
    };
  });
  const unreachable = members.filter((m) => m.health === "unreachable" && !m.self).map((m) => m.id);
  const others = members.length - 1;
  const cutOff = self.leader === 0 || (others > 0 && unreachable.length === others);
  const note = noteOf(
    self,
    leader,
    unreachable,
    others,
    members.filter((m) => m.cutOff === true),
  );
  return { members, leader, term: best.term, cutOff, note };
}

function noteOf(
  self: View,
  leader: number,
  unreachable: readonly number[],
  others: number,
  cut: readonly MemberRow[],
): string {
  const me = `node ${self.id}`;
  const parts: string[] = [];
  if (self.removed === true)
    parts.push(
      `${me} serves this page but was removed from the cluster: it serves no reads or writes` +
        (leader !== 0 ? ` (the others name node ${leader} leader)` : ""),
    );
  else if (self.role === "leader") parts.push(`${me} serves this page and is the leader (term ${self.term})`);
  else if (self.leader !== 0)
    parts.push(`${me} serves this page as a ${self.role}; the leader is node ${self.leader}`);
  else
    parts.push(
      `${me} serves this page and knows no leader: it is cut off from a quorum or an election is under way` +
        (leader !== 0 ? ` (others name node ${leader})` : ""),
    );
  if (others > 0 && unreachable.length === others) parts.push(`it reaches none of the other members`);
  else if (unreachable.length > 0) parts.push(`it cannot reach node ${unreachable.join(", ")}`);
  for (const m of cut) parts.push(`node ${m.id} is cut off: ${heardText(m.lastHeardMs ?? null)}`);
  return `${parts.join("; ")}.`;
}

/** What the leader says of a cut-off member's silence (as `raftstack status` words it). */
function heardText(lastHeardMs: number | null): string {
  return lastHeardMs === null
    ? "the leader has not heard from it since it took over"
    : `the leader last heard from it ${lastHeardMs} ms ago`;
}
