import type { MemberAttrs } from "./members.js";

/** What the node knows when it considers publishing its addresses. */
export interface PublishState {
  readonly leaderKnown: boolean;
  /** This node's applied configuration lists it (voter or learner). */
  readonly member: boolean;
  /** Its entry in the applied member table, if any. */
  readonly known: MemberAttrs | undefined;
  /** The addresses it would publish. */
  readonly own: MemberAttrs;
}

/**
 * When a node publishes its addresses (an `update` change): one attempt at a time, at most one per
 * `retryMs`, only once its table shows an entry that differs. Not before this node applied the entry
 * that made it a member (until then its table is the bootstrap one, which lacks the client URL it is
 * about to learn from the log), and after a success not again for `holdOffMs` with the same addresses
 * (a catching-up learner applies its own update later than the leader answers): each needless update
 * is one more change the learner's promotion waits behind. New addresses (the client port a listener
 * on port 0 got) are published without waiting for the hold-off.
 */
export class PublishSchedule {
  private inFlight = false;
  private nextMs = 0;
  private published: MemberAttrs | undefined;
  private heldUntilMs = 0;

  constructor(
    private readonly retryMs: number,
    private readonly holdOffMs: number,
  ) {}

  /** True if an attempt should start now; the caller then calls `started`. */
  due(nowMs: number, s: PublishState): boolean {
    if (this.inFlight || nowMs < this.nextMs || !s.leaderKnown || !s.member || s.known === undefined) {
      return false;
    }
    if (same(s.known, s.own)) return false;
    return this.published === undefined || !same(this.published, s.own) || nowMs >= this.heldUntilMs;
  }

  started(nowMs: number): void {
    this.inFlight = true;
    this.nextMs = nowMs + this.retryMs;
  }

  succeeded(nowMs: number, published: MemberAttrs): void {
    this.inFlight = false;
    this.published = published;
    this.heldUntilMs = nowMs + this.holdOffMs;
  }

  failed(): void {
    this.inFlight = false;
  }
}

function same(a: MemberAttrs, b: MemberAttrs): boolean {
  return a.peerUrl === b.peerUrl && a.clientUrl === b.clientUrl;
}
