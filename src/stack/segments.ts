/** Item offsets are u32: one stack's bytes stay below this (StackMachine asserts its limits fit). */
export const STACK_BYTES_MAX = 2 ** 32 - 1;
/** log2 of a segment's size in bytes (1 MiB), for the bytes and for the end offsets (256 Ki of them). */
export const SEGMENT_BITS = 20;
/** The largest item a stack holds: an item never spans two segments (StackMachine asserts its limit). */
export const ITEM_BYTES_MAX = 2 ** SEGMENT_BITS;

const noBytes = new Uint8Array(0);

/**
 * Where a stack's items are (items.ts): their UTF-8 in segments of 2^bits bytes and their end offsets in
 * segments of 2^(bits - 2) u32s (as many bytes). Why segments: one array doubled and copied as the stack
 * grew, and the copy of 128 MiB took 0.16-0.6 s under load, on every node at once (they apply the same
 * entries), so a leader lost its leadership at each doubling. Now a full segment is followed by a new
 * one and nothing is copied but segment 0, which grows by doubling to a whole segment (most stacks are
 * small). Offsets are global: segment k holds [k * 2^bits, (k + 1) * 2^bits). An item never spans two
 * segments: one that does not fit in the rest of a segment starts the next, and the gap is never read.
 *
 * The lists are changed in place by the stack that owns them; a cut reads them too, below the lowest
 * count the stack has had since, where nothing is written or dropped (ItemsCut).
 */
export class Segments {
  readonly size: number;
  readonly mask: number;
  readonly endBits: number;
  readonly endSize: number;
  readonly endMask: number;

  constructor(
    readonly bits: number,
    readonly bytes: Uint8Array[] = [],
    readonly ends: Uint32Array[] = [],
  ) {
    if (!(Number.isInteger(bits) && bits >= 6 && bits <= 30)) throw new RangeError(`segment bits ${bits}`);
    this.size = 2 ** bits;
    this.mask = this.size - 1;
    this.endBits = bits - 2;
    this.endSize = 2 ** this.endBits;
    this.endMask = this.endSize - 1;
  }

  /** The end offset of item `i` (which exists). */
  end(i: number): number {
    return this.ends[i >>> this.endBits]![i & this.endMask]!;
  }

  /** The start offset of item `i`: the previous item's end, or the next segment's start after a gap. */
  start(i: number): number {
    return i === 0 ? 0 : this.startAfter(this.end(i - 1), this.end(i));
  }

  /** The start of an item ending at `end` whose predecessor ends at `prev`. */
  startAfter(prev: number, end: number): number {
    if (end === prev) return prev; // empty
    // Not `&`: offsets reach 2^32 - 1, past the int32 range of JS bit operations (>>> is unsigned).
    return Math.max(prev, ((end - 1) >>> this.bits) * this.size);
  }

  /** The segment holding the non-empty range starting at `start`. */
  segmentAt(start: number): Uint8Array {
    return this.bytes[start >>> this.bits]!;
  }

  /** The bytes [start, end) of one item, as a view of its segment. */
  view(start: number, end: number): Uint8Array {
    if (end === start) return noBytes;
    const at = start & this.mask;
    return this.segmentAt(start).subarray(at, at + end - start);
  }
}
