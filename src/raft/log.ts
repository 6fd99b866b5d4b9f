import { limitBytes } from "./memory-storage.js";
import {
  CompactedError,
  type Entry,
  InvariantError,
  invariant,
  type LogStorage,
  type Snapshot,
} from "./types.js";

/**
 * The node's view of its log: the persisted part in LogStorage plus an unstable tail (entries, or a
 * snapshot from the leader) handed to the driver in a Ready and not yet acknowledged with advance().
 */
export class RaftLog {
  committed: number;
  applied: number;
  /** Index of the first unstable entry; everything before it is in storage. */
  private offset: number;
  private unstable: Entry[] = [];
  private unstableSnapshot: Snapshot | undefined;

  constructor(
    private readonly storage: LogStorage,
    applied: number,
  ) {
    this.offset = storage.lastIndex() + 1;
    this.applied = Math.max(applied, storage.firstIndex() - 1);
    // The commit index is persisted lazily, so a snapshot may already hold entries past it.
    this.committed = Math.max(storage.initialState().hardState.commit, this.applied);
    invariant(
      this.committed <= this.lastIndex(),
      `commit ${this.committed} past the last index ${this.lastIndex()}`,
    );
  }

  firstIndex(): number {
    return this.unstableSnapshot ? this.unstableSnapshot.meta.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.offset + this.unstable.length - 1;
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  /** Term at `index`, or undefined when it is compacted away or past the end. */
  term(index: number): number | undefined {
    if (index >= this.offset) return this.unstable[index - this.offset]?.term;
    const snap = this.unstableSnapshot;
    if (snap) return index === snap.meta.index ? snap.meta.term : undefined;
    if (index < this.storage.firstIndex() - 1) return undefined;
    try {
      return this.storage.term(index);
    } catch (error) {
      if (error instanceof CompactedError) return undefined;
      throw error;
    }
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    invariant(term !== undefined, "the last entry's term is unknown");
    return term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myLastTerm = this.lastTerm();
    return lastTerm > myLastTerm || (lastTerm === myLastTerm && lastIndex >= this.lastIndex());
  }

  /** Appends new entries at the tail (leader). */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= this.committed) {
      throw new InvariantError(`append at ${first.index} would overwrite committed ${this.committed}`);
    }
    this.truncateAndAppend(entries);
  }

  /**
   * §5.3 AppendEntries receiver: if our log matches at (prevIndex, prevTerm), appends the entries that are
   * new, truncating a conflicting suffix, and returns the index of the last new entry; otherwise undefined.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    entries: readonly Entry[],
    skipMatchCheck: boolean,
  ): number | undefined {
    if (!skipMatchCheck && !this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      invariant(conflict > this.committed, `entry ${conflict} conflicts with committed ${this.committed}`);
      const first = entries[0] as Entry;
      this.truncateAndAppend(entries.slice(conflict - first.index));
    }
    return lastNew;
  }

  /** First index whose entry is new or whose term differs from ours; 0 if all are already present. */
  private findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /** First index of the run of entries with the same term as `index` (for the rejection hint). */
  firstIndexOfTerm(index: number): number {
    const term = this.term(index);
    const floor = this.firstIndex();
    let i = index;
    while (i > floor && this.term(i - 1) === term) i--;
    return i;
  }

  /** Largest index ≤ `from` whose term equals `term`, or undefined if the log has no entry of that term there. */
  lastIndexOfTerm(term: number, from: number): number | undefined {
    const floor = this.firstIndex() - 1;
    for (let i = Math.min(from, this.lastIndex()); i >= floor; i--) {
      const t = this.term(i);
      if (t === undefined || t < term) return undefined;
      if (t === term) return i;
    }
    return undefined;
  }

  private truncateAndAppend(entries: readonly Entry[]): void {
    const after = (entries[0] as Entry).index;
    if (after === this.offset + this.unstable.length) {
      for (const entry of entries) this.unstable.push(entry);
    } else if (after <= this.offset) {
      // The new entries replace persisted ones too; storage truncates when this batch is persisted.
      this.offset = after;
      this.unstable = entries.slice();
    } else {
      this.unstable = this.unstable.slice(0, after - this.offset).concat(entries);
    }
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex())
      throw new InvariantError(`commit ${index} is past the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index > this.committed || index < this.applied) {
      throw new InvariantError(`applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  /** Entries in [lo, hi), persisted or not, limited to `bytesMax`; undefined if any part is compacted. */
  slice(lo: number, hi: number, bytesMax: number): Entry[] | undefined {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return undefined;
    if (hi > this.lastIndex() + 1) {
      throw new InvariantError(`slice(${lo}, ${hi}) past the last index ${this.lastIndex()}`);
    }
    let result: Entry[] = [];
    if (lo < this.offset) {
      try {
        result = this.storage.entries(lo, Math.min(hi, this.offset), bytesMax);
      } catch (error) {
        if (error instanceof CompactedError) return undefined;
        throw error;
      }
      if (result.length < Math.min(hi, this.offset) - lo) return result;
    }
    if (hi > this.offset) {
      const tail = this.unstable.slice(Math.max(lo, this.offset) - this.offset, hi - this.offset);
      result = result.length === 0 ? tail : result.concat(tail);
    }
    return limitBytes(result, bytesMax);
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable;
  }

  storageSnapshot(): Snapshot {
    return this.storage.snapshot();
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.unstableSnapshot;
  }

  /** Entries committed but not yet applied, at most `bytesMax`, after any pending snapshot. */
  nextCommitted(bytesMax: number): Entry[] {
    const from = Math.max(this.applied, this.unstableSnapshot?.meta.index ?? 0) + 1;
    if (from > this.committed) return [];
    return this.slice(from, this.committed + 1, bytesMax) ?? [];
  }

  hasNextCommitted(): boolean {
    return this.committed > Math.max(this.applied, this.unstableSnapshot?.meta.index ?? 0);
  }

  /** The driver persisted entries up to (index, term): they now live in storage. */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.term(index) !== term) return;
    this.unstable = this.unstable.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.unstableSnapshot?.meta.index === index) this.unstableSnapshot = undefined;
  }

  /** Replaces the log with a snapshot from the leader (§7). */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.meta.index;
    this.offset = snapshot.meta.index + 1;
    this.unstable = [];
    this.unstableSnapshot = snapshot;
  }

  /** The last index known to be persisted locally. */
  stableLastIndex(): number {
    invariant(this.unstableSnapshot === undefined, "stableLastIndex with a snapshot pending");
    return this.offset - 1;
  }
}
