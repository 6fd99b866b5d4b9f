import { Buffer } from "node:buffer";
import { decodeUtf8, encodeUtf8Into } from "../codec/index.js";

/** The most UTF-8 bytes one UTF-16 unit takes (a surrogate pair: 4 bytes for 2 units). */
export const UTF8_BYTES_PER_UNIT_MAX = 3;
/** Item offsets are u32: one stack's bytes stay below this (StackMachine asserts its limits fit). */
export const STACK_BYTES_MAX = 2 ** 32 - 1;
/** Capacities a stack starts with at its first push: small, as most of up to stacksMax stacks are. */
const BYTES_INITIAL = 256;
const ENDS_INITIAL = 16;
/**
 * Capacities a stack is not shrunk below: shrinking smaller saves little and churns on push/pop. Small,
 * as every one of stacksMax stacks may keep this much while holding a single item (2 KiB -> 200 MB).
 */
const BYTES_SHRINK_MIN = 1024;
const ENDS_SHRINK_MIN = 256;

const noBytes = new Uint8Array(0);
const noEnds = new Uint32Array(0);

/**
 * The items of one stack, bottom first, as UTF-8 in one growable byte array with an end offset per
 * item, instead of a JS array of strings. Why: a pushed string lived on the JS heap until popped, so
 * the scavenger copied every one into old space and every full GC marked all of them again; with the
 * stack growing by ~100k items a second under pipelined LPUSH that was about 30 % of each node's CPU
 * (docs/performance.md). Bytes in a typed array are invisible to the GC. Items must be well-formed
 * text (the machine validates them): a lone surrogate would not read back as it was pushed.
 */
export class ItemStack {
  #bytes = noBytes;
  /** Item i is #bytes[#ends[i - 1] (0 for the first), #ends[i]). */
  #ends = noEnds;
  #count = 0;
  #chars = 0;
  /** Cuts not released yet (usually none): each is told of a pop before the item can be overwritten. */
  #cuts: ItemsCut[] | undefined = undefined;

  /** Items held. */
  get length(): number {
    return this.#count;
  }

  /** UTF-16 units of all items together. */
  get chars(): number {
    return this.#chars;
  }

  #start(i: number): number {
    return i === 0 ? 0 : (this.#ends[i - 1] as number);
  }

