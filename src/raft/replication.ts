import { transferSilentTicksMax } from "./hand-off.js";
import type { Progress } from "./progress.js";
import { onLeaderCommit, onReadAck } from "./read-index.js";
import type { RaftState } from "./state.js";
import {
  type AppendRespMsg,
  type Entry,
  type HeartbeatRespMsg,
  invariant,
  type Message,
  NONE,
  type NodeId,
  type ProposeResult,
  type TransferAbandonReason,
} from "./types.js";

export function stepLeader(r: RaftState, m: Message): void {
  switch (m.type) {
    case "app":
    case "heartbeat":
    case "snap":
      invariant(false, `two leaders in term ${r.term}: ${r.id} and ${m.from}`);
      break;
    case "appResp":
      handleAppendResp(r, m);
      break;
    case "heartbeatResp":
      handleHeartbeatResp(r, m);
      break;
    default:
      break;
  }
}

/**
 * Leader: count a tick; check quorum once per election timeout; give a transfer an election timeout of
 * its own; heartbeats once per heartbeat interval.
 */
export function tickLeader(r: RaftState): void {
  if (r.commitPending) r.broadcastPending = true;
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.leadTransferee !== NONE) r.transferElapsed++;
  if (r.electionElapsed >= r.opts.electionTicks) {
    r.electionElapsed = 0;
    // A round every election timeout, with check-quorum or not: recentActive means "answered in this
    // round" to promotion and snapshot sending (the hand-off ranks by ticks: hand-off.ts).
    const active = r.tracker.activeVoters(r.id);
    if (r.opts.checkQuorum) {
      const quorum = r.tracker.quorum();
      if (active < quorum) {
        // §6.2 check-quorum: a leader that cannot hear a majority steps down instead of serving stale reads.
        r.emit({ type: "checkQuorumStepDown", term: r.term, active, quorum });
        r.becomeFollower(r.term, NONE, r.id);
        return;
      }
    }
  }
  if (r.leadTransferee !== NONE && r.transferElapsed >= r.opts.electionTicks) {
    if (!r.tracker.isVoter(r.id)) {
      // A removed leader whose hand-off did not finish in an election timeout: the voters elect.
      r.becomeFollower(r.term, NONE, r.id);
      return;
    }
    abandonTransfer(r, "timedOut");
  } else if (targetSilent(r)) abandonTransfer(r, "targetSilent");
  for (const [id, pr] of r.tracker.progress) {
    if (pr.tickSnapshot(r.opts.snapshotTimeoutTicks)) reportSnapshot(r, id, false);
  }
  if (r.heartbeatElapsed >= r.opts.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    r.heartbeatPending = true;
  }
}

export function appendProposals(r: RaftState, datas: readonly Uint8Array[]): ProposeResult {
  if (r.leadTransferee !== NONE) return { ok: false, error: "transfer_in_progress", leader: r.leader };
  let bytes = 0;
  for (const data of datas) bytes += data.length;
  const uncommittedBytesMax = r.opts.limits.uncommittedBytesMax;
  if (r.uncommittedBytes > 0 && r.uncommittedBytes + bytes > uncommittedBytesMax) {
    return { ok: false, error: "uncommitted_full", leader: r.id };
  }
  r.uncommittedBytes += bytes;
  const index = r.appendEntries("normal", datas);
  r.broadcastPending = true;
  return { ok: true, index, term: r.term, forwarded: false };
}

/** Sends the follower its next batch with the leader's commit index; false if nothing was sent. */
function sendAppend(r: RaftState, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.of(to);
  if (pr.isPaused()) return false;
  const { appendEntriesMax, appendBytesMax } = r.opts.limits;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  const hi = Math.min(r.log.lastIndex() + 1, pr.next + appendEntriesMax);
  const entries = prevTerm === undefined ? undefined : r.log.slice(pr.next, hi, appendBytesMax);
  if (prevTerm === undefined || entries === undefined) return sendSnapshot(r, to, pr);
  if (entries.length === 0 && !sendIfEmpty) return false;
  r.send({ type: "app", to, prevIndex, prevTerm, entries, commit: r.log.committed });
  pr.sentAppend(entries[entries.length - 1]?.index, dataBytes(entries));
  return true;
}

/** Sends batches until the follower's window is full or it has everything. */
function sendAppends(r: RaftState, to: NodeId, sendIfEmpty: boolean): void {
  if (sendAppend(r, to, sendIfEmpty)) while (sendAppend(r, to, false)) {}
}

