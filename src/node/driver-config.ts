import type { NodeId, RaftConfig } from "../raft/index.js";
import { type BatchLimits, defaultBatchLimits, type StackMachineOptions } from "../stack/index.js";
import type { ReplicatedMembers } from "./app-snapshot.js";
import type { NodeMetrics } from "./metrics.js";
import type { Clock, DriverHooks, DriverLogger, DriverStorage, PeerNetwork } from "./ports.js";

/**
 * Bounds on work waiting inside the driver; past them requests fail fast with 503 instead of queueing.
 * The batch limits (stack/batch.ts) bound one log entry of proposals gathered in a turn.
 */
export interface DriverLimits extends BatchLimits {
  /** Commands proposed or gathered for the next batch and not answered yet. */
  readonly proposalsPendingMax: number;
  readonly readsPendingMax: number;
}

export const defaultDriverLimits: DriverLimits = {
  proposalsPendingMax: 65_536,
  readsPendingMax: 65_536,
  ...defaultBatchLimits,
};

/** Test-only switches that break one driver rule on purpose (the simulator proves it notices). */
export interface DriverMutations {
  /** Votes and append acknowledgements leave before the batch is durable. */
  readonly ackBeforeFsync?: boolean;
  /** A fast-lane run's commands are answered "pushed" before they are proposed (run-mutations.ts). */
  readonly ackRunBeforeCommit?: boolean;
  /** A fast-lane run's last command is left out of its entry but answered "pushed" (run-mutations.ts). */
  readonly dropRunLastPush?: boolean;
  /** A fast-lane run's last command is in its entry twice, answered once (run-mutations.ts). */
  readonly duplicateRunLastPush?: boolean;
}

export interface DriverConfig {
  /** Raft's settings; the driver supplies storage, the applied index and the proposal policy. */
  readonly raft: Omit<RaftConfig, "storage" | "applied" | "forwardProposals">;
  /**
   * The voters `--cluster` names. After bootstrap the replicated configuration wins; a difference is
   * logged with both lists.
   */
  readonly voters: readonly NodeId[];
  /**
   * Leader: promotes a learner to voter as soon as the core would accept it (it answered within an
   * election timeout and lags by at most the core's `promoteLagEntriesMax`). Default true; false leaves
   * promotion to explicit requests.
   */
  readonly autoPromote?: boolean;
  readonly tickMs: number;
  /**
   * Applied log entries between two state-machine snapshots. Entries, not commands, although a batch
   * entry carries up to commandsPerBatchMax commands: the snapshot points are log indexes, the same on
   * every replica (members stagger them by index), and compaction and follower catch-up work in
   * entries. The commands between snapshots grow with the batches (replay after a restart: at most
   * snapshotEntries × commandsPerBatchMax commands, about a second per 500,000 here), and the
   * snapshot cost per write shrinks by the same factor, which is the point under pipelined load.
   */
  readonly snapshotEntries: number;
  readonly requestTimeoutMs: number;
  readonly limits?: Partial<DriverLimits>;
  readonly machine?: StackMachineOptions;
  readonly mutations?: DriverMutations;
}

export interface DriverDeps {
  readonly clock: Clock;
  readonly storage: DriverStorage;
  readonly network: PeerNetwork;
  readonly logger?: DriverLogger;
  readonly metrics?: NodeMetrics;
  readonly hooks?: DriverHooks;
  /** The node's member table, snapshotted with the stacks; absent in the simulator (bare stack snapshots). */
  readonly members?: ReplicatedMembers;
  /** Storage failed: the driver stopped serving; the process must restart from what is durable. */
  readonly onFatal?: (error: unknown) => void;
}
