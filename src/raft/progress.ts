import { invariant } from "./types.js";

/** A bounded window of appends sent to a follower and not yet acknowledged (count and bytes). */
export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;

  constructor(
    private readonly countMax: number,
    private readonly bytesMax: number,
  ) {}

  add(lastIndex: number, bytes: number): void {
    invariant(!this.full(), "add to a full inflight window");
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every append whose last index is ≤ `index`. */
  freeTo(index: number): void {
    let n = 0;
    while (n < this.indexes.length && (this.indexes[n] as number) <= index) {
      this.bytes -= this.sizes[n] as number;
      n++;
    }
    if (n > 0) {
      this.indexes.splice(0, n);
      this.sizes.splice(0, n);
    }
  }

  /** Frees the oldest append: a follower that answers a heartbeat is alive, so let one more append probe it. */
  freeFirstOne(): void {
    if (this.indexes.length > 0) this.freeTo(this.indexes[0] as number);
  }

  full(): boolean {
    return this.indexes.length >= this.countMax || this.bytes >= this.bytesMax;
  }

  count(): number {
    return this.indexes.length;
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
  }
}

export type ProgressState = "probe" | "replicate" | "snapshot";

/**
 * The leader's view of one follower. Probe: one append at a time until the match point is found.
 * Replicate: pipelined appends within the inflight window. Snapshot: paused while a snapshot is in flight.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** In probe state, an append is outstanding; cleared by any reply or heartbeat response. */
  probeSent = false;
  pendingSnapshot = 0;
  snapshotTicks = 0;
  recentActive = false;
  readonly inflights: Inflights;

  constructor(next: number, inflightMax: number, inflightBytesMax: number) {
    this.next = next;
    this.inflights = new Inflights(inflightMax, inflightBytesMax);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it; otherwise just after the last known match.
    const next =
      this.state === "snapshot" ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.resetState("probe");
    this.next = next;
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(index: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = index;
  }

  /** Records an acknowledgement up to `index`; false if it was stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * Handles a rejection of the append whose prevIndex was `rejected`: falls back to probing from
   * `hintNext` (never below match+1). False if the rejection is stale.
   */
  maybeDecrTo(rejected: number, hintNext: number): boolean {
    const stale = this.state === "replicate" ? rejected <= this.match : this.next - 1 !== rejected;
    if (stale) return false;
    const next = Math.max(this.match + 1, Math.min(rejected, hintNext));
    this.resetState("probe");
    this.next = next;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
