import type { ConfChangeOp } from "./confchange.js";
import type { NodeId, Role, TransferAbandonReason } from "./types.js";

/** Why a vote or pre-vote request was refused (or ignored, for `leaderLease` and `staleTerm`). */
export type VoteRefusal =
  /** We voted for another candidate in this term (§5.2). */
  | "votedForAnother"
  /** We follow a live leader of this term, so no election is needed. */
  | "leaderKnown"
  /** We heard from a leader within the election timeout (§4.2.3); the request is dropped unanswered. */
  | "leaderLease"
  /** The candidate's log is behind ours (§5.4.1). */
  | "logBehind"
  /** A pre-candidate in its first round defers to the peer with the higher id (see election.ts). */
  | "preVoteDeferral"
  /** This node lost its log (repair) and has not been caught up by a leader yet (docs/recovery.md). */
  | "recovering"
  /** The request carries a term below ours. */
  | "staleTerm"
  /** The candidate was removed from the configuration (ids are never reused): dropped unanswered. */
  | "removed";

/**
 * Something a driver should be able to log: elections, leader changes and safety-relevant findings.
 * The core never logs itself (it does no I/O); each Ready carries the events since the previous one.
 */
export type RaftEvent =
  | { readonly type: "roleChanged"; readonly term: number; readonly from: Role; readonly to: Role }
  /** `source` is the peer whose message carried the new term, or this node's id when it campaigned. */
  | { readonly type: "termChanged"; readonly from: number; readonly to: number; readonly source: NodeId }
  | { readonly type: "leaderChanged"; readonly term: number; readonly from: NodeId; readonly to: NodeId }
  | {
      readonly type: "campaignStarted";
      readonly term: number;
      readonly kind: "preVote" | "election" | "transfer";
      /** Pre-vote rounds since this node last knew a leader; a rising count is an election storm. */
      readonly preVoteRounds: number;
    }
  | {
      readonly type: "voteRefused";
      readonly term: number;
      readonly candidate: NodeId;
      readonly preVote: boolean;
      readonly reason: VoteRefusal;
    }
  /** §6.2: the leader heard from fewer than a quorum of voters within an election timeout. */
  | {
      readonly type: "checkQuorumStepDown";
      readonly term: number;
      readonly active: number;
      readonly quorum: number;
    }
  /**
   * A follower reported a log that ends below what it acknowledged: it lost entries (e.g. it was
   * repaired). The leader stops counting them (match lowered) and replicates them again.
   */
  | {
      readonly type: "followerLostEntries";
      readonly term: number;
      readonly follower: NodeId;
      readonly match: number;
      readonly lastIndex: number;
    }
  /** The node starts with a lost log: it grants no votes and never campaigns until caught up. */
  | { readonly type: "recoveryStarted"; readonly term: number }
  | {
      readonly type: "recoveryFinished";
      readonly term: number;
      readonly leader: NodeId;
      readonly index: number;
    }
  /**
   * TimeoutNow arrived while recovering (a node that lost its log must not lead), or while committed
   * config entries are unapplied (`configUnapplied`: it campaigns once they are applied, within an
   * election timeout).
   */
  | {
      readonly type: "transferRefused";
      readonly term: number;
      readonly from: NodeId;
      readonly reason: "recovering" | "configUnapplied";
    }
  /**
   * This leader gave up its transfer to `to` and takes proposals again. With `timeoutNowSent` false the
   * target was never told to campaign, so it does not lead because of this transfer.
   */
  | {
      readonly type: "transferAbandoned";
      readonly term: number;
      readonly to: NodeId;
      readonly reason: TransferAbandonReason;
      readonly timeoutNowSent: boolean;
    }
  | ConfigAppliedEvent
  /** This leader applied its own removal: it hands leadership to `to` (NONE if no voter is left to take it) and steps down. */
  | { readonly type: "removedLeaderStepsDown"; readonly term: number; readonly to: NodeId };

/** A configuration change was applied (committed and handed out in `Ready.committed`). */
export interface ConfigAppliedEvent {
  readonly type: "configApplied";
  readonly term: number;
  readonly index: number;
  readonly op: ConfChangeOp;
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export type RaftEventType = RaftEvent["type"];

/**
 * Events waiting for the next Ready, at most `eventsMax`; later ones are counted, not kept, so an
 * election storm cannot fill memory while the driver is slow.
 */
export class EventBuffer {
  private events: RaftEvent[] = [];
  private dropped = 0;

  constructor(private readonly eventsMax: number) {}

  add(event: RaftEvent): void {
    if (this.events.length < this.eventsMax) this.events.push(event);
    else this.dropped++;
  }

  pending(): boolean {
    return this.events.length > 0 || this.dropped > 0;
  }

  /** Events since the last call; the buffer starts empty again. */
  takeEvents(): readonly RaftEvent[] {
    if (this.events.length === 0) return noEvents;
    const taken = this.events;
    this.events = [];
    return taken;
  }

  /** Events dropped since the last call. */
  takeDropped(): number {
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }
}

const noEvents: readonly RaftEvent[] = Object.freeze([]);
