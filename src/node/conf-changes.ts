import {
  type ConfigState,
  decodeConfigEntry,
  type Entry,
  invariant,
  type NodeId,
  type ProposeResult,
  type Status,
} from "../raft/index.js";
import { ConfChangeError, NodeError } from "./errors.js";
import type { DriverHooks, Reply } from "./ports.js";

interface ConfChangeWaiter {
  readonly index: number;
  readonly term: number;
  readonly deadlineMs: number;
  readonly reply: Reply<ConfigState>;
}

/**
 * The driver's side of configuration changes: this leader's change waiting to be applied (the core
 * takes one at a time, so there is at most one waiter), the index that added each learner, and the
 * choice of the learner to promote.
 */
export class ConfChanges {
  private waiter: ConfChangeWaiter | undefined;
  /** Index of the entry that added each learner (those added below our snapshot are not known here). */
  private readonly learnerAddedAt = new Map<NodeId, number>();

  get pending(): boolean {
    return this.waiter !== undefined;
  }

  add(index: number, term: number, deadlineMs: number, reply: Reply<ConfigState>): void {
    this.waiter?.reply.reject(new NodeError("timeout", "replaced by a newer change; outcome unknown"));
    this.waiter = { index, term, deadlineMs, reply };
  }

  /** A config entry was applied: tells `hook` (the node's member table) and answers its waiter. */
  applied(entry: Entry, leader: NodeId, hook: DriverHooks["configApplied"]): void {
    const { cc, config } = decodeConfigEntry(entry.data);
    invariant(config !== undefined, `config entry ${entry.index} carries no configuration`);
    if (cc.op === "addLearner") this.learnerAddedAt.set(cc.id, entry.index);
    else if (cc.op !== "update") this.learnerAddedAt.delete(cc.id);
    hook?.(cc, config, entry.index);
    const w = this.waiter;
    if (w === undefined || w.index !== entry.index) return;
    this.waiter = undefined;
    if (w.term === entry.term) w.reply.resolve(config);
    else w.reply.reject(new NodeError("timeout", "change lost in a leader change; retry", leader));
  }

  /** Fails the waiter whose index a snapshot from the leader covers, or which is past its deadline. */
  expire(nowMs: number, coveredTo: number, leader: NodeId): void {
    const w = this.waiter;
    if (w === undefined || (w.deadlineMs > nowMs && w.index > coveredTo)) return;
    this.waiter = undefined;
    w.reply.reject(
      new NodeError("timeout", "change not applied within the request timeout; outcome unknown", leader),
    );
  }

  fail(error: NodeError): void {
    this.waiter?.reply.reject(error);
    this.waiter = undefined;
  }

  /**
   * Leader: the learner to promote next, if any (none while a change is pending): one that holds the
   * entry that added it (a learner with nothing would count
   * toward quorum without even knowing the voters: sim seed 48), whose log is within `lagEntriesMax` of
   * the leader's last index, and that answered within the last election timeout (docs/membership.md).
   * Learners added below `snapshotIndex` must hold at least that much.
   */
  learnerToPromote(status: Status, lagEntriesMax: number, snapshotIndex: number): NodeId | undefined {
    if (this.pending) return undefined;
    for (const id of status.config.learners) {
      const pr = status.progress.get(id);
      const addedAt = this.learnerAddedAt.get(id) ?? snapshotIndex;
      if (pr?.recentActive && pr.match >= addedAt && status.lastIndex - pr.match <= lagEntriesMax) return id;
    }
    return undefined;
  }
}

/**
 * The error a refused `proposeConfChange` rejects with; `invalidReason` says why an invalid change does
 * not apply (e.g. an id that was removed: ids are never reused).
 */
export function confChangeRefusal(result: ProposeResult & { ok: false }, invalidReason?: string): Error {
  switch (result.error) {
    case "config_change_pending":
      return new ConfChangeError(
        "config_change_pending",
        "another configuration change is not applied yet (or the leader has not committed in its term); retry",
        result.leader,
      );
    case "learner_behind":
      // Retryable like a pending change: the learner catches up, and a waiting request tries again.
      return new ConfChangeError(
        "config_change_pending",
        "the learner has not caught up with the leader's log (or did not answer recently); retry",
        result.leader,
      );
    case "config_invalid":
      return new ConfChangeError(
        "config_invalid",
        `the change does not apply to the current configuration${invalidReason === undefined ? "" : `: ${invalidReason}`}`,
        result.leader,
      );
    case "transfer_in_progress":
    case "uncommitted_full":
      return new NodeError("busy", `change refused: ${result.error}`, result.leader);
    case "no_leader":
      return new NodeError("no_leader", "no leader known; retry", result.leader);
    case "not_leader":
      return new NodeError("not_leader", `node ${result.leader} is the leader`, result.leader);
  }
}
