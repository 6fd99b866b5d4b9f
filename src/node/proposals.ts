import type { Entry } from "../raft/index.js";
import type { Outcome, ProposedCommands } from "../stack/index.js";
import { NodeError } from "./errors.js";
import type { NodeMetrics } from "./metrics.js";
import type { Reply } from "./ports.js";

interface ProposalWaiter {
  readonly term: number;
  readonly startedMs: number;
  /** Checked by the tick's sweep: one timer per proposal was a visible cost on the leader. */
  readonly deadlineMs: number;
  /** One per command of the entry, in the entry's order (one for a single-command entry). */
  readonly replies: readonly Reply<Outcome>[];
  /** The entry's commands as proposed (applied instead of decoding the entry; see StackMachine.applyEntry). */
  readonly proposed: ProposedCommands | undefined;
}

/** What a command of a batch gets if the applied entry yielded fewer outcomes (an unreadable batch). */
const unreadable: Outcome = { ok: false, code: "bad_command" };

/**
 * This leader's proposals waiting for their entry to be applied, by log index. The map is in proposal
 * order, which is deadline order: a leader's indexes only grow, and every proposal is failed when
 * leadership is lost, so an index is never registered twice.
 */
export class PendingProposals {
  private readonly byIndex = new Map<number, ProposalWaiter>();
  private commands = 0;

  constructor(private readonly metrics: NodeMetrics | undefined) {}

  /** Commands waiting (a batch entry counts each of its commands). */
  get size(): number {
    return this.commands;
  }

  add(
    index: number,
    term: number,
    startedMs: number,
    deadlineMs: number,
    replies: readonly Reply<Outcome>[],
    proposed?: ProposedCommands,
  ): void {
    this.byIndex.set(index, { term, startedMs, deadlineMs, replies, proposed });
    this.commands += replies.length;
  }

  /**
   * The commands this leader proposed as `entry` (same index and term), if it is one of ours: one leader
   * per term and one proposal per index in a term, so index and term name the entry's bytes.
   */
  proposed(entry: Entry): ProposedCommands | undefined {
    const w = this.byIndex.get(entry.index);
    return w !== undefined && w.term === entry.term ? w.proposed : undefined;
  }

  /**
   * Answers the commands registered at `entry`'s index, if any, once the entry was applied: the i-th
   * reply gets the i-th outcome. The commit latency is observed once per entry (a batch's commands
   * share it): an observe per command was a visible cost on the leader.
   */
  applied(entry: Entry, outcomes: readonly Outcome[] | undefined, nowMs: number, leader: number): void {
    const w = this.take(entry.index);
    if (w === undefined) return;
    if (w.term === entry.term && outcomes !== undefined) {
      this.metrics?.commitLatency.observe((nowMs - w.startedMs) / 1000);
      for (let i = 0; i < w.replies.length; i++) w.replies[i]!.resolve(outcomes[i] ?? unreadable);
    } else {
      // Another leader's entry replaced ours at this index: it was never applied.
      this.metrics?.proposalsFailed.inc({ code: "lost" }, w.replies.length);
      rejectAll(w, new NodeError("timeout", "proposal lost in a leader change; retry", leader));
    }
  }

  /** Fails proposals past their deadline (the tick's sweep: late by at most one tick). */
  expire(nowMs: number, leader: number): void {
    for (const [index, w] of this.byIndex) {
      if (w.deadlineMs > nowMs) break;
      this.take(index);
      this.metrics?.proposalsFailed.inc({ code: "timeout" }, w.replies.length);
      rejectAll(
        w,
        new NodeError("timeout", "not committed within the request timeout; outcome unknown", leader),
      );
    }
  }

  /** A snapshot from the leader covers indexes up to `index`: their outcomes are unknown here. */
  superseded(index: number, leader: number): void {
    for (const [at, w] of this.byIndex) {
      if (at > index) continue;
      this.take(at);
      rejectAll(w, new NodeError("timeout", "superseded by a snapshot; outcome unknown", leader));
    }
  }

  failAll(code: "timeout" | "stopped", message: string, leader: number): void {
    const waiters = [...this.byIndex.values()];
    this.metrics?.proposalsFailed.inc({ code }, this.commands);
    this.byIndex.clear();
    this.commands = 0;
    for (const w of waiters) rejectAll(w, new NodeError(code, message, leader));
  }

  private take(index: number): ProposalWaiter | undefined {
    const w = this.byIndex.get(index);
    if (w === undefined) return undefined;
    this.byIndex.delete(index);
    this.commands -= w.replies.length;
    return w;
  }
}

function rejectAll(w: ProposalWaiter, error: NodeError): void {
  for (const reply of w.replies) reply.reject(error);
}
