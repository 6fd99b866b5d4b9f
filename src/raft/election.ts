import type { VoteRefusal } from "./events.js";
import type { RaftState } from "./state.js";
import { NONE, type VoteMsg, type VoteRespMsg } from "./types.js";

type CampaignKind = "preVote" | "election" | "transfer";

/** Follower or candidate: count a tick and campaign when the randomized election timeout passes. */
export function tickElection(r: RaftState): void {
  r.electionElapsed++;
  if (r.transferDeferredTicks > 0) r.transferDeferredTicks--;
  if (r.leaderUnreachable && leaderSilent(r)) suspectLeader(r);
  // The timeout first: canCampaign may scan the committed but unapplied entries.
  if (r.electionElapsed >= r.randomizedElectionTimeout && r.canCampaign()) {
    r.electionElapsed = 0;
    campaign(r, r.opts.preVote ? "preVote" : "election");
  }
}

/**
 * The transport could not reach the leader (a crashed process refuses connections at once). Acting on
 * that alone would let one broken direction of a link, or a connection that drops and comes back,
 * clear a healthy leader, and a follower without a leader grants votes; so it counts only once the
 * leader has also been silent for longer than a heartbeat interval.
 */
export function reportLeaderUnreachable(r: RaftState): void {
  r.leaderUnreachable = true;
  if (leaderSilent(r)) suspectLeader(r);
}

/** A heartbeat is overdue: nothing from the leader for more than a heartbeat interval. */
function leaderSilent(r: RaftState): boolean {
  return r.electionElapsed > r.opts.heartbeatTicks;
}

/**
 * Stop deferring to the leader and campaign within half an election timeout instead of a whole one;
 * pre-vote keeps this from disrupting a leader that is in fact alive for the others.
 */
function suspectLeader(r: RaftState): void {
  r.leaderUnreachable = false;
  r.setLeader(NONE);
  const soon = r.randomizedElectionTimeout - 1 - r.rng.int(Math.ceil(r.opts.electionTicks / 2));
  r.electionElapsed = Math.max(r.electionElapsed, soon);
}

export function campaign(r: RaftState, kind: CampaignKind): void {
  if (!r.canCampaign()) return;
  if (kind === "preVote") {
    r.preVoteRounds++;
    r.becomePreCandidate();
  } else r.becomeCandidate();
  const preVote = kind === "preVote";
  r.emit({
    type: "campaignStarted",
    term: preVote ? r.term + 1 : r.term,
    kind,
    preVoteRounds: r.preVoteRounds,
  });
  if (r.tracker.poll(r.id, true) === "won") {
    winCampaign(r);
    return;
  }
  const lastIndex = r.log.lastIndex();
  const lastTerm = r.log.lastTerm();
  for (const to of r.config.voters) {
    if (to === r.id) continue;
    if (preVote) {
      r.send({ type: "vote", to, term: r.term + 1, preVote, transfer: false, lastIndex, lastTerm });
    } else {
      r.send({ type: "vote", to, preVote, transfer: kind === "transfer", lastIndex, lastTerm });
    }
  }
}

function winCampaign(r: RaftState): void {
  if (r.role === "preCandidate") campaign(r, "election");
  else r.becomeLeader();
}

/** §5.2, §5.4.1: one vote per term, only for a log at least as up-to-date as ours. */
export function handleVote(r: RaftState, m: VoteMsg): void {
  const refusal = voteRefusal(r, m);
  if (refusal === undefined) {
    r.send({ type: "voteResp", to: m.from, term: m.term, preVote: m.preVote, reject: false });
    if (!m.preVote) {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
    return;
  }
  refuseVote(r, m, refusal);
  r.send({ type: "voteResp", to: m.from, preVote: m.preVote, reject: true });
}

export function refuseVote(r: RaftState, m: VoteMsg, reason: VoteRefusal): void {
  r.emit({ type: "voteRefused", term: r.term, candidate: m.from, preVote: m.preVote, reason });
}

function voteRefusal(r: RaftState, m: VoteMsg): VoteRefusal | undefined {
  // A lost log would make any candidate look up to date. No exemption for two voters: the snapshot
  // went with the log, so the configuration is the --cluster list (or none after --join), which may
  // be older than the cluster's; one that grew from {1, 2} to {1, 2, 3} committed entries with {1, 3}
  // that 2 lacks, and 1 would vote 2 in (docs/recovery.md, "Two voters").
  if (r.recovering) return "recovering";
  const alreadyVotedForIt = r.vote === m.from;
  const futureTerm = m.preVote && m.term > r.term;
  const free = r.vote === NONE && r.leader === NONE;
  if (!(alreadyVotedForIt || free || futureTerm || r.opts.mutations.grantTwoVotesPerTerm === true)) {
    return r.vote === NONE ? "leaderKnown" : "votedForAnother";
  }
  if (!r.log.isUpToDate(m.lastIndex, m.lastTerm)) return "logBehind";
  if (defersToPreVoter(r, m)) return "preVoteDeferral";
  return undefined;
}

/**
 * Two pre-candidates with equally up-to-date logs would grant each other and split the real vote, so
 * in its first pre-vote round a pre-candidate refuses a peer with a lower id (fast failover: one of
 * them wins at once). Only in the first round: in a topology where the higher ids cannot win (a star
 * around a low id), deferring in every round would refuse the one node that can, forever. From the
 * second round on, randomized timeouts break the ties.
 */
function defersToPreVoter(r: RaftState, m: VoteMsg): boolean {
  if (!m.preVote || r.role !== "preCandidate" || r.preVoteRounds > 1) return false;
  const sameLog = m.lastTerm === r.log.lastTerm() && m.lastIndex === r.log.lastIndex();
  return sameLog && r.id > m.from;
}

/** Pre-candidate or candidate: a vote arrived for the current campaign. */
export function handleVoteResp(r: RaftState, m: VoteRespMsg): void {
  if (m.preVote !== (r.role === "preCandidate")) return;
  const result = r.tracker.poll(m.from, !m.reject);
  if (result === "won") winCampaign(r);
  else if (result === "lost") r.becomeFollower(r.term, NONE, r.id);
}

/** Leadership transfer (§3.10 of the dissertation): the leader asks us to campaign at once. */
export function handleTimeoutNow(r: RaftState, from: number): void {
  if (r.recovering) {
    r.emit({ type: "transferRefused", term: r.term, from, reason: "recovering" });
    return;
  }
  if (!r.canCampaign() && r.hasUnappliedConfig()) {
    // The leader saw us hold its whole log, but our driver has not applied every committed config entry
    // (a removed leader's hand-off usually meets its removal in flight here). Dropping TimeoutNow would
    // leave the cluster leaderless for an election timeout when the leader stepped down; campaigning
    // now could use a stale configuration. Campaign once the entries are applied, within the time the
    // leader gives a transfer (an election timeout).
    r.transferDeferredTicks = r.opts.electionTicks;
    r.emit({ type: "transferRefused", term: r.term, from, reason: "configUnapplied" });
    return;
  }
  campaign(r, "transfer");
}

/** After an apply: a TimeoutNow deferred until the committed config entries were applied (handleTimeoutNow). */
export function resumeDeferredTransfer(r: RaftState): void {
  if (r.transferDeferredTicks === 0 || r.role !== "follower" || !r.canCampaign()) return;
  r.transferDeferredTicks = 0;
  campaign(r, "transfer");
}
