// How the peer transport follows this node: the cluster id its handshakes carry, link limits from the
// node's Raft timing, and links that follow the replicated member table.
import { createHash } from "node:crypto";
import type { NodeId } from "../raft/index.js";
import {
  assertLinkSilenceFits,
  defaultTransportLimits,
  parsePeerUrl,
  type TcpTransport,
  type TransportLimits,
} from "../transport/index.js";
import type { MemberTable } from "./members.js";
import type { NodeOptions } from "./options.js";

/** The id every peer handshake carries: peers started with another --cluster-token are refused. */
export function clusterIdOf(token: string): string {
  return createHash("sha256").update(`raftstack cluster ${token}`).digest("hex").slice(0, 16);
}

/** Election timeouts a peer link may go unacknowledged before it is reset (see linkSilenceMsMax). */
const LINK_SILENCE_ELECTION_TIMEOUTS = 10;

/** The transport limits that follow the node's Raft timing. */
export function linkLimitsOf(options: NodeOptions): Partial<TransportLimits> {
  const electionTimeoutMs = options.electionTicks * options.tickMs;
  // The core draws each election timeout from [electionTicks, 2 x electionTicks) ticks.
  const electionTimeoutMsMax = 2 * electionTimeoutMs;
  const limits = {
    // A restarted peer is back in the cluster within about one election timeout, not after a long backoff.
    reconnectMaxMs: Math.min(1000, electionTimeoutMs),
    // 3 s at the default timing: a cut or a vanished peer is noticed in seconds, not TCP's minutes.
    linkSilenceMsMax: LINK_SILENCE_ELECTION_TIMEOUTS * electionTimeoutMsMax,
    // At most one election timeout: at the fastest timings the flags accept (--tick-ms 1) the silence
    // is a few dozen ms, and the default 50 ms would not fit the acknowledgements it needs.
    linkAckDelayMs: Math.min(defaultTransportLimits.linkAckDelayMs, electionTimeoutMsMax),
    // A SYN is answered within a round trip, far below an election timeout on any network Raft's timing
    // suits; redialling that often gets a link up soon after a heal (see dialTimeoutMs).
    dialTimeoutMs: Math.min(defaultTransportLimits.connectTimeoutMs, electionTimeoutMsMax),
  };
  assertLinkSilenceFits({ electionTimeoutMsMax }, limits);
  return limits;
}

/**
 * Transport peers follow the applied member table: links to new members, none to removed ones. A link
 * to a member whose removal was just applied closes `retireMs` later: the leader's core says goodbye with
 * one last heartbeat carrying the commit index (raft/membership.ts, tellRemoved), which leaves with the
 * next Ready, after this. Closed at once, the removed node never learned its removal and pre-voted for
 * good (found in a newcomer's trial of `member remove`).
 */
export function followMembers(
  transport: TcpTransport,
  self: NodeId,
  members: MemberTable,
  retireMs = 0,
): void {
  const list = members.list().filter((m) => m.id !== self && m.peerUrl !== "");
  for (const m of list) transport.addPeer(m.id, parsePeerUrl(m.peerUrl));
  const ids = new Set(list.map((m) => m.id));
  for (const id of transport.peerIds()) {
    if (ids.has(id)) continue;
    if (retireMs === 0) transport.removePeer(id);
    // Ids are never reused, so the member cannot be back by then; unref: a stopping node does not wait.
    else setTimeout(() => transport.removePeer(id), retireMs).unref();
  }
}

/** How long a removed member's link outlives its removal: one longest election timeout. */
export function retireMsOf(options: Pick<NodeOptions, "electionTicks" | "tickMs">): number {
  return 2 * options.electionTicks * options.tickMs;
}

/**
 * A node that applied its own removal drops every peer link `delayMs` later: it serves nothing as a
 * member, and its redials were refused by every member, each logging a warning several times a second
 * (found in a newcomer's trial). A removed leader's delay (leaveMsOf) outlasts its hand-off, which gives
 * up after an election timeout; a follower, or a node restarted on a removed member's data dir, leaves
 * at once.
 */
export function leaveMembers(transport: TcpTransport, delayMs: number): void {
  const leave = () => {
    for (const id of transport.peerIds()) transport.removePeer(id);
  };
  if (delayMs === 0) leave();
  else setTimeout(leave, delayMs).unref();
}

/** How long a removed leader keeps its links: ten longest election timeouts (3 s at the defaults). */
export function leaveMsOf(options: Pick<NodeOptions, "electionTicks" | "tickMs">): number {
  return LINK_SILENCE_ELECTION_TIMEOUTS * retireMsOf(options);
}
