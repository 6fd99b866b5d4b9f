import type { NodeId } from "../raft/index.js";
import { describeEvent, type EventCategory, eventCategory, type TimelineEvent } from "./event-text.js";

/** One timeline entry: a core or node event with its wall time, its line of text and a sequence number. */
export interface RecentEvent {
  /** Increases by one per event this node recorded since it started (gaps: events left out). */
  readonly seq: number;
  readonly atMs: number;
  readonly node: NodeId;
  readonly text: string;
  /** The dashboard's group for it (its colour on the timeline and the strip). */
  readonly category: EventCategory;
  readonly event: TimelineEvent;
}

/** Events a node keeps for its dashboard; older ones fall out of the ring. */
export const RECENT_EVENTS_MAX_DEFAULT = 500;

/**
 * The node's recent timeline (elections, leader changes, refused votes, snapshots, and whatever the
 * core reports later, such as membership changes) in a ring of `eventsMax`, so an election storm
 * costs bounded memory. Fed from `Ready.events` and the snapshot hooks.
 */
export class RecentEvents {
  private readonly ring: (RecentEvent | undefined)[];
  private next = 0;
  /** Events the core left out of its Ready (its own eventsMax) since start. */
  dropped = 0;

  constructor(
    private readonly node: NodeId,
    private readonly wallMs: () => number,
    readonly eventsMax = RECENT_EVENTS_MAX_DEFAULT,
  ) {
    if (!(eventsMax >= 1)) throw new RangeError(`eventsMax ${eventsMax} must be at least 1`);
    this.ring = new Array<RecentEvent | undefined>(eventsMax);
  }

  /** Sequence number of the newest event (0: none yet). */
  get lastSeq(): number {
    return this.next;
  }

  add(event: TimelineEvent): void {
    this.next++;
    const item = {
      seq: this.next,
      atMs: this.wallMs(),
      node: this.node,
      text: describeEvent(event, this.node),
      category: eventCategory(event.type),
      event,
    };
    this.ring[this.next % this.eventsMax] = item;
  }

  /** Events with a sequence number above `seq`, oldest first (at most eventsMax). */
  since(seq: number): RecentEvent[] {
    const from = Math.max(seq + 1, this.next - this.eventsMax + 1, 1);
    const out: RecentEvent[] = [];
    for (let s = from; s <= this.next; s++) out.push(this.ring[s % this.eventsMax] as RecentEvent);
    return out;
  }
}
