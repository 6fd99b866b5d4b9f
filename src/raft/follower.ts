import { handleTimeoutNow } from "./election.js";
import type { RaftState } from "./state.js";
import {
  AcknowledgedEntriesLostError,
  type AppendMsg,
  type HeartbeatMsg,
  InvariantError,
  invariant,
  type Message,
  type NodeId,
  type SnapshotMsg,
} from "./types.js";

export function stepFollower(r: RaftState, m: Message): void {
  switch (m.type) {
    case "app":
      heardFromLeader(r, m.from);
      handleAppend(r, m);
      break;
    case "heartbeat":
      heardFromLeader(r, m.from);
      handleHeartbeat(r, m);
      break;
    case "snap":
      heardFromLeader(r, m.from);
      handleSnapshot(r, m);
      break;
    case "timeoutNow":
      handleTimeoutNow(r, m.from);
      break;
    case "readIndexResp":
      if (m.index > 0) r.readStates.push({ index: m.index, context: m.context });
      break;
    default:
      break;
  }
}

function heardFromLeader(r: RaftState, leader: NodeId): void {
  r.electionElapsed = 0;
  r.leaderUnreachable = false;
  r.setLeader(leader);
}

function handleAppend(r: RaftState, m: AppendMsg): void {
  const log = r.log;
  if (m.prevIndex < log.committed) {
    // Everything up to our commit index already matches the leader's log (Log Matching)...
    for (const e of m.entries) {
      if (e.index > log.committed) break;
      const term = log.term(e.index);
      invariant(
        term === undefined || term === e.term,
        `leader ${m.from} sent entry ${e.index}/${e.term} over committed term ${term}`,
      );
    }
    confirmMatch(r, log.committed);
    acceptAppend(r, m.from, log.committed);
    return;
  }
  const lastNew = log.maybeAppend(
    m.prevIndex,
    m.prevTerm,
    m.entries,
    r.opts.mutations.skipLogMatchingCheck === true,
  );
  if (lastNew !== undefined) {
    confirmMatch(r, lastNew);
    // The leader sends its whole commit index; only what we now hold from it can be committed here.
    log.commitTo(Math.min(m.commit, lastNew));
    maybeFinishRecovery(r, m.commit);
    acceptAppend(r, m.from, lastNew);
    return;
  }
  // §5.3 fast backtracking: name the conflicting term and where it starts, or where our log ends.
  const lastIndex = log.lastIndex();
  if (m.prevIndex > lastIndex) {
    rejectAppend(r, m.from, m.prevIndex, lastIndex + 1, 0);
  } else {
    rejectAppend(r, m.from, m.prevIndex, log.firstIndexOfTerm(m.prevIndex), log.term(m.prevIndex) ?? 0);
  }
}

function acceptAppend(r: RaftState, to: NodeId, index: number): void {
  r.send({ type: "appResp", to, reject: false, index, hintIndex: 0, hintTerm: 0 });
}

function rejectAppend(r: RaftState, to: NodeId, index: number, hintIndex: number, hintTerm: number): void {
  r.send({ type: "appResp", to, reject: true, index, hintIndex, hintTerm });
}

/**
 * A heartbeat's commit index is the leader's belief about our log: at most the match we acknowledged
 * in this term. We commit only what this leader has confirmed matching in this term and this process
 * life (a restart forgets that; the rest comes with the next append). A commit index past our log means
 * we lost entries we acknowledged: expected after a repair (recovering), and otherwise an impossible
 * state (storage broke its contract), so the node stops rather than hide the loss.
 */
function handleHeartbeat(r: RaftState, m: HeartbeatMsg): void {
  if (m.commit > r.log.lastIndex() && !r.recovering && r.recoveredInTerm !== r.term) {
    throw new AcknowledgedEntriesLostError(
      `leader ${m.from} commits ${m.commit} from our acknowledgements in term ${r.term}, but our log ends at ${r.log.lastIndex()}: acknowledged entries were lost without a repair`,
    );
  }
  r.log.commitTo(Math.min(m.commit, r.confirmedMatch));
  maybeFinishRecovery(r, m.commit);
  r.send({ type: "heartbeatResp", to: m.from, readSeq: m.readSeq });
}

function handleSnapshot(r: RaftState, m: SnapshotMsg): void {
  const log = r.log;
  const { index, term, config } = m.snapshot.meta;
  if (index <= log.committed) {
    confirmMatch(r, log.committed);
    acceptAppend(r, m.from, log.committed);
    return;
  }
  if (log.matchTerm(index, term)) {
    // We already hold the snapshot's last entry, hence (Log Matching) everything before it.
    confirmMatch(r, index);
    log.commitTo(index);
    acceptAppend(r, m.from, log.committed);
    return;
  }
  log.restore(m.snapshot);
  r.setConfig(config, index);
  confirmMatch(r, index);
  acceptAppend(r, m.from, index);
}

/** The current leader's log matches ours up to `index` (it is the index we acknowledge). */
function confirmMatch(r: RaftState, index: number): void {
  if (index > r.log.lastIndex()) {
    throw new InvariantError(`confirmed match ${index} past our last index ${r.log.lastIndex()}`);
  }
  if (index > r.confirmedMatch) r.confirmedMatch = index;
}

/**
 * A recovering node is caught up once it holds this leader's log up to the leader's commit index and
 * the entry there is of the leader's term: every entry committed in an earlier term precedes it in the
 * leader's log (Leader Completeness), and the node's lost acknowledgements are all of earlier terms
 * (it restarted one term above the one repair recovered). See docs/recovery.md.
 */
function maybeFinishRecovery(r: RaftState, leaderCommit: number): void {
  if (!r.recovering || leaderCommit === 0 || r.confirmedMatch < leaderCommit) return;
  if (r.log.term(leaderCommit) !== r.term) return;
  r.recovering = false;
  r.recoveredInTerm = r.term;
  r.emit({ type: "recoveryFinished", term: r.term, leader: r.leader, index: leaderCommit });
}
