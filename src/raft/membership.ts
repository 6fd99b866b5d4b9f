import {
  applyChange,
  type ConfChange,
  decodeConfigEntry,
  encodeConfigEntry,
  invalidReason,
} from "./confchange.js";
import { handOffTarget } from "./hand-off.js";
import type { RaftLog } from "./log.js";
import { giveUpTransferToNonVoter, transferLeadership } from "./replication.js";
import type { RaftState } from "./state.js";
import {
  type AppendRespMsg,
  type ConfigState,
  type Entry,
  invariant,
  NONE,
  type NodeId,
  type ProposeResult,
} from "./types.js";

/** Entry bytes read per step while looking for committed config entries at startup. */
const startupScanBytes = 1 << 20;

/**
 * Leader: appends a configuration change (docs/membership.md). One at a time: refused while a config
 * entry (or this leader's no-op, so the first commit of its term) is above the applied index; that
 * also closes the single-server bug of a new leader committing a change that does not overlap one a
 * previous leader decided (Ongaro, raft-dev 2015).
 */
export function proposeConfChange(r: RaftState, cc: ConfChange): ProposeResult {
  if (r.role !== "leader") {
    return { ok: false, error: r.leader === NONE ? "no_leader" : "not_leader", leader: r.leader };
  }
  if (r.leadTransferee !== NONE) return { ok: false, error: "transfer_in_progress", leader: r.id };
  const oneAtATime = r.opts.mutations.allowConcurrentConfChanges !== true;
  if (oneAtATime && r.pendingConfIndex > r.log.applied)
    return { ok: false, error: "config_change_pending", leader: r.id };
  if (invalidReason(r.config, cc) !== undefined) return { ok: false, error: "config_invalid", leader: r.id };
  if (cc.op === "promote" && !caughtUp(r, cc.id)) return { ok: false, error: "learner_behind", leader: r.id };
  const data = encodeConfigEntry(cc, applyChange(r.config, cc));
  r.uncommittedBytes += data.length;
  const index = r.appendEntries("config", [data]);
  r.pendingConfIndex = index;
  r.broadcastPending = true;
  return { ok: true, index, term: r.term, forwarded: false };
}

/**
 * A learner may become a voter once it answered in the current check-quorum round, holds the applied
 * configuration's entry (so it knows the voters it will count among: sim seed 48 promoted a learner
 * with an empty log) and lags the leader's log by at most `promoteLagEntriesMax` entries. A voter
 * further behind would count toward every quorum while it cannot acknowledge anything new, so one
 * more failure would stop commits. Enforced here for every promotion, manual or automatic.
 */
function caughtUp(r: RaftState, id: NodeId): boolean {
  const pr = r.tracker.progress.get(id);
  if (pr === undefined || !pr.recentActive) return false;
  return pr.match >= r.configIndex && r.log.lastIndex() - pr.match <= r.opts.limits.promoteLagEntriesMax;
}

/**
 * The configuration of a node starting up: the snapshot's, then the last config entry the log holds at
 * or below the commit index. The core forces the commit index to disk before it applies a config entry
 * (raft.ts), so a node never restarts with a configuration older than one it already used.
 */
export function committedConfig(
  log: RaftLog,
  snapshotConfig: ConfigState,
): { config: ConfigState; index: number } {
  let config = snapshotConfig;
  let index = log.firstIndex() - 1;
  for (let lo = index + 1; lo <= log.committed; ) {
    const entries = log.slice(lo, log.committed + 1, startupScanBytes);
    invariant(entries !== undefined && entries.length > 0, `log entries from ${lo} are missing at startup`);
    for (const e of entries) {
      if (e.kind !== "config") continue;
      config = configOf(e);
      index = e.index;
    }
    lo += entries.length;
  }
  return { config, index };
}