function sendSnapshot(r: RaftState, to: NodeId, pr: Progress): boolean {
  if (!pr.recentActive) return false; // don't ship a snapshot to a node that may be down
  const snapshot = r.log.pendingSnapshot() ?? r.log.storageSnapshot();
  invariant(snapshot.meta.index > 0, `follower ${to} needs a snapshot but none exists`);
  pr.becomeSnapshot(snapshot.meta.index);
  r.send({ type: "snap", to, snapshot });
  return true;
}

function handleAppendResp(r: RaftState, m: AppendRespMsg): void {
  const pr = r.tracker.progress.get(m.from);
  if (!pr) return;
  pr.markActive();
  if (m.reject) {
    handleAppendRejection(r, m, pr);
    return;
  }
  const wasPaused = pr.isPaused();
  // An answer at the match point does not end probing: under reordering it is often a stale
  // duplicate, and leaving probe on it fires a whole window of appends the follower cannot use.
  if (!pr.maybeUpdate(m.index)) {
    if (wasPaused && pr.state === "probe") sendAppend(r, m.from, false);
    return;
  }
  if (pr.state === "probe") pr.becomeReplicate();
  else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
  else if (pr.state === "replicate") pr.freeInflightsTo(m.index);
  if (maybeCommit(r)) r.commitPending = true;
  // A follower that was paused may have missed the commit index: tell it even without new entries.
  sendAppends(r, m.from, wasPaused);
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

function handleAppendRejection(r: RaftState, m: AppendRespMsg, pr: Progress): void {
  // No append is rejected at prevIndex 0 (it matches every log): this is the answer to a message of an
  // older term (stepStale), sent to make a stale leader step down. It reaches a leader of the answer's
  // term when that node sent the old message, then won the term the follower moved to: stale, ignore.
  if (m.index === 0) return;
  // The follower's log ends (hintTerm 0) below what it acknowledged in this term: it lost entries.
  // They must not count toward commit any more, and it needs them again (after a heartbeat).
  if (m.hintTerm === 0 && m.hintIndex - 1 < pr.match) {
    r.emit({
      type: "followerLostEntries",
      term: r.term,
      follower: m.from,
      match: pr.match,
      lastIndex: m.hintIndex - 1,
    });
    pr.lostEntries(m.hintIndex - 1);
    return;
  }
  if (pr.maybeDecrTo(m.index, nextAfterRejection(r, m))) sendAppend(r, m.from, true);
}

/** §5.3 optimization: from the follower's hint, the first index that may match. */
function nextAfterRejection(r: RaftState, m: AppendRespMsg): number {
  if (m.hintTerm === 0) return m.hintIndex;
  const lastOfTerm = r.log.lastIndexOfTerm(m.hintTerm, m.index);
  return lastOfTerm === undefined ? m.hintIndex : lastOfTerm + 1;
}

function handleHeartbeatResp(r: RaftState, m: HeartbeatRespMsg): void {
  const pr = r.tracker.progress.get(m.from);
  if (!pr) return;
  pr.markActive();
  pr.heartbeatAnswered();
  // Even an empty append helps: if earlier ones were lost, the follower's rejection restarts probing.
  // In probe state it also confirms a follower that restarted (its heartbeat commit waits for that),
  // one empty append per heartbeat while the follower has nothing new to take.
  if (pr.match < r.log.lastIndex() || pr.state === "probe") sendAppend(r, m.from, true);
  onReadAck(r, m.from, m.readSeq);
}

/** §5.4.2 Figure 8: commit by counting replicas only for an entry of the current term. */
function maybeCommit(r: RaftState): boolean {
  const quorumIndex = r.tracker.quorumMatch();
  if (quorumIndex <= r.log.committed) return false;
  if (r.log.term(quorumIndex) !== r.term && r.opts.mutations.commitOldTermByCounting !== true) return false;
  r.log.commitTo(quorumIndex);
  onLeaderCommit(r);
  return true;
}

/** The leader's own entries count toward commit only once durable here. */
export function selfPersisted(r: RaftState): void {
  if (r.tracker.of(r.id).maybeUpdate(r.log.stableLastIndex()) && maybeCommit(r)) r.commitPending = true;
}

/**
 * TimeoutNow to a caught-up transferee; a leader removed from its configuration then steps down. The
 * transfer's clock restarts: the target's election gets a whole election timeout, or a TimeoutNow sent
 * late in the window would be followed by writes that make the leader's log outrun the candidate's.
 */
function sendTimeoutNow(r: RaftState, to: NodeId): void {
  r.send({ type: "timeoutNow", to });
  r.timeoutNowSent = true;
  r.transferElapsed = 0;
  if (!r.tracker.isVoter(r.id)) r.becomeFollower(r.term, NONE, r.id);
}

/** Hands leadership to `to` (§3.10 of the dissertation): catch it up, then send TimeoutNow. */
export function transferLeadership(r: RaftState, to: NodeId): boolean {
  if (r.role !== "leader" || to === r.id || !r.tracker.isVoter(to)) return false;
  if (r.leadTransferee === to) return true;
  // A transfer that replaces one whose TimeoutNow is out keeps the mark: that target may be campaigning.
  if (r.leadTransferee === NONE) r.timeoutNowSent = false;
  r.leadTransferee = to;
  r.transferAbandoned = undefined;
  // The transfer must finish within an election timeout, on its own clock: resetting the check-quorum
  // round instead let transfers requested again and again postpone check-quorum for good.
  r.transferElapsed = 0;
  if (r.tracker.of(to).match === r.log.lastIndex()) sendTimeoutNow(r, to);
  else sendAppend(r, to, true);
  return true;
}

/**
 * A voting leader's transfer whose target is gone: TimeoutNow not sent yet (the target is still being
 * caught up), the transport reported the target unreachable, and nothing was heard from it for longer
 * than transferSilentTicksMax (hand-off.ts). Giving up only then: once TimeoutNow is out the target may
 * already be campaigning, and a leader taking proposals again would race its election; a report alone
 * may be a blip of a link that comes back. A removed leader keeps its hand-off until the timeout steps
 * it down: it must not take proposals again.
 */
function targetSilent(r: RaftState): boolean {
  if (r.leadTransferee === NONE || r.timeoutNowSent || !r.tracker.isVoter(r.id)) return false;
  const pr = r.tracker.progress.get(r.leadTransferee);
  return pr?.unreachable === true && r.ticks - pr.heardAt > transferSilentTicksMax(r.opts);
}

/**
 * Leader, after applying a configuration: a transfer whose target is no longer a voter can never finish,
 * so it is given up at once; not once TimeoutNow is out (the target may be campaigning on the
 * configuration it still holds), nor by a removed leader (its hand-off steps it down).
 */
export function giveUpTransferToNonVoter(r: RaftState): void {
  if (r.role !== "leader" || r.leadTransferee === NONE || r.timeoutNowSent) return;
  if (r.tracker.isVoter(r.leadTransferee) || !r.tracker.isVoter(r.id)) return;
  abandonTransfer(r, "targetRemoved");
}

/** The leader gives its transfer up and takes proposals again; the event and Raft.transfer say why. */
function abandonTransfer(r: RaftState, reason: TransferAbandonReason): void {
  const to = r.leadTransferee;
  const timeoutNowSent = r.timeoutNowSent;
  r.emit({ type: "transferAbandoned", term: r.term, to, reason, timeoutNowSent });
  r.transferAbandoned = { to, timeoutNowSent, abandoned: reason };
  r.leadTransferee = NONE;
  r.timeoutNowSent = false;
}

/**
 * The transport could not reach `to`: stop pipelining to it, and rank it last for a hand-off
 * (hand-off.ts), until it answers again. A transfer to it is given up now if it was silent long enough
 * already (targetSilent), else on the tick it has been.
 */
export function reportFollowerUnreachable(r: RaftState, to: NodeId): void {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined) return;
  pr.unreachableReported();
  if (pr.state === "replicate") pr.becomeProbe();
  if (to === r.leadTransferee && targetSilent(r)) abandonTransfer(r, "targetSilent");
}

