import type { RaftEvent } from "./events.js";

/** Node ids are positive integers; 0 means "none" (no vote, no leader). */
export type NodeId = number;
export const NONE: NodeId = 0;

export type EntryKind = "normal" | "noop" | "config";

/** One log entry. `data` is opaque to the core (a stack command, a config, or empty for a no-op). */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** What must be durable before a vote or an append acknowledgement leaves the node. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  /**
   * The node's log was lost (written by `raftstack repair`); absent means false. While set, the node
   * grants no votes and never campaigns; the core clears it once a leader has caught the node up.
   */
  readonly recovering?: boolean;
}

/**
 * Membership, keyed by id (never array positions). Learners receive the log but never count toward a
 * quorum. `removed` lists ids that were members once and may never be reused (absent: none known).
 */
export interface ConfigState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly removed?: readonly NodeId[];
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly config: ConfigState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** A linearizable read may be served once the local applied index reaches `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: number;
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (§5.2) or its pre-vote probe (§9.6). `transfer` marks a campaign started by TimeoutNow. */
export interface VoteMsg extends Envelope {
  readonly type: "vote";
  readonly preVote: boolean;
  readonly transfer: boolean;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export interface VoteRespMsg extends Envelope {
  readonly type: "voteResp";
  readonly preVote: boolean;
  readonly reject: boolean;
}

/** AppendEntries (§5.3). */
export interface AppendMsg extends Envelope {
  readonly type: "app";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Reply to AppendEntries. On success `index` is the follower's last matching index. On rejection
 * `index` is the rejected prevIndex and the hint (`hintIndex`, `hintTerm`) lets the leader skip a term.
 */
export interface AppendRespMsg extends Envelope {
  readonly type: "appResp";
  readonly reject: boolean;
  readonly index: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** `readSeq` > 0 asks the follower to confirm leadership for pending ReadIndex requests. */
export interface HeartbeatMsg extends Envelope {
  readonly type: "heartbeat";
  readonly commit: number;
  readonly readSeq: number;
}

export interface HeartbeatRespMsg extends Envelope {
  readonly type: "heartbeatResp";
  readonly readSeq: number;
}

export interface SnapshotMsg extends Envelope {
  readonly type: "snap";
  readonly snapshot: Snapshot;
}

/** Leadership transfer: tells the target to campaign at once (§3.10 of the dissertation). */
export interface TimeoutNowMsg extends Envelope {
  readonly type: "timeoutNow";
}

/** A follower forwarding client proposals to its leader. */
export interface ProposeMsg extends Envelope {
  readonly type: "prop";
  readonly entries: readonly Uint8Array[];
}

/** A follower forwarding a ReadIndex request to its leader, and the leader's answer. */
export interface ReadIndexMsg extends Envelope {
  readonly type: "readIndex";
  readonly context: number;
}

export interface ReadIndexRespMsg extends Envelope {
  readonly type: "readIndexResp";
  readonly context: number;
  /** 0 when the leader could not serve the read (e.g. it is stepping down). */
  readonly index: number;
}

export type Message =
  | VoteMsg
  | VoteRespMsg
  | AppendMsg
  | AppendRespMsg
  | HeartbeatMsg
  | HeartbeatRespMsg
  | SnapshotMsg
  | TimeoutNowMsg
  | ProposeMsg
  | ReadIndexMsg
  | ReadIndexRespMsg;

export type MessageType = Message["type"];

export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * One batch of work for the driver. Order: send `sendNow`; persist `hardState`, `snapshot` and
 * `entries` (one fsync when `mustSync`); send `sendAfterPersist`; apply `snapshot` then `committed`;
 * serve `readStates` once applied; then call `advance()`.
 */
export interface Ready {
  readonly softState: SoftState | undefined;
  readonly hardState: HardState | undefined;
  /** Entries to append; they replace any persisted entries at the same or higher indexes. */
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly committed: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Leader replication and heartbeats: safe to send before the local write (§10.2.1 of the dissertation). */
  readonly sendNow: readonly Message[];
  /** Votes, append acknowledgements and everything else: only once the batch is durable. */
  readonly sendAfterPersist: readonly Message[];
  readonly mustSync: boolean;
  /** What happened since the previous Ready, for the driver to log (at most `RaftLimits.eventsMax`). */
  readonly events: readonly RaftEvent[];
  /** Events left out of `events` because the limit was reached. */
  readonly eventsDropped: number;
}

/** Read side of stable storage: what has been persisted and acknowledged via advance(). */
export interface LogStorage {
  initialState(): { hardState: HardState; config: ConfigState };
  /** Index of the first entry still held (snapshot index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  /** Term of `index` for index in [firstIndex-1, lastIndex]; throws CompactedError below that. */
  term(index: number): number;
  /** Entries in [lo, hi), at least one if lo < hi, then stopping before `bytesMax` is exceeded. */
  entries(lo: number, hi: number, bytesMax: number): Entry[];
  snapshot(): Snapshot;
}

/**
 * Why a proposal was refused. `config_change_pending`: a configuration change is in the log above the
 * applied index, or this leader has not yet applied an entry of its term; `config_invalid`: the change
 * can never apply to the current configuration; `learner_behind`: a promotion of a learner that has
 * not caught up (docs/membership.md), worth retrying.
 */
export type ProposeError =
  | "no_leader"
  | "not_leader"
  | "transfer_in_progress"
  | "uncommitted_full"
  | "config_change_pending"
  | "config_invalid"
  | "learner_behind";

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number; readonly forwarded: boolean }
  | { readonly ok: false; readonly error: ProposeError; readonly leader: NodeId };

export type ReadIndexResult = { readonly ok: true } | { readonly ok: false; readonly error: "no_leader" };

/** Why a leader gave up a leadership transfer and leads on. */
export type TransferAbandonReason =
  /** TimeoutNow was not sent yet and the target, reported unreachable, stayed silent (replication.ts). */
  | "targetSilent"
  /** The target did not lead within an election timeout (TimeoutNow may have gone out). */
  | "timedOut"
  /** TimeoutNow was not sent yet and an applied configuration change removed the target (membership.ts). */
  | "targetRemoved";

/** A leader's leadership transfer: under way (`abandoned` undefined), or given up with this node still leading. */
export interface TransferStatus {
  readonly to: NodeId;
  /**
   * TimeoutNow went out (to `to`, or to the target of a transfer this one replaced): that target may be
   * campaigning, and may win even after the leader gave up.
   */
  readonly timeoutNowSent: boolean;
  readonly abandoned: TransferAbandonReason | undefined;
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: "probe" | "replicate" | "snapshot";
  /** Answered in this check-quorum round. */
  readonly recentActive: boolean;
  /**
   * Ticks since the leader last heard from the member in this term (its vote in the campaign counts);
   * Infinity if never. Leader transfers rank voters by it (Raft.handOffTarget).
   */
  readonly heardTicksAgo: number;
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: Role;
  readonly leader: NodeId;
  readonly recovering: boolean;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly config: ConfigState;
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

/** Raised by LogStorage for reads below the compaction point. */
export class CompactedError extends Error {
  constructor(index: number, firstIndex: number) {
    super(`index ${index} is compacted (first index ${firstIndex})`);
    this.name = "CompactedError";
  }
}

/** An impossible state in the core: crash loudly rather than corrupt data. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantError";
  }
}

/**
 * The leader commits entries this node acknowledged, but its log lacks them, and no repair announced the
 * loss: its data dir was lost, replaced or rolled back. Impossible by the storage contract, so the core
 * stops; also an operator's matter (the data dir), hence a stable code the node maps to its exit status.
 */
export class AcknowledgedEntriesLostError extends InvariantError {
  readonly code = "acknowledged_entries_lost";
  constructor(message: string) {
    super(message);
    this.name = "AcknowledgedEntriesLostError";
  }
}

/** For checks off the hot path: the message is built even when the condition holds. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
