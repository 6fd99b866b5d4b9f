import { InvariantError, invariant } from "./types.js";

/**
 * A bounded window of appends sent to one follower and not yet acknowledged, counted in appends
 * (`countMax`) and in entry data bytes (`bytesMax`). Entries are kept in send order, so the last
 * indexes are increasing.
 *
 * The count actually allowed (`countLimit`) adapts like a congestion window: it halves when appends
 * arrive out of order or get lost (the follower rejects the ones after a gap, and a pipelined window
 * is then mostly wasted), and grows by one per acknowledgement back to `countMax`. On an ordered
 * network (TCP) nothing is rejected and the window stays whole.
 */
export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;
  private countLimit: number;

  constructor(
    private readonly countMax: number,
    private readonly bytesMax: number,
  ) {
    this.countLimit = countMax;
  }

  add(lastIndex: number, bytes: number): void {
    invariant(!this.full(), "add to a full inflight window");
    const previous = this.indexes[this.indexes.length - 1];
    if (previous !== undefined && previous >= lastIndex) {
      throw new InvariantError(`inflight ${lastIndex} after ${previous}`);
    }
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every append whose last index is ≤ `index`; returns how many were freed. */
  freeTo(index: number): number {
    let n = 0;
    while (n < this.indexes.length && (this.indexes[n] as number) <= index) {
      this.bytes -= this.sizes[n] as number;
      n++;
    }
    if (n > 0) {
      this.indexes.splice(0, n);
      this.sizes.splice(0, n);
    }
    return n;
  }

  /** Appends were reordered or lost: allow half as many in flight (at least one). */
  shrink(): void {
    this.countLimit = Math.max(1, this.countLimit >> 1);
  }

  /** An acknowledgement arrived in order: allow one more in flight, up to `countMax`. */
  grow(): void {
    if (this.countLimit < this.countMax) this.countLimit++;
  }

  /** Frees the oldest append. */
  freeFirstOne(): void {
    if (this.indexes.length > 0) this.freeTo(this.indexes[0] as number);
  }

  full(): boolean {
    return this.indexes.length >= this.countLimit || this.bytes >= this.bytesMax;
  }

  count(): number {
    return this.indexes.length;
  }

  /** The number of appends currently allowed in flight. */
  limit(): number {
    return this.countLimit;
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
  }
}
