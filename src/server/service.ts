import type { TransferFailureReason } from "../api/index.js";
import type { Snapshot } from "../raft/index.js";
import type { AsciiPushes, Command, Outcome, StackMachine } from "../stack/index.js";

/**
 * How `submit` answers: exactly one of the two is called, once (failures as for `propose`), possibly
 * before `submit` returns (a node that refuses at once: removed, busy, stopped). Called as methods
 * (`reply.resolve(o)`), never detached: a reply may be a class instance (the RESP connection's WriteSlot).
 */
export interface OutcomeReply {
  resolve(outcome: Outcome): void;
  reject(err: Error): void;
}

/**
 * How `submitRun` answers: every command of the run by its index, exactly once each, in any order
 * (failures as for `propose`), possibly before `submitRun` returns. Called as methods.
 */
export interface RunReply {
  resolveAt(index: number, outcome: Outcome): void;
  rejectAt(index: number, err: Error): void;
}

/**
 * What the client protocols (HTTP, RESP) need from a node. Structural, so the server does not import the driver (the
 * driver starts the server). Failures reject with an Error carrying `code` (see ServiceErrorCode).
 */
export interface StackService {
  readonly id: number;
  leader(): number;
  role(): string;
  /**
   * Runs `cmd` on the leader (this node, or forwarded to it) and resolves with its outcome once
   * applied there. Rejects with a code (see ServiceErrorCode): not served, or outcome unknown.
   */
  propose(cmd: Command): Promise<Outcome>;
  /**
   * `propose` without a promise: `reply` gets the outcome or the failure, once. The pipelined RESP write
   * path uses it: a promise and its reactions per command were a visible share of the leader's CPU.
   */
  submit(cmd: Command, reply: OutcomeReply): void;
  /**
   * `submit` for keyless LPUSH commands given as ASCII bytes (the RESP listener's fast lane): each runs
   * as the Command `asciiPushCommand` makes of it would, without the leader making that Command.
   */
  submitRun(run: AsciiPushes, reply: RunReply): void;
  /** The client URL member `id` published, if this node knows it (for redirects and leader hints). */
  clientUrl(id: number): string | undefined;
  read<T>(fn: (m: StackMachine) => T, stale?: boolean): Promise<T>;
  /**
   * Calls `listener` with the local state machine after every batch of applied entries (and after a
   * snapshot is installed), so blocking pops wake when an item arrives. Returns the unsubscribe.
   */
  onApplied(listener: (m: StackMachine) => void): () => void;
  /** This node's local view (members' progress only on the leader); cheap, for probes. */
  status(): ClusterView;
  /**
   * GET /v1/cluster: this node's status with the members' progress as the leader tracks it (asked of the
   * leader, within a short timeout), or the local view with `viewReason` if `local` or the leader is unknown
   * or silent. Never rejects.
   */
  clusterView(local: boolean): Promise<ClusterView>;
  /** Leader only (else rejects with not_leader): a linearizable snapshot for a backup (GET /v1/snapshot). */
  backup(): Promise<Snapshot>;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
}

/**
 * Codes a service rejects with; each answers 503 + Retry-After except bad_request (400), internal
 * (500) and config_invalid (409). too_large: the leader's answer could not travel back to this node
 * (outcome unknown). transfer_failed: a leadership transfer did not happen; the error also carries its
 * `reason` (TransferFailureReason).
 */
const SERVICE_ERROR_CODES = [
  "no_leader",
  "not_leader",
  "timeout",
  "stopped",
  "busy",
  "too_large",
  "bad_request",
  "internal",
  "config_change_pending",
  "config_invalid",
  "transfer_failed",
] as const;
export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

/** How a service rejects: a stable code, and with `transfer_failed` only, why the transfer failed. */
export interface ServiceError extends Error {
  readonly code: ServiceErrorCode;
  readonly reason?: TransferFailureReason | undefined;
}

const serviceCodes: ReadonlySet<string> = new Set(SERVICE_ERROR_CODES);

export function isServiceErrorCode(code: string): code is ServiceErrorCode {
  return serviceCodes.has(code);
}

export type MemberRole = "voter" | "learner";

/** A member as the API shows it: its addresses from the replicated table, its role in the configuration. */
export interface MemberInfo {
  readonly id: number;
  readonly peerUrl: string;
  /** "" until the member published it. */
  readonly clientUrl: string;
  readonly role: MemberRole;
}

/**
 * Membership changes for the HTTP API (docs/membership.md). Each runs on the leader (forwarded from a
 * follower) and resolves once applied. Rejects with a ServiceErrorCode: `config_change_pending` (one
 * change at a time: retry), `config_invalid` (never valid: a member already, a removed id,
 * another member's peer URL, the last voter).
 */
export interface MembershipService {
  /** The applied member table as this node knows it, with the leader it knows of. */
  members(): {
    readonly leader: number;
    readonly members: readonly MemberInfo[];
    /** Only on a removed node, whose list then lacks itself (docs/api.md). */
    readonly removed?: true;
  };
  /** Adds a learner (promoted once caught up); `id` defaults to the cluster's next unused id. */
  addMember(request: {
    readonly peerUrl: string;
    readonly clientUrl?: string;
    readonly id?: number;
  }): Promise<MemberInfo>;
  removeMember(id: number): Promise<void>;
  /**
   * Hands leadership to `id` (default: the most caught-up responsive voter); resolves with the new leader.
   * Rejects with `transfer_failed` and its `reason` when the transfer did not happen (ServiceError).
   */
  transferLeader(id?: number): Promise<number>;
}

/** What the HTTP API serves. */
export type NodeService = StackService & MembershipService;

/** A member in a cluster view (GET /v1/cluster). */
export interface ClusterMember {
  readonly id: number;
  readonly peerUrl: string;
  readonly clientUrl: string;
  /** The leader's acknowledged index of the member; null where the view does not know it (see `progress`). */
  readonly match: number | null;
  readonly state: string | null;
  /** Why `match`/`state` are null. */
  readonly progress?: string;
  /**
   * The leader's: ms since it last heard from the member in its term (0 for itself), null if not since it
   * took over; null with `match` elsewhere. Absent from an older leader's view.
   */
  readonly lastHeardMs?: number | null;
  /** The leader's: not heard for more than 2 election timeouts (a member up but cut off); null with `match`. */
  readonly cutOff?: boolean | null;
  /** On the entry of the node whose view it is (`viewFrom`): its own last and applied index. */
  readonly lastIndex?: number;
  readonly applied?: number;
}

export interface ClusterView {
  readonly id: number;
  readonly role: string;
  readonly leader: number;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** The node whose view `members` is: the leader's, or the answering node's own. */
  readonly viewFrom: number;
  /** Why a node that does not lead answered its local view (progress then is null). */
  readonly viewReason?: string;
  readonly members: readonly ClusterMember[];
  /**
   * Only on a node removed from the cluster (it applied its removal, or a member refused it as removed):
   * it names no leader, serves nothing, and `members` lacks it.
   */
  readonly removed?: true;
}
