import { NONE } from "../raft/index.js";
import { NodeError } from "./errors.js";
import type { Reply } from "./ports.js";

/** Settled reads tolerated in the apply queue before it is filtered. */
const awaitingSlackMax = 1024;

interface ReadWaiter {
  readonly context: number;
  readonly startedMs: number;
  readonly deadlineMs: number;
  readonly reply: Reply<void>;
  /** Set once the ReadState arrived: the read is served when applied reaches it. */
  index: number;
}

/** Refuses a read that cannot wait for its ReadIndex now (stopped, too many waiting); true if it did. */
export function refusedRead(reply: Reply<void>, stopped: boolean, full: boolean, leader: number): boolean {
  if (stopped) reply.reject(new NodeError("stopped", "node is shutting down"));
  else if (full) reply.reject(new NodeError("busy", "too many reads pending; retry", leader));
  return stopped || full;
}

/**
 * Linearizable reads waiting for their ReadState (the leader confirmed its commit index, §6.4) and then
 * for this node to apply up to it. Deadlines are swept each tick instead of one timer per read.
 */
export class PendingReads {
  /** Every pending read by context; contexts grow with time, so this is also deadline order. */
  private readonly byContext = new Map<number, ReadWaiter>();
  /** Reads whose ReadState arrived, ascending by index; settled ones are skipped when reached. */
  private awaitingApply: ReadWaiter[] = [];
  private nextContext = 0;

  get size(): number {
    return this.byContext.size;
  }

  /** Registers a read and returns the context to pass to Raft.readIndex. */
  add(startedMs: number, deadlineMs: number, reply: Reply<void>): number {
    const context = ++this.nextContext;
    this.byContext.set(context, { context, startedMs, deadlineMs, reply, index: 0 });
    return context;
  }

  /** Raft refused the read at once: forget it (the caller answers). */
  drop(context: number): void {
    this.byContext.delete(context);
  }

  /** The leader confirmed `index` for `context`. */
  confirmed(context: number, index: number): void {
    const w = this.byContext.get(context);
    if (w === undefined || w.index !== 0) return;
    w.index = index;
    const list = this.awaitingApply;
    // ReadStates mostly arrive in order, so this is usually a push.
    let i = list.length;
    while (i > 0 && (list[i - 1]?.index ?? 0) > index) i--;
    list.splice(i, 0, w);
  }

  /** Serves every confirmed read at or below `applied`; calls `served` with each one's start time. */
  release(applied: number, served: (startedMs: number) => void): void {
    const list = this.awaitingApply;
    let n = 0;
    while (n < list.length) {
      const w = list[n] as ReadWaiter;
      if (w.index > applied) break;
      n++;
      if (!this.byContext.delete(w.context)) continue;
      served(w.startedMs);
      w.reply.resolve();
    }
    if (n > 0) this.awaitingApply = list.slice(n);
  }

  /** Fails reads past their deadline. */
  expire(nowMs: number, leader: number): void {
    for (const [context, w] of this.byContext) {
      if (w.deadlineMs > nowMs) break;
      this.byContext.delete(context);
      w.reply.reject(new NodeError("timeout", "read not confirmed within the request timeout", leader));
    }
    // Expired reads stay in awaitingApply until applied passes them; bound that if applying stalls.
    if (this.awaitingApply.length > 2 * this.byContext.size + awaitingSlackMax) {
      this.awaitingApply = this.awaitingApply.filter((w) => this.byContext.has(w.context));
    }
  }

  /** The leader is gone: reads still waiting for their ReadState will never get one. */
  leaderLost(): void {
    for (const [context, w] of this.byContext) {
      if (w.index !== 0) continue;
      this.byContext.delete(context);
      w.reply.reject(new NodeError("no_leader", "leader lost; retry", NONE));
    }
  }

  failAll(error: NodeError): void {
    for (const w of this.byContext.values()) w.reply.reject(error);
    this.byContext.clear();
    this.awaitingApply = [];
  }
}
