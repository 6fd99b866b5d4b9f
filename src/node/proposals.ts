import type { Entry } from "../raft/index.js";
import type { Outcome } from "../stack/index.js";
import { NodeError } from "./errors.js";
import type { NodeMetrics } from "./metrics.js";
import type { Reply } from "./ports.js";

interface ProposalWaiter {
  readonly term: number;
  readonly startedMs: number;
  /** Checked by the tick's sweep: one timer per proposal was a visible cost on the leader. */
  readonly deadlineMs: number;
  readonly reply: Reply<Outcome>;
}

/**
 * This leader's proposals waiting for their entry to be applied, by log index. The map is in proposal
 * order, which is deadline order: a leader's indexes only grow, and every proposal is failed when
 * leadership is lost, so an index is never registered twice.
 */
export class PendingProposals {
  private readonly byIndex = new Map<number, ProposalWaiter>();

  constructor(private readonly metrics: NodeMetrics | undefined) {}

  get size(): number {
    return this.byIndex.size;
  }

  add(index: number, term: number, startedMs: number, deadlineMs: number, reply: Reply<Outcome>): void {
    this.byIndex.set(index, { term, startedMs, deadlineMs, reply });
  }

  /** Answers the proposal registered at `entry`'s index, if any, once the entry was applied. */
  applied(entry: Entry, outcome: Outcome | undefined, nowMs: number, leader: number): void {
    const w = this.byIndex.get(entry.index);
    if (w === undefined) return;
    this.byIndex.delete(entry.index);
    if (w.term === entry.term && outcome !== undefined) {
      this.metrics?.commitLatency.observe((nowMs - w.startedMs) / 1000);
      w.reply.resolve(outcome);
    } else {
      // Another leader's entry replaced ours at this index: it was never applied.
      this.metrics?.proposalsFailed.inc({ code: "lost" });
      w.reply.reject(new NodeError("timeout", "proposal lost in a leader change; retry", leader));
    }
  }

  /** Fails proposals past their deadline (the tick's sweep: late by at most one tick). */
  expire(nowMs: number, leader: number): void {
    for (const [index, w] of this.byIndex) {
      if (w.deadlineMs > nowMs) break;
      this.byIndex.delete(index);
      this.metrics?.proposalsFailed.inc({ code: "timeout" });
      w.reply.reject(
        new NodeError("timeout", "not committed within the request timeout; outcome unknown", leader),
      );
    }
  }

  /** A snapshot from the leader covers indexes up to `index`: their outcomes are unknown here. */
  superseded(index: number, leader: number): void {
    for (const [at, w] of this.byIndex) {
      if (at > index) continue;
      this.byIndex.delete(at);
      w.reply.reject(new NodeError("timeout", "superseded by a snapshot; outcome unknown", leader));
    }
  }

  failAll(code: "timeout" | "stopped", message: string, leader: number): void {
    for (const w of this.byIndex.values()) w.reply.reject(new NodeError(code, message, leader));
    this.metrics?.proposalsFailed.inc({ code }, this.byIndex.size);
    this.byIndex.clear();
  }
}
