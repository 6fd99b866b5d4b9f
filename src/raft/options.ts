import { invariant, type LogStorage, type NodeId } from "./types.js";

export interface RaftLimits {
  /** Entries in one AppendEntries message. */
  readonly appendEntriesMax: number;
  /** Entry data bytes in one AppendEntries message (at least one entry is always sent). */
  readonly appendBytesMax: number;
  /** Appends in flight to one follower in replicate state. */
  readonly inflightMax: number;
  readonly inflightBytesMax: number;
  /** Data bytes a leader accepts beyond its commit index, so it cannot fill memory while cut off. */
  readonly uncommittedBytesMax: number;
  /** ReadIndex requests waiting for confirmation at the leader. */
  readonly readsPendingMax: number;
  /** Entry data bytes handed to the driver for applying in one Ready. */
  readonly applyBytesMax: number;
  /** Events kept for one Ready; more are counted in `Ready.eventsDropped`. */
  readonly eventsMax: number;
  /** Entries a learner's log may lag the leader's last index when it is promoted (`learner_behind`). */
  readonly promoteLagEntriesMax: number;
}

export const defaultRaftLimits: RaftLimits = {
  appendEntriesMax: 4096,
  appendBytesMax: 1 << 20,
  inflightMax: 256,
  inflightBytesMax: 32 << 20,
  uncommittedBytesMax: 64 << 20,
  readsPendingMax: 65536,
  applyBytesMax: 16 << 20,
  eventsMax: 256,
  promoteLagEntriesMax: 1000,
};

/** Test-only switches that break one rule on purpose, so tests and the simulator can prove they notice. */
export interface RaftMutations {
  readonly grantTwoVotesPerTerm?: boolean;
  readonly commitOldTermByCounting?: boolean;
  readonly skipLogMatchingCheck?: boolean;
  /** Learners count toward the commit quorum as if they were voters. */
  readonly countLearnersInQuorum?: boolean;
  /** A configuration change may be proposed while another one is not applied yet. */
  readonly allowConcurrentConfChanges?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: LogStorage;
  /** Election timeout T in ticks; each node draws its timeout from [T, 2T). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly seed: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Followers forward proposals to the leader; when false they fail with the leader's id. */
  readonly forwardProposals?: boolean;
  /** The index the state machine already contains (e.g. its snapshot), so it is not applied again. */
  readonly applied?: number;
  /** Ticks a follower may spend in snapshot state before the leader retries. */
  readonly snapshotTimeoutTicks?: number;
  readonly limits?: Partial<RaftLimits>;
  readonly mutations?: RaftMutations;
}

/** A RaftConfig with every default filled in and every range checked. */
export interface RaftOptions {
  readonly id: NodeId;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotTimeoutTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly forwardProposals: boolean;
  readonly limits: RaftLimits;
  readonly mutations: RaftMutations;
}

export function validateConfig(cfg: RaftConfig): RaftOptions {
  invariant(Number.isSafeInteger(cfg.id) && cfg.id > 0, "node ids are positive integers");
  invariant(
    cfg.heartbeatTicks > 0 && cfg.electionTicks > cfg.heartbeatTicks,
    "need electionTicks > heartbeatTicks > 0",
  );
  const limits = { ...defaultRaftLimits, ...cfg.limits };
  for (const [name, value] of Object.entries(limits)) {
    invariant(Number.isSafeInteger(value) && value > 0, `limit ${name} must be a positive integer`);
  }
  const snapshotTimeoutTicks = cfg.snapshotTimeoutTicks ?? cfg.electionTicks * 10;
  invariant(snapshotTimeoutTicks > 0, "snapshotTimeoutTicks must be positive");
  return {
    id: cfg.id,
    electionTicks: cfg.electionTicks,
    heartbeatTicks: cfg.heartbeatTicks,
    snapshotTimeoutTicks,
    preVote: cfg.preVote ?? true,
    checkQuorum: cfg.checkQuorum ?? true,
    forwardProposals: cfg.forwardProposals ?? true,
    limits,
    mutations: cfg.mutations ?? {},
  };
}
