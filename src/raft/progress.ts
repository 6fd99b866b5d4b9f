import { Inflights } from "./inflights.js";
import { InvariantError, invariant } from "./types.js";

export type ProgressState = "probe" | "replicate" | "snapshot";

/**
 * The leader's view of one follower (etcd's tracker.Progress); every change goes through a method here.
 *
 * - probe: one append at a time until the point where the logs match is found.
 * - replicate: appends pipelined within the inflight window.
 * - snapshot: paused while a snapshot is in flight.
 *
 * Invariants: 0 <= match < next; match <= acknowledged; inflights is empty outside replicate;
 * `probeSent` is only set in probe; `pendingSnapshot` > 0 in snapshot state.
 */
export class Progress {
  /** Highest index known to be replicated on the follower (from its acknowledgements in this term). */
  private match_ = 0;
  /**
   * Highest index the follower acknowledged in this term. It equals match unless the follower lost
   * entries (lostEntries): heartbeats keep claiming it, so a follower that lost acknowledged entries
   * without a repair sees the claim and stops instead of being quietly refilled.
   */
  private acknowledged_ = 0;
  /** Next index to send. */
  private next_: number;
  private state_: ProgressState = "probe";
  /** In probe state, an append is outstanding; cleared by any reply or heartbeat response. */
  private probeSent = false;
  /** Index of the snapshot in flight (snapshot state), or where it ended (probe right after it). */
  private pendingSnapshot_ = 0;
  private snapshotTicks = 0;
  /** The follower answered since the last check-quorum round. */
  private recentActive_ = false;
  /**
   * The tick (RaftState.ticks) at which this node last heard from the member in this term: any message
   * of the term, a vote included, so a new leader knows whom it heard while campaigning. The hand-off
   * ranks voters by it (hand-off.ts); -Infinity while nothing was heard.
   */
  private heardAt_ = Number.NEGATIVE_INFINITY;
  /**
   * The transport reported the member unreachable since it was last heard (a killed process' connection
   * closes at once, long before its silence shows in ticks; a stopped one's stays open).
   */
  private unreachable_ = false;
  private readonly inflights: Inflights;

  constructor(next: number, inflightMax: number, inflightBytesMax: number) {
    invariant(next > 0, `progress starts at next ${next}`);
    this.next_ = next;
    this.inflights = new Inflights(inflightMax, inflightBytesMax);
  }

  get match(): number {
    return this.match_;
  }

  get acknowledged(): number {
    return this.acknowledged_;
  }

  get next(): number {
    return this.next_;
  }

  get state(): ProgressState {
    return this.state_;
  }

  get pendingSnapshot(): number {
    return this.pendingSnapshot_;
  }

  get recentActive(): boolean {
    return this.recentActive_;
  }

  get heardAt(): number {
    return this.heardAt_;
  }

  get unreachable(): boolean {
    return this.unreachable_;
  }

  private resetState(state: ProgressState): void {
    this.state_ = state;
    this.probeSent = false;
    this.pendingSnapshot_ = 0;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  private setNext(next: number): void {
    if (this.match_ >= next) throw new InvariantError(`progress next ${next} not above match ${this.match_}`);
    this.next_ = next;
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it; otherwise just after the last known match.
    const next =
      this.state_ === "snapshot" ? Math.max(this.match_ + 1, this.pendingSnapshot_ + 1) : this.match_ + 1;
    this.resetState("probe");
    this.setNext(next);
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.setNext(this.match_ + 1);
  }

  becomeSnapshot(index: number): void {
    invariant(index > 0, "a snapshot at index 0");
    this.resetState("snapshot");
    this.pendingSnapshot_ = index;
  }

  /** An append ending at `lastIndex` (undefined when empty) with `bytes` of data went out. */
  sentAppend(lastIndex: number | undefined, bytes: number): void {
    if (this.state_ === "replicate") {
      if (lastIndex !== undefined) {
        this.setNext(lastIndex + 1);
        this.inflights.add(lastIndex, bytes);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** Records an acknowledgement up to `index`; false if it was stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match_ < index) {
      this.match_ = index;
      updated = true;
      this.probeSent = false;
    }
    if (this.acknowledged_ < index) this.acknowledged_ = index;
    this.next_ = Math.max(this.next_, index + 1);
    return updated;
  }

  /** The follower acknowledged up to `index`: appends ending there are no longer in flight. */
  freeInflightsTo(index: number): void {
    if (this.inflights.freeTo(index) > 0) this.inflights.grow();
  }

  /**
   * Handles a rejection of the append whose prevIndex was `rejected`: falls back to probing from
   * `hintNext` (never below match+1). False if the rejection is stale. In replicate state a fresh
   * rejection means an earlier append of the window was overtaken or lost, so the window shrinks.
   */
  maybeDecrTo(rejected: number, hintNext: number): boolean {
    const stale = this.state_ === "replicate" ? rejected <= this.match_ : this.next_ - 1 !== rejected;
    if (stale) return false;
    if (this.state_ === "replicate") this.inflights.shrink();
    const next = Math.max(this.match_ + 1, Math.min(rejected, hintNext));
    this.resetState("probe");
    this.setNext(next);
    return true;
  }

  /**
   * The follower's log ends at `lastIndex`, below the match it acknowledged: it lost entries (a repair).
   * Nothing it holds is known to match any more, so match drops to 0 and probing starts after its end,
   * once the follower has answered a heartbeat (which claims `acknowledged`, see above).
   */
  lostEntries(lastIndex: number): void {
    invariant(lastIndex < this.match_, `lostEntries(${lastIndex}) with match ${this.match_}`);
    this.match_ = 0;
    this.resetState("probe");
    this.setNext(lastIndex + 1);
    this.probeSent = true;
  }

  /**
   * The follower answered a heartbeat, so it is alive. In probe state it may be probed again. In
   * replicate state with a full window, appends may have been lost: freeing the oldest lets one more
   * append find out (a rejection restarts probing) without resending the whole window.
   */
  heartbeatAnswered(): void {
    if (this.state_ === "probe") this.probeSent = false;
    else if (this.state_ === "replicate" && this.inflights.full()) this.inflights.freeFirstOne();
  }

  /** The transport finished (or failed) sending the snapshot. */
  snapshotReported(ok: boolean): void {
    invariant(this.state_ === "snapshot", `snapshot reported in ${this.state_} state`);
    if (!ok) this.pendingSnapshot_ = 0;
    this.becomeProbe();
    this.probeSent = ok; // wait for the follower's reply to the snapshot before probing again
  }

  /** Counts a tick in snapshot state; true once the snapshot has been in flight for `timeoutTicks`. */
  tickSnapshot(timeoutTicks: number): boolean {
    return this.state_ === "snapshot" && ++this.snapshotTicks >= timeoutTicks;
  }

  markActive(): void {
    this.recentActive_ = true;
  }

  /** A message of this term from the member arrived at `tick`; check-quorum does not count it (markActive). */
  heard(tick: number): void {
    if (tick > this.heardAt_) this.heardAt_ = tick;
    this.unreachable_ = false;
  }

  unreachableReported(): void {
    this.unreachable_ = true;
  }

  /** Returns whether the follower answered since the last call, and starts a new round. */
  takeActive(): boolean {
    const active = this.recentActive_;
    this.recentActive_ = false;
    return active;
  }

  /** Appends currently allowed in flight in replicate state (the adaptive window). */
  get inflightLimit(): number {
    return this.inflights.limit();
  }

  isPaused(): boolean {
    switch (this.state_) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