/** The transport finished (or failed) sending a snapshot to `to`. */
export function reportSnapshot(r: RaftState, to: NodeId, ok: boolean): void {
  const pr = r.tracker.progress.get(to);
  if (r.role !== "leader" || !pr || pr.state !== "snapshot") return;
  pr.snapshotReported(ok);
}

/** Deferred broadcasts go out once per Ready, so proposals arriving together share appends. */
export function flush(r: RaftState): void {
  if (r.role !== "leader") return;
  if (r.broadcastPending) {
    r.broadcastPending = false;
    r.commitPending = false;
    for (const id of r.tracker.progress.keys()) {
      if (id !== r.id) sendAppends(r, id, true);
    }
  }
  if (r.heartbeatPending) {
    r.heartbeatPending = false;
    for (const [id, pr] of r.tracker.progress) {
      if (id === r.id) continue;
      // Never more than the follower acknowledged; it commits from a heartbeat only what it confirmed.
      const commit = Math.min(pr.acknowledged, r.log.committed);
      r.send({ type: "heartbeat", to: id, commit, readSeq: r.reads.seq });
    }
  }
}

export function dataBytes(entries: readonly Entry[]): number {
  let bytes = 0;
  for (const entry of entries) bytes += entry.data.length;
  return bytes;
}