/** Applies the config entries of a Ready the driver has applied (those not applied already). */
export function applyConfigEntries(r: RaftState, entries: readonly Entry[]): void {
  for (const e of entries) {
    if (e.index <= r.configIndex) continue;
    const { cc } = decodeConfigEntry(e.data);
    const config = configOf(e);
    if (cc.op === "remove" && cc.id !== r.id && r.role === "leader") tellRemoved(r, cc.id, e.index);
    r.setConfig(config, e.index);
    r.emit({
      type: "configApplied",
      term: r.term,
      index: e.index,
      op: cc.op,
      id: cc.id,
      voters: config.voters,
      learners: config.learners,
    });
    giveUpTransferToNonVoter(r);
    if (r.role === "leader" && !config.voters.includes(r.id)) handOffRemovedLeadership(r);
  }
}

/**
 * Nobody replicates to a removed member any more, so it would never learn that its removal committed:
 * a last message carries the commit index (best effort), as far as the member acknowledged (it must not
 * commit past its log). If the member had not acknowledged its removal entry yet (the others committed it
 * first), that message says too little; `sayGoodbye` answers the acknowledgement when it arrives. A member
 * that applied its removal stops campaigning; one that missed it is ignored by the voters anyway.
 */
function tellRemoved(r: RaftState, id: NodeId, removalIndex: number): void {
  const pr = r.tracker.progress.get(id);
  if (pr === undefined) return;
  if (!sendGoodbye(r, id, pr.acknowledged, removalIndex)) r.goodbyes.set(id, removalIndex);
}

/**
 * Leader: an append acknowledgement of this term from a member it removed. The member holds our log up to
 * `m.index`: once that reaches the removal entry, the goodbye commits it and the member is forgotten here.
 */
export function sayGoodbye(r: RaftState, m: AppendRespMsg): void {
  const removalIndex = r.goodbyes.get(m.from);
  if (removalIndex === undefined || m.reject || m.term !== r.term) return;
  if (sendGoodbye(r, m.from, m.index, removalIndex)) r.goodbyes.delete(m.from);
}

/**
 * Tells removed member `to`, which acknowledged our log up to `acknowledged`, the commit index as far as
 * that; true if this commits its removal. That one is an empty append at the commit index: the member's
 * log matching confirms it, so it commits even if the member campaigned meanwhile (a heartbeat commits
 * only what it confirmed since it last followed: follower.ts). Below the removal a heartbeat: an append's
 * acknowledgement would be answered again, without end.
 */
function sendGoodbye(r: RaftState, to: NodeId, acknowledged: number, removalIndex: number): boolean {
  const commit = Math.min(acknowledged, r.log.committed);
  const prevTerm = r.log.term(commit);
  if (commit >= removalIndex && prevTerm !== undefined) {
    r.send({ type: "app", to, prevIndex: commit, prevTerm, entries: [], commit });
    return true;
  }
  r.send({ type: "heartbeat", to, commit, readSeq: 0 });
  return false;
}

function configOf(e: Entry): ConfigState {
  const { config } = decodeConfigEntry(e.data);
  invariant(config !== undefined, `config entry ${e.index} carries no configuration`);
  return config;
}

/**
 * This leader applied its own removal: it hands leadership to a voter of the new configuration
 * (TimeoutNow as soon as that voter holds the whole log; replication.ts then steps this leader down)
 * and steps down at once only if the new configuration has no voter it tracks. A target that has not
 * applied the committed changes yet campaigns once it has (election.ts), so the cluster does not wait
 * an election timeout; if the target is down, tickLeader gives up after one.
 */
function handOffRemovedLeadership(r: RaftState): void {
  const to = handOffTarget(r.id, r.config.voters, r.tracker.progress, r.ticks, r.opts);
  r.emit({ type: "removedLeaderStepsDown", term: r.term, to });
  if (to === NONE) {
    r.becomeFollower(r.term, NONE, r.id);
    return;
  }
  transferLeadership(r, to);
}
