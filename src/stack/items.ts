import { Buffer } from "node:buffer";
import { decodeUtf8, encodeUtf8Into } from "../codec/index.js";
import { SEGMENT_BITS, Segments, STACK_BYTES_MAX } from "./segments.js";

export { ITEM_BYTES_MAX, STACK_BYTES_MAX } from "./segments.js";

/** The most UTF-8 bytes one UTF-16 unit takes (a surrogate pair: 4 bytes for 2 units). */
export const UTF8_BYTES_PER_UNIT_MAX = 3;
/** Capacities a stack starts with at its first push: small, as most of up to stacksMax stacks are. */
const BYTES_INITIAL = 256;
const ENDS_INITIAL = 16;
/**
 * Capacities a stack is not shrunk below: shrinking smaller saves little and churns on push/pop. Small,
 * as every one of stacksMax stacks may keep this much while holding a single item (2 KiB -> 200 MB).
 */
const BYTES_SHRINK_MIN = 1024;
const ENDS_SHRINK_MIN = 256;

/**
 * The items of one stack, bottom first, as UTF-8 in growable byte segments with an end offset per
 * item (segments.ts), instead of a JS array of strings. Why: a pushed string lived on the JS heap until
 * popped, so the scavenger copied every one into old space and every full GC marked all of them again;
 * with the stack growing by ~100k items a second under pipelined LPUSH that was about 30 % of each
 * node's CPU (docs/performance.md). Bytes in a typed array are invisible to the GC. Items must be
 * well-formed text (the machine validates them): a lone surrogate would not read back as it was pushed.
 */
export class ItemStack {
  readonly #s: Segments;
  #count = 0;
  #chars = 0;
  /** UTF-8 bytes of all items together (the segments' gaps not counted). */
  #bytes = 0;
  /** Cuts not released yet (usually none): each is told of a pop before the item can be overwritten. */
  #cuts: ItemsCut[] | undefined = undefined;

  /** `segmentBits`: log2 of a segment's bytes; smaller only in tests, to cross segments with few items. */
  constructor(segmentBits = SEGMENT_BITS) {
    this.#s = new Segments(segmentBits);
  }

  /** Items held. */
  get length(): number {
    return this.#count;
  }

  /** UTF-16 units of all items together. */
  get chars(): number {
    return this.#chars;
  }

