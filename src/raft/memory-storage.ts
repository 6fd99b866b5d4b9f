import {
  CompactedError,
  type ConfigState,
  type Entry,
  type HardState,
  invariant,
  type LogStorage,
  type Ready,
  type Snapshot,
} from "./types.js";

const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 };

/**
 * LogStorage held in memory: what the tests and the simulator persist to. Index 0 of `entries` is a dummy
 * standing for the snapshot point, so `term(snapshotIndex)` is always answerable.
 */
export class MemoryStorage implements LogStorage {
  private hardState: HardState = emptyHardState;
  private snap: Snapshot;
  private entries_: Entry[];

  constructor(config: ConfigState) {
    this.snap = { meta: { index: 0, term: 0, config }, data: new Uint8Array(0) };
    this.entries_ = [{ term: 0, index: 0, kind: "noop", data: new Uint8Array(0) }];
  }

  initialState(): { hardState: HardState; config: ConfigState } {
    return { hardState: this.hardState, config: this.snap.meta.config };
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.entries_.length - 1;
  }

  term(index: number): number {
    const offset = this.offset();
    if (index < offset) throw new CompactedError(index, offset + 1);
    const entry = this.entries_[index - offset];
    if (entry === undefined)
      throw new RangeError(`index ${index} is past the last index ${this.lastIndex()}`);
    return entry.term;
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    invariant(hi <= this.lastIndex() + 1, `entries(${lo}, ${hi}) past the last index ${this.lastIndex()}`);
    return limitBytes(this.entries_.slice(lo - offset, hi - offset), bytesMax);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** Persists what a Ready asks to persist (the in-memory driver's half of the Ready contract). */
  persist(ready: Pick<Ready, "hardState" | "snapshot" | "entries">): void {
    if (ready.snapshot) this.applySnapshot(ready.snapshot);
    this.append(ready.entries);
    if (ready.hardState) this.setHardState(ready.hardState);
  }

  /** Appends entries, replacing any at the same or higher indexes. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.offset();
    if (first.index + entries.length - 1 <= offset) return;
    const skip = Math.max(0, offset + 1 - first.index);
    const start = first.index + skip - offset;
    invariant(
      start <= this.entries_.length,
      `append at ${first.index} leaves a gap after ${this.lastIndex()}`,
    );
    this.entries_.length = start;
    for (let i = skip; i < entries.length; i++) this.entries_.push(entries[i] as Entry);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    invariant(snapshot.meta.index >= this.offset(), "applySnapshot older than the current snapshot");
    this.snap = snapshot;
    this.entries_ = [
      { term: snapshot.meta.term, index: snapshot.meta.index, kind: "noop", data: new Uint8Array(0) },
    ];
  }

  /** Records a snapshot of the state machine at `index` and drops the entries before it. */
  createSnapshot(index: number, config: ConfigState, data: Uint8Array): Snapshot {
    invariant(index > this.offset() && index <= this.lastIndex(), `createSnapshot(${index}) outside the log`);
    this.snap = { meta: { index, term: this.term(index), config }, data };
    this.compact(index);
    return this.snap;
  }

  /** Drops entries before `index` (which stays as the dummy). */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) return;
    invariant(index <= this.lastIndex(), `compact(${index}) past the last index ${this.lastIndex()}`);
    const dummy = this.entries_[index - offset] as Entry;
    this.entries_ = [
      { term: dummy.term, index, kind: "noop", data: new Uint8Array(0) },
      ...this.entries_.slice(index - offset + 1),
    ];
  }

  private offset(): number {
    return (this.entries_[0] as Entry).index;
  }
}

/** Keeps a prefix of `entries` within `bytesMax` of data, but always at least one entry. */
export function limitBytes(entries: Entry[], bytesMax: number): Entry[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += (entries[i] as Entry).data.length;
    if (bytes > bytesMax && i > 0) return entries.slice(0, i);
  }
  return entries;
}
