import { NONE, type NodeId } from "./types.js";

/** What the hand-off needs of a member's progress: its log, and when the leader last heard from it. */
export interface HandOffProgress {
  readonly match: number;
  /** RaftState.ticks when the leader last heard from it in this term; -Infinity: never. */
  readonly heardAt: number;
  /** The transport reported it unreachable since it was last heard. */
  readonly unreachable: boolean;
}

export interface HandOffTiming {
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
}

/**
 * The voter (not `self`) to hand leadership to at tick `now`, NONE without another voter heard within
 * `silentTicksMax`. Voters rank by how recently they were heard: within two heartbeat intervals (alive:
 * it answered one of the last two heartbeats), then within an election timeout, then any; within a
 * rank the one holding the most of the log wins (the fewest entries to send before TimeoutNow), then
 * the one heard last, then the lowest id. Recency comes first because a dead target costs the whole
 * transfer (an election timeout without a leader taking proposals) while a lagging one costs only
 * some appends: a voter that went down a moment ago must not win on its log (on an idle cluster every
 * match is equal) over one that is answering. Ticks rather than check-quorum rounds: a round clears
 * every follower at once, so right after one the dead and the living looked alike. A voter the
 * transport reported unreachable since it was last heard ranks last: a killed process' connection
 * closes at once, while in ticks it looks alive until it misses two heartbeats.
 */
export function handOffTarget(
  self: NodeId,
  voters: readonly NodeId[],
  progress: ReadonlyMap<NodeId, HandOffProgress>,
  now: number,
  timing: HandOffTiming,
  silentTicksMax = Number.POSITIVE_INFINITY,
): NodeId {
  let best: NodeId = NONE;
  let bestRank = Number.POSITIVE_INFINITY;
  let bestMatch = -1;
  let bestHeardAt = Number.NEGATIVE_INFINITY;
  for (const id of voters) {
    const pr = progress.get(id);
    if (id === self || pr === undefined || now - pr.heardAt > silentTicksMax) continue;
    const rank = pr.unreachable ? lastRank : silenceRank(now - pr.heardAt, timing);
    const better =
      rank !== bestRank
        ? rank < bestRank
        : pr.match !== bestMatch
          ? pr.match > bestMatch
          : pr.heardAt !== bestHeardAt
            ? pr.heardAt > bestHeardAt
            : id < best;
    if (!better) continue;
    best = id;
    bestRank = rank;
    bestMatch = pr.match;
    bestHeardAt = pr.heardAt;
  }
  return best;
}

const lastRank = 2;

/**
 * 0: heard within two heartbeat intervals (never more than an election timeout, so a voter in rank 0
 * was heard within one); 1: within an election timeout; 2: longer ago, or never.
 */
function silenceRank(silentTicks: number, timing: HandOffTiming): number {
  if (silentTicks <= Math.min(2 * timing.heartbeatTicks, timing.electionTicks)) return 0;
  return silentTicks <= timing.electionTicks ? 1 : lastRank;
}

/**
 * A requested transfer (no target named, or a stopping leader's hand-over) skips voters silent for two
 * election timeouts or more: under check-quorum a leader heard a majority in its last round, which
 * ended less than an election timeout ago and lasted one (its first round counts the campaign's last
 * vote, heard at the election), so while it leads another voter is always within this span.
 */
export function requestedSilentTicksMax(timing: HandOffTiming): number {
  return 2 * timing.electionTicks - 1;
}

/**
 * A transfer whose target the transport reported unreachable is given up, before TimeoutNow, once the
 * target was also silent for more than three heartbeat intervals. A living target answers every
 * heartbeat; one link blip (a connection dropped and redialled, its queued messages lost) costs the
 * heartbeat in flight and perhaps the next, and the target is heard again with the one after. Two
 * intervals, the hand-off's "alive" rank, would let a blip spanning two heartbeats kill a working transfer.
 */
export function transferSilentTicksMax(timing: HandOffTiming): number {
  return 3 * timing.heartbeatTicks;
}