  /** Where the next item goes, unless it does not fit in the rest of that segment: the top item's end. */
  #top(): number {
    return this.#count === 0 ? 0 : this.#s.end(this.#count - 1);
  }

  push(item: string): void {
    const s = this.#s;
    const top = this.#top();
    let start = top;
    let end = top;
    if (item.length > 0) {
      const seg = s.bytes[top >>> s.bits];
      const at = top & s.mask;
      // The bound (3 bytes a unit) saves a count while it fits; a grow is sized by the exact UTF-8, or a
      // pop's shrink after it could undo it at once (an ASCII item reserved 3x its size: push and pop of
      // one large item each reallocated). Buffer.byteLength is native (~10 us for 64 KiB, a JS loop ~330
      // us) and counts a lone surrogate as the 3 bytes of U+FFFD, as the encoder writes it.
      if (seg !== undefined && at + item.length * UTF8_BYTES_PER_UNIT_MAX <= seg.length) {
        end = top - at + encodeUtf8Into(item, seg, at);
      } else {
        start = this.#reserve(top, Buffer.byteLength(item, "utf8"));
        const at = start & s.mask;
        end = start - at + encodeUtf8Into(item, s.segmentAt(start), at);
      }
    }
    this.#bytes += end - start;
    this.#setEnd(this.#count++, end);
    this.#chars += item.length;
  }

  /**
   * Pushes one item given as its UTF-8, `src[from, to)`, of `chars` UTF-16 units: what `push` of its
   * string writes (the bytes must be well-formed UTF-8). A cut keeps popped items this way (ItemsCut).
   */
  pushBytes(src: Uint8Array, from: number, to: number, chars: number): void {
    const s = this.#s;
    let start = this.#top();
    const len = to - from;
    if (len > 0) {
      const top = s.bytes[start >>> s.bits];
      if (top === undefined || (start & s.mask) + len > top.length) start = this.#reserve(start, len);
      const seg = s.segmentAt(start);
      // A loop for short items, as pushAscii: a subarray view per item cost more than the copy.
      if (len <= 64) for (let j = from, at = start & s.mask; j < to; j++) seg[at++] = src[j] as number;
      else seg.set(src.subarray(from, to), start & s.mask);
    }
    this.#bytes += len;
    this.#setEnd(this.#count++, start + len);
    this.#chars += chars;
  }

  /**
   * Pushes `count` items given as bytes, item i being `src[bounds[2i], bounds[2i + 1])`, `bytes` in all:
   * each must be ASCII (an item's UTF-16 length is its byte count), so the stored bytes are what `push`
   * of its string writes. A copy per item (AsciiLpush).
   */
  pushAscii(src: Uint8Array, bounds: Uint32Array, count: number, bytes: number): void {
    const s = this.#s;
    let top = this.#top();
    for (let i = 0; i < count; i++) {
      const from = bounds[2 * i] as number;
      const to = bounds[2 * i + 1] as number;
      const len = to - from;
      if (len > 0) {
        let seg = s.bytes[top >>> s.bits];
        let at = top & s.mask;
        if (seg === undefined || at + len > seg.length) {
          top = this.#reserve(top, len);
          seg = s.segmentAt(top);
          at = top & s.mask;
        }
        // A loop for short items: a subarray view and a native call cost more than copying a few bytes.
        if (len <= 64) for (let j = from; j < to; j++) seg[at++] = src[j] as number;
        else seg.set(src.subarray(from, to), at);
        top += len;
      }
      this.#setEnd(this.#count++, top);
    }
    this.#chars += bytes;
    this.#bytes += bytes;
  }

  /**
   * Where an item of `len` (> 0) bytes goes when the top is at `top`: there, or at the next segment's
   * start if it does not fit in the rest of this one. Makes room for it: segment 0 grows by doubling (to
   * a whole segment at most), a new segment comes whole.
   */
  #reserve(top: number, len: number): number {
    const s = this.#s;
    if (len > s.size) throw new Error(`an item of ${len} bytes exceeds a segment (${s.size})`);
    const p = (top & s.mask) + len <= s.size ? top : ((top >>> s.bits) + 1) * s.size;
    if (p + len > STACK_BYTES_MAX) throw new Error(`stack bytes ${p + len} exceed ${STACK_BYTES_MAX}`);
    const k = p >>> s.bits;
    const needed = (p & s.mask) + len;
    const seg = s.bytes[k];
    // Segment 0 never outgrows a segment, small ones (tests') included: push writes where it has room.
    if (seg === undefined)
      s.bytes.push(new Uint8Array(k === 0 ? Math.min(s.size, Math.max(BYTES_INITIAL, needed)) : s.size));
    else if (needed > seg.length) {
      const next = new Uint8Array(Math.min(s.size, Math.max(needed, BYTES_INITIAL, seg.length * 2)));
      next.set(seg.subarray(0, p & s.mask));
      s.bytes[k] = next;
    }
    return p;
  }

  #setEnd(i: number, end: number): void {
    const s = this.#s;
    const k = i >>> s.endBits;
    const at = i & s.endMask;
    let seg = s.ends[k];
    if (seg === undefined) {
      seg = new Uint32Array(k === 0 ? ENDS_INITIAL : s.endSize);
      s.ends.push(seg);
    } else if (at === seg.length) {
      const next = new Uint32Array(Math.min(s.endSize, seg.length * 2));
      next.set(seg);
      s.ends[k] = seg = next;
    }
    seg[at] = end;
  }

  /** Takes the top item off, or undefined if there is none. */
  pop(): string | undefined {
    if (this.#count === 0) return undefined;
    const i = --this.#count;
    const s = this.#s;
    const start = s.start(i);
    const len = s.end(i) - start;
    const seg = len === 0 ? noBytes : s.segmentAt(start);
    const at = start & s.mask;
    const item = len === 0 ? "" : decodeUtf8(seg, at, at + len);
    if (this.#cuts !== undefined)
      for (const cut of this.#cuts) cut.popping(i, seg, at, at + len, item.length);
    this.#chars -= item.length;
    this.#bytes -= len;
    this.#shrinkIfSparse();
    return item;
  }

  /** Item `i` counted from the bottom (0), or undefined outside the stack. */
  at(i: number): string | undefined {
    // Not an integer is outside too: an end at 0.5 is undefined and would decode garbage, popped items'
    // stale bytes included (an array of strings gave undefined for it).
    if (!(Number.isInteger(i) && i >= 0 && i < this.#count)) return undefined;
    const s = this.#s;
    const start = s.start(i);
    const len = s.end(i) - start;
    if (len === 0) return "";
    const at = start & s.mask;
    return decodeUtf8(s.segmentAt(start), at, at + len);
  }

  /** UTF-16 units of the top `n` items together, without decoding them. */
  topChars(n: number): number {
    // A negative n would start the count at a stale end offset past the top.
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`topChars of ${n} items`);
    const s = this.#s;
    const from = Math.max(0, this.#count - n);
    let chars = 0;
    let prev = from === 0 ? 0 : s.end(from - 1);
    for (let i = from; i < this.#count; i++) {
      const end = s.end(i);
      const start = s.startAfter(prev, end);
      prev = end;
      if (end === start) continue;
      const seg = s.segmentAt(start);
      // A unit per byte that starts a character, and one more per 4-byte character (a surrogate pair).
      for (let p = start & s.mask, stop = p + end - start; p < stop; p++) {
        const b = seg[p] as number;
        if ((b & 0xc0) !== 0x80) chars += b >= 0xf0 ? 2 : 1;
      }
    }
    return chars;
  }

  /** Item `i`'s UTF-8, a view valid until the next push or pop. */
  bytesAt(i: number): Uint8Array {
    if (!(i >= 0 && i < this.#count)) throw new RangeError(`item ${i} of ${this.#count}`);
    const s = this.#s;
    return s.view(s.start(i), s.end(i));
  }

  /** Every item, bottom first. */
  toArray(): string[] {
    const out = new Array<string>(this.#count);
    for (let i = 0; i < this.#count; i++) out[i] = this.at(i) as string;
    return out;
  }

  /**
   * The items as they are now, read later while the stack changes (a stepped snapshot's cut), without
   * copying them: copying a stack of 10 M items stalled the event loop for over 100 ms, longer than an
   * election timeout under load. Release it once read, or every pop below it keeps a copy of its item.
   */
  cut(): ItemsCut {
    const release = () => this.#release(cut);
    const cut: ItemsCut = new ItemsCut(this.#s, this.#count, this.#bytes, release);
    if (this.#cuts === undefined) this.#cuts = [cut];
    else this.#cuts.push(cut);
    return cut;
  }

  #release(cut: ItemsCut): void {
    const cuts = this.#cuts?.filter((c) => c !== cut) ?? [];
    this.#cuts = cuts.length === 0 ? undefined : cuts;
  }

  /**
   * Gives memory back: whole segments once the top is half a segment below the last one's start; within
   * segment 0, when a quarter or less of it is used, down to twice what is used (then a push must add as
   * much as the stack holds to grow it again), in one step: one pop of a large item frees it.
   */
  #shrinkIfSparse(): void {
    const s = this.#s;
    if (this.#count === 0) {
      // Capacities of the first push are kept: a stack used as a queue (push one, pop it) empties on
      // every pop, and allocating its arrays again on every push made a push+pop ~10x slower.
      if (s.bytes.length > 1 || (s.bytes[0]?.length ?? 0) > BYTES_INITIAL) s.bytes.length = 0;
      if (s.ends.length > 1 || (s.ends[0]?.length ?? 0) > ENDS_INITIAL) s.ends.length = 0;
      return;
    }
    const top = this.#top();
    while (s.bytes.length > 1 && top + s.size / 2 <= (s.bytes.length - 1) * s.size) s.bytes.pop();
    while (s.ends.length > 1 && this.#count + s.endSize / 2 <= (s.ends.length - 1) * s.endSize) s.ends.pop();
    const bytes = s.bytes[0];
    if (
      s.bytes.length === 1 &&
      bytes !== undefined &&
      bytes.length > BYTES_SHRINK_MIN &&
      top * 4 <= bytes.length
    ) {
      s.bytes[0] = bytes.slice(0, Math.max(BYTES_SHRINK_MIN, 2 * top));
    }
    const ends = s.ends[0];
    if (
      s.ends.length === 1 &&
      ends !== undefined &&
      ends.length > ENDS_SHRINK_MIN &&
      this.#count * 4 <= ends.length
    ) {
      s.ends[0] = ends.slice(0, Math.max(ENDS_SHRINK_MIN, 2 * this.#count));
    }
  }
}

const noBytes = new Uint8Array(0);

/**
 * An ItemStack's items as they were at `ItemStack.cut()`, read from the stack's own segment lists
 * instead of a copy. A stack changes only at its top: the items below the lowest count it has had since
 * the cut are the stack's own still, at the same offsets (an item's place follows from the items below
 * it), in segments it neither writes there nor drops (a grown or shrunk segment 0 is a new array holding
 * them). An item popped below that could be overwritten by the next push: the stack hands it to the cut
 * first (`popping`), which keeps a copy. The cost is a copy per item popped below the cut while it is
 * held, never one of the whole stack; segments the stack drops are freed even while a cut is held (a
 * cut holding copies of the lists kept them too, twice the popped bytes in all).
 */
export class ItemsCut {
  readonly #s: Segments;
  /** Items below this are read from the shared segments; from it up, from `#kept`. */
  #shared: number;
  /**
   * Copies of the items popped below `#shared`, in popping order: its item k is item `length - 1 - k`.
   * An ItemStack, not a Uint8Array each: an object per item took ~220 bytes of JS heap (860 MiB for 4 M
   * items popped during a snapshot, and pops slowed 8x in GC). Created at the first such pop.
   */
  #kept: ItemStack | undefined = undefined;

  constructor(
    segments: Segments,
    readonly length: number,
    /** UTF-8 bytes of all items together. */
    readonly byteLength: number,
    /** Ends the cut: the stack stops telling it of pops. Its items must not be read afterwards. */
    readonly release: () => void,
  ) {
    this.#s = segments;
    this.#shared = length;
  }

  /** The stack pops item `i` of `chars` UTF-16 units, held at `bytes[start, end)` (its segment). */
  popping(i: number, bytes: Uint8Array, start: number, end: number, chars: number): void {
    if (i >= this.#shared) return; // pushed after the cut, or kept already
    // Pops come one at a time from the top, and the stack never held fewer than #shared items since the cut.
    if (i !== this.#shared - 1) throw new Error(`cut: pop of item ${i} below ${this.#shared - 1}`);
    // Segments as the stack's: any item it holds fits one.
    this.#kept ??= new ItemStack(this.#s.bits);
    this.#kept.pushBytes(bytes, start, end, chars);
    this.#shared = i;
  }

  /**
   * Item `i`'s UTF-8 as it was at the cut: a view, to be read before the stack changes again. One of
   * the stack's own segments it may be (an item not popped since the cut): popped, then overwritten by
   * the next push, the view shows the new bytes, while a later bytesAt(i) reads the kept copy.
   */
  bytesAt(i: number): Uint8Array {
    if (!(i >= 0 && i < this.length)) throw new RangeError(`item ${i} of ${this.length}`);
    // The kept store only grows: a view of an item in it stays valid (a grown segment is a new array).
    if (i >= this.#shared) return (this.#kept as ItemStack).bytesAt(this.length - 1 - i);
    const s = this.#s;
    return s.view(s.start(i), s.end(i));
  }
}
