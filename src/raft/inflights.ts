import { InvariantError, invariant } from "./types.js";

/**
 * A bounded window of appends sent to one follower and not yet acknowledged, counted in appends
 * (`countMax`) and in entry data bytes (`bytesMax`). Entries are kept in send order, so the last
 * indexes are increasing.
 */
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
    const previous = this.indexes[this.indexes.length - 1];
    if (previous !== undefined && previous >= lastIndex) {
      throw new InvariantError(`inflight ${lastIndex} after ${previous}`);
    }
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

  /** Frees the oldest append. */
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
