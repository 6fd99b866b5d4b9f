import type { RaftState } from "./state.js";
import type { NodeId } from "./types.js";

interface PendingRead {
  readonly index: number;
  readonly context: number;
  readonly from: NodeId;
  readonly seq: number;
}

/** Leader: ReadIndex requests (§6.4) waiting for a heartbeat round to confirm leadership. */
export class ReadIndexQueue {
  pending: PendingRead[] = [];
  /** Reads that arrived before this leader committed an entry of its term (§6.4 step 1). */
  awaitingCommit: Omit<PendingRead, "index" | "seq">[] = [];
  /** Sequence number of the latest read; heartbeats carry it and followers echo it. */
  seq = 0;
  /** Per follower, the highest read sequence it has echoed in this term. */
  readonly acks = new Map<NodeId, number>();

  size(): number {
    return this.pending.length + this.awaitingCommit.length;
  }

  reset(): void {
    this.pending = [];
    this.awaitingCommit = [];
    this.acks.clear();
  }
}

/** §6.4: records the commit index as the read point, then confirms leadership with a heartbeat round. */
export function startRead(r: RaftState, from: NodeId, context: number): void {
  const q = r.reads;
  if (q.size() >= r.opts.limits.readsPendingMax) return;
  if (r.log.term(r.log.committed) !== r.term) {
    q.awaitingCommit.push({ from, context });
    return;
  }
  q.pending.push({ index: r.log.committed, context, from, seq: ++q.seq });
  if (r.tracker.quorum() === 1) releaseConfirmedReads(r);
  else r.heartbeatPending = true;
}

/** The leader committed an entry: reads that waited for the first commit of its term may start. */
export function onLeaderCommit(r: RaftState): void {
  const q = r.reads;
  if (q.awaitingCommit.length === 0 || r.log.term(r.log.committed) !== r.term) return;
  const waiting = q.awaitingCommit;
  q.awaitingCommit = [];
  for (const read of waiting) startRead(r, read.from, read.context);
}

/** A follower echoed read sequence `seq` in a heartbeat response. */
export function onReadAck(r: RaftState, from: NodeId, seq: number): void {
  const q = r.reads;
  if (seq <= (q.acks.get(from) ?? 0)) return;
  q.acks.set(from, seq);
  releaseConfirmedReads(r);
}

function releaseConfirmedReads(r: RaftState): void {
  const q = r.reads;
  let released = 0;
  for (const read of q.pending) {
    if (!readConfirmed(r, read.seq)) break;
    released++;
    if (read.from === r.id) r.readStates.push({ index: read.index, context: read.context });
    else r.send({ type: "readIndexResp", to: read.from, context: read.context, index: read.index });
  }
  if (released > 0) q.pending = q.pending.slice(released);
}

function readConfirmed(r: RaftState, seq: number): boolean {
  let acks = 0;
  for (const id of r.config.voters) {
    if (id === r.id || (r.reads.acks.get(id) ?? 0) >= seq) acks++;
  }
  return acks >= r.tracker.quorum();
}
