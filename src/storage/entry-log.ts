import { CompactedError, type Entry, invariant } from "../raft/index.js";
import type { LogPoint } from "./codec.js";

/**
 * The entries held in memory after the compaction point `offset` (whose term is kept so
 * term(firstIndex - 1) answers). Appends replace any entries at the same or higher index.
 */
export class EntryLog {
  private offset: number;
  private offsetTerm: number;
  private ents: Entry[] = [];

  constructor(base: LogPoint) {
    this.offset = base.index;
    this.offsetTerm = base.term;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length;
  }

  lastPoint(): LogPoint {
    const last = this.lastIndex();
    return { index: last, term: this.term(last) };
  }

  /** Term of `index` if held (or the compaction point), undefined above lastIndex. */
  termOrUndefined(index: number): number | undefined {
    if (index < this.offset) throw new CompactedError(index, this.firstIndex());
    if (index === this.offset) return this.offsetTerm;
    return this.ents[index - this.offset - 1]?.term;
  }

  term(index: number): number {
    const t = this.termOrUndefined(index);
    invariant(t !== undefined, `term(${index}) beyond last index ${this.lastIndex()}`);
    return t;
  }

  /**
   * Entries in [lo, hi) within `bytesMax` of entry data, at least one: the same rule as the core's
   * `limitBytes` and MemoryStorage, so the simulator's memory disk cuts batches exactly as this does.
   */
  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex());
    invariant(hi <= this.lastIndex() + 1, `entries(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.offset - 1]!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(e);
    }
    return out;
  }

  /** Checks that `entries` are consecutive and may be placed here (no gap, nothing compacted). */
  checkAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    invariant(
      first.index > this.offset && first.index <= this.lastIndex() + 1,
      `append at ${first.index} outside [${this.firstIndex()}, ${this.lastIndex() + 1}]`,
    );
    for (let i = 1; i < entries.length; i++) {
      invariant(entries[i]!.index === first.index + i, `entries not consecutive at ${first.index + i}`);
    }
  }

  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.checkAppend(entries);
    const keep = first.index - this.offset - 1;
    if (keep < this.ents.length) this.ents.length = keep;
    for (const e of entries) this.ents.push(e);
  }

  /** Drops entries up to and including `index`, which becomes the new compaction point. */
  compact(index: number): void {
    if (index <= this.offset) return;
    invariant(index <= this.lastIndex(), `compact(${index}) beyond last index ${this.lastIndex()}`);
    this.offsetTerm = this.term(index);
    this.ents = this.ents.slice(index - this.offset);
    this.offset = index;
  }

  /** Discards every entry: the log now follows the snapshot at `base`. */
  reset(base: LogPoint): void {
    this.offset = base.index;
    this.offsetTerm = base.term;
    this.ents = [];
  }
}
