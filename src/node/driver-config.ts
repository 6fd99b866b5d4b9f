import { defaultRaftLimits, type NodeId, type RaftConfig, type RaftLimits } from "../raft/index.js";
import type { StackMachineOptions } from "../stack/index.js";
import type { ReplicatedMembers } from "./app-snapshot.js";
import type { NodeMetrics } from "./metrics.js";
import type { Clock, DriverHooks, DriverLogger, DriverStorage, PeerNetwork } from "./ports.js";

/** Bounds on work waiting inside the driver; past them requests fail fast with 503 instead of queueing. */
export interface DriverLimits {
  readonly proposalsPendingMax: number;
  readonly readsPendingMax: number;
}

export const defaultDriverLimits: DriverLimits = { proposalsPendingMax: 65_536, readsPendingMax: 65_536 };

/**
 * The core's limits as a node process uses them. A leader fills a follower's whole in-flight window in
 * one step, and the transport encodes all of it in that turn of the event loop: with the core's 32 MiB
 * window, a learner joining behind a 10,000-entry log had the leader encode the whole log at once
 * (60-120 ms of the leader's loop, during which no client write was answered: bench:membership
 * --trace). A 256 KiB window of 64 KiB appends keeps that burst to a few milliseconds; steady
 * replication keeps far less than that in flight (a batch per fsync round trip), and catching up still
 * moves 256 KiB per round trip.
 */
export const nodeRaftLimits: RaftLimits = {
  ...defaultRaftLimits,
  appendBytesMax: 64 << 10,
  inflightBytesMax: 256 << 10,
};

/** Test-only switches that break one driver rule on purpose (the simulator proves it notices). */
export interface DriverMutations {
  /** Votes and append acknowledgements leave before the batch is durable. */
  readonly ackBeforeFsync?: boolean;
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
   * Leader: a learner whose log is within this many entries of the leader's and that answered within an
   * election timeout is promoted to voter (0 disables automatic promotion). Default 1000.
   */
  readonly promoteLagEntriesMax?: number;
  readonly tickMs: number;
  /** Applied entries between two state-machine snapshots. */
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