  push(item: string): void {
    const pos = this.#start(this.#count);
    // The bound (3 bytes a unit) saves a count while it fits; a grow is sized by the exact UTF-8, or a
    // pop's shrink after it could undo it at once (an ASCII item reserved 3x its size: push and pop of
    // one large item each reallocated). Buffer.byteLength is native (~10 us for 64 KiB, a JS loop ~330
    // us) and counts a lone surrogate as the 3 bytes of U+FFFD, as the encoder writes it.
    if (pos + item.length * UTF8_BYTES_PER_UNIT_MAX > this.#bytes.length) {
      const needed = pos + Buffer.byteLength(item, "utf8");
      if (needed > this.#bytes.length) this.#growBytes(pos, needed);
    }
    if (this.#count === this.#ends.length) this.#growEnds();
    this.#ends[this.#count++] = encodeUtf8Into(item, this.#bytes, pos);
    this.#chars += item.length;
  }

  /**
   * Pushes `count` items given as bytes, item i being `src[bounds[2i], bounds[2i + 1])`, `bytes` in all:
   * each must be ASCII (an item's UTF-16 length is its byte count), so the stored bytes are what `push`
   * of its string writes. One capacity check for all, then a copy per item (AsciiLpush).
   */
  pushAscii(src: Uint8Array, bounds: Uint32Array, count: number, bytes: number): void {
    const pos = this.#start(this.#count);
    if (pos + bytes > this.#bytes.length) this.#growBytes(pos, pos + bytes);
    while (this.#count + count > this.#ends.length) this.#growEnds();
    const store = this.#bytes;
    const ends = this.#ends;
    let p = pos;
    for (let i = 0; i < count; i++) {
      const from = bounds[2 * i] as number;
      const to = bounds[2 * i + 1] as number;
      // A loop for short items: a subarray view and a native call cost more than copying a few bytes.
      if (to - from <= 64) for (let j = from; j < to; j++) store[p++] = src[j] as number;
      else {
        store.set(src.subarray(from, to), p);
        p += to - from;
      }
      ends[this.#count++] = p;
    }
    this.#chars += bytes;
  }

  /** Takes the top item off, or undefined if there is none. */
  pop(): string | undefined {
    if (this.#count === 0) return undefined;
    const i = --this.#count;
    const start = this.#start(i);
    const end = this.#ends[i] as number;
    if (this.#cuts !== undefined) for (const cut of this.#cuts) cut.popping(i, this.#bytes, start, end);
    const item = decodeUtf8(this.#bytes, start, end);
    this.#chars -= item.length;
    this.#shrinkIfSparse();
    return item;
  }

  /** Item `i` counted from the bottom (0), or undefined outside the stack. */
  at(i: number): string | undefined {
    // Not an integer is outside too: ends[0.5] is undefined and would decode the whole buffer, popped
    // items' stale bytes included (an array of strings gave undefined for it).
    if (!(Number.isInteger(i) && i >= 0 && i < this.#count)) return undefined;
    return decodeUtf8(this.#bytes, this.#start(i), this.#ends[i] as number);
  }

  /** UTF-16 units of the top `n` items together, without decoding them. */
  topChars(n: number): number {
    // A negative n would start the count at a stale end offset past the top.
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`topChars of ${n} items`);
    const from = Math.max(0, this.#count - n);
    const bytes = this.#bytes;
    const end = this.#start(this.#count);
    let chars = 0;
    // A unit per byte that starts a character, and one more per 4-byte character (a surrogate pair).
    for (let p = this.#start(from); p < end; p++) {
      const b = bytes[p] as number;
      if ((b & 0xc0) !== 0x80) chars += b >= 0xf0 ? 2 : 1;
    }
    return chars;
  }

  /** Item `i`'s UTF-8, a view valid until the next push or pop. */
  bytesAt(i: number): Uint8Array {
    if (!(i >= 0 && i < this.#count)) throw new RangeError(`item ${i} of ${this.#count}`);
    return this.#bytes.subarray(this.#start(i), this.#ends[i]);
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
    const cut: ItemsCut = new ItemsCut(this.#bytes, this.#ends, this.#count, () => this.#release(cut));
    if (this.#cuts === undefined) this.#cuts = [cut];
    else this.#cuts.push(cut);
    return cut;
  }

  #release(cut: ItemsCut): void {
    const cuts = this.#cuts?.filter((c) => c !== cut) ?? [];
    this.#cuts = cuts.length === 0 ? undefined : cuts;
  }

  #growBytes(used: number, needed: number): void {
    if (needed > STACK_BYTES_MAX) throw new Error(`stack bytes ${needed} exceed ${STACK_BYTES_MAX}`);
    const size = Math.min(STACK_BYTES_MAX, Math.max(needed, BYTES_INITIAL, this.#bytes.length * 2));
    const next = new Uint8Array(size);
    next.set(this.#bytes.subarray(0, used));
    this.#bytes = next;
  }

  #growEnds(): void {
    const next = new Uint32Array(Math.max(ENDS_INITIAL, this.#ends.length * 2));
    next.set(this.#ends);
    this.#ends = next;
  }

  /**
   * Gives memory back when a quarter or less of it is used, down to twice what is used (then a push
   * must add as much as the stack holds to grow it again), in one step: one pop of a large item frees it.
   */
  #shrinkIfSparse(): void {
    if (this.#count === 0) {
      // Capacities of the first push are kept: a stack used as a queue (push one, pop it) empties on
      // every pop, and allocating its arrays again on every push made a push+pop ~10x slower.
      if (this.#bytes.length > BYTES_INITIAL) this.#bytes = noBytes;
      if (this.#ends.length > ENDS_INITIAL) this.#ends = noEnds;
      return;
    }
    const used = this.#start(this.#count);
    if (this.#bytes.length > BYTES_SHRINK_MIN && used * 4 <= this.#bytes.length) {
      this.#bytes = this.#bytes.slice(0, Math.max(BYTES_SHRINK_MIN, 2 * used));
    }
    if (this.#ends.length > ENDS_SHRINK_MIN && this.#count * 4 <= this.#ends.length) {
      this.#ends = this.#ends.slice(0, Math.max(ENDS_SHRINK_MIN, 2 * this.#count));
    }
  }
}

/**
 * An ItemStack's items as they were at `ItemStack.cut()`, sharing the stack's arrays instead of copying
 * them. A stack changes only at its top, and a grow or shrink replaces its arrays without writing the
 * old ones, so the items below the lowest count the stack has had since the cut are still in the arrays
 * the cut holds. An item popped below that could be overwritten by the next push: the stack hands it
 * to the cut first (`popping`), which keeps a copy. The cost is a copy per item popped below the cut
 * while it is held, never one of the whole stack.
 */
export class ItemsCut {
  readonly #bytes: Uint8Array;
  readonly #ends: Uint32Array;
  /** Items below this are read from the shared arrays; from it up, from `#kept`. */
  #shared: number;
  /** Copies of the items popped below `#shared`, in popping order: `#kept[k]` is item `length - 1 - k`. */
  readonly #kept: Uint8Array[] = [];

  constructor(
    bytes: Uint8Array,
    ends: Uint32Array,
    readonly length: number,
    /** Ends the cut: the stack stops telling it of pops. Its items must not be read afterwards. */
    readonly release: () => void,
  ) {
    this.#bytes = bytes;
    this.#ends = ends;
    this.#shared = length;
    this.byteLength = length === 0 ? 0 : (ends[length - 1] as number);
  }

  /** The stack pops item `i`, held at `bytes[start, end)` (its current arrays). */
  popping(i: number, bytes: Uint8Array, start: number, end: number): void {
    if (i >= this.#shared) return; // pushed after the cut, or kept already
    // Pops come one at a time from the top, and the stack never held fewer than #shared items since the cut.
    if (i !== this.#shared - 1) throw new Error(`cut: pop of item ${i} below ${this.#shared - 1}`);
    this.#kept.push(bytes.slice(start, end));
    this.#shared = i;
  }

  /**
   * UTF-8 bytes of all items together at the cut. Kept, not read from the shared ends later: a push after
   * a pop below the cut rewrites the end offset of the cut's top item.
   */
  readonly byteLength: number;

  /** Item `i`'s UTF-8 as it was at the cut; a view valid until the cut is released. */
  bytesAt(i: number): Uint8Array {
    if (!(i >= 0 && i < this.length)) throw new RangeError(`item ${i} of ${this.length}`);
    if (i >= this.#shared) return this.#kept[this.length - 1 - i] as Uint8Array;
    return this.#bytes.subarray(i === 0 ? 0 : (this.#ends[i - 1] as number), this.#ends[i]);
  }
}
