// What one simulation run takes (SimOptions) and reports (SimResult, with its SimStats).
import type { MembershipOps } from "./membership-ops.js";
import type { DiskMode, FaultKind, MutationName, SimParams } from "./params.js";
import type { TraceRecorder } from "./trace-recorder.js";

export interface SimOptions {
  readonly seed: number;
  /** 3 or 5 (default 3). */
  readonly nodes?: number;
  readonly mutation?: MutationName;
  /** Overrides the seed's fault phase length (virtual ms, default 30 000). */
  readonly faultPhaseMs?: number;
  /** Budget of the linearizability search in model steps; exhausting it gives checker "unknown". */
  readonly checkStepsMax?: number;
  /** Overrides the seed's disk model (default: even seeds "wal", odd seeds "memory"). */
  readonly diskMode?: DiskMode;
  /** Fault kinds left out of this run (the rest of the seed's run is drawn as usual). */
  readonly disabledFaults?: readonly FaultKind[];
  /** Records the run for the HTML trace viewer (`--html`); the run and its hash are the same without it. */
  readonly recorder?: TraceRecorder;
  /** Membership changes (add, remove, replace, remove the leader) in the fault mix, with spare nodes. */
  readonly membership?: boolean;
  /** Overrides the seed's client count (2-5): more clients make the leader batch proposals. */
  readonly clients?: number;
  /**
   * Clients also pipeline runs of plain LPUSH that the node proposes as the RESP fast lane does
   * (Driver.proposeRun); default off, so a seed without it runs as it always did.
   */
  readonly fastLane?: boolean;
}

export interface SimStats {
  readonly virtualMs: number;
  readonly events: number;
  readonly messages: number;
  readonly ops: number;
  readonly okOps: number;
  readonly unknownOps: number;
  readonly committed: number;
  /** Committed entries that carried a batch of several commands (the driver's proposals of one turn). */
  readonly batchEntries: number;
  /** Fast-lane runs: pushes the clients sent in runs, and those acknowledged. */
  readonly runPushes: number;
  readonly runPushesOk: number;
  readonly partitions: number;
  readonly crashes: number;
  readonly pauses: number;
  readonly transfers: number;
  /** wal mode: disk repairs (the node lost its log). */
  readonly repairs: number;
  /** Graceful stops of the leader (hand-over, then exit). */
  readonly stops: number;
  /** wal mode: restarts that replayed the disk, those that cut a torn WAL tail, and the bytes cut. */
  readonly diskOpens: number;
  /** wal mode: crashes that cut the power (the others only killed the process). */
  readonly powerCuts: number;
  readonly tornTails: number;
  readonly tailBytesTruncated: number;
  /** wal mode: opens that found the newest snapshot damaged and used an older one. */
  readonly snapshotFallbacks: number;
  /** Membership runs: changes proposed by kind, applied on their leader, refused by the core. */
  readonly membership: MembershipOps["counts"];
}

export interface SimResult {
  readonly seed: number;
  readonly params: SimParams;
  readonly ok: boolean;
  readonly violation: { readonly invariant: string; readonly message: string } | undefined;
  /** FNV-1a over every trace event: equal seeds must give equal hashes. */
  readonly traceHash: string;
  /** The last trace lines, oldest first (for failure reports). */
  readonly traceTail: readonly string[];
  /** "unknown" when the linearizability search ran out of budget (not a violation, but not a proof). */
  readonly linearizability: "ok" | "illegal" | "unknown" | "skipped";
  readonly stats: SimStats;
}
