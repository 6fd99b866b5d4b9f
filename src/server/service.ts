import type { Snapshot } from "../raft/index.js";
import type { Command, Outcome, StackMachine } from "../stack/index.js";

/**
 * What the client protocols (HTTP, RESP) need from a node. Structural, so the server does not import the driver (the
 * driver starts the server). Failures reject with an Error carrying `code` (see ServiceErrorCode).
 */
export interface StackService {
  readonly id: number;
  leader(): number;
  role(): string;
  /** Leader only; rejects with code not_leader (nothing proposed) or an outcome-unknown code. */
  propose(cmd: Command): Promise<Outcome>;
  read<T>(fn: (m: StackMachine) => T, stale?: boolean): Promise<T>;
  /**
   * Calls `listener` with the local state machine after every batch of applied entries (and after a
   * snapshot is installed), so blocking pops wake when an item arrives. Returns the unsubscribe.
   */
  onApplied(listener: (m: StackMachine) => void): () => void;
  status(): ClusterView;
  /** Leader only (else rejects with not_leader): a linearizable snapshot for a backup (GET /v1/snapshot). */
  backup(): Promise<Snapshot>;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
}

/** Codes a service rejects with; every one of them answers 503 + Retry-After except where noted. */
export type ServiceErrorCode = "no_leader" | "not_leader" | "timeout" | "stopped" | "busy";

export interface ClusterView {
  readonly id: number;
  readonly role: string;
  readonly leader: number;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly members: readonly {
    readonly id: number;
    readonly peerUrl: string;
    readonly clientUrl: string;
    readonly match: number;
    readonly state: string;
  }[];
}
