import { checkSafeUint, putF64, putU32, putU64 } from "./fixed.js";
import { plain, SHORT_CHARS_MAX, utf8Encoder } from "./text.js";

/** String.prototype.isWellFormed (ES2024, in Node 20): no lone surrogate. Not in the ES2022 lib we compile against. */
interface WellFormedCheck {
  isWellFormed(): boolean;
}

/** A varint of a safe integer (below 2^53) takes at most 8 bytes of 7 bits. */
export const VARINT_BYTES_MAX = 8;

/**
 * Growable append-only binary writer: unsigned LEB128 varints, little-endian fixed-width integers and
 * float64, raw and length-prefixed bytes, length-prefixed UTF-8. Every integer written must be a
 * non-negative safe integer (RangeError otherwise): terms and indexes may exceed 2^32, never 2^53.
 */
export class Writer {
  private buf: Uint8Array;
  private pos = 0;
  /** A string written since the last reset held a lone surrogate (written as U+FFFD: not read back as it was). */
  private lossy = false;

  /** `initial` is a starting capacity in bytes, or a buffer to fill (it is replaced if outgrown). */
  constructor(initial: number | Uint8Array = 64) {
    // Always a plain Uint8Array, never a Buffer: one element kind keeps every store monomorphic
    // across the formats that share this class.
    this.buf = typeof initial === "number" ? new Uint8Array(initial) : plain(initial);
  }

  /** Bytes the writer holds without growing. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Starts over, keeping the buffer: a scratch writer reused for short-lived encodings. */
  reset(): void {
    this.pos = 0;
    this.lossy = false;
  }

  /** Every string written since the last reset reads back as it was (none held a lone surrogate). */
  get lossless(): boolean {
    return !this.lossy;
  }

  /** Bytes written so far: the offset of the next byte. */
  get length(): number {
    return this.pos;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + bytes));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    putU32(this.buf, this.pos, v);
    this.pos += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    putU64(this.buf, this.pos, v);
    this.pos += 8;
  }

  f64(v: number): void {
    this.ensure(8);
    putF64(this.buf, this.pos, v);
    this.pos += 8;
  }

  /** Unsigned LEB128. */
  varint(v: number): void {
    checkSafeUint(v);
    this.ensure(VARINT_BYTES_MAX);
    const buf = this.buf;
    let pos = this.pos;
    // Above 2^31 the bit operators would wrap, so the high part divides instead.
    while (v >= 0x80000000) {
      buf[pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The bytes `src[from, to)`, without a view of them (a loop for short runs: a view per call was garbage). */
  copy(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.ensure(n);
    if (n > 64) this.buf.set(src.subarray(from, to), this.pos);
    else for (let i = 0; i < n; i++) this.buf[this.pos + i] = src[from + i] as number;
    this.pos += n;
  }

  /** Varint length, then the bytes. */
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }

  /** Varint byte length, then the UTF-8 of `s` (a lone surrogate becomes U+FFFD). */
  str(s: string): void {
    const n = s.length;
    if (n <= SHORT_CHARS_MAX) {
      this.ensure(1 + n);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        // All ASCII: the byte length is n < 0x80, a one-byte varint.
        buf[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    if (!(s as string & WellFormedCheck).isWellFormed()) this.lossy = true;
    this.bytes(utf8Encoder.encode(s));
  }

  /** Drops the bytes written after the first `length` (a write that is taken back). */
  truncate(length: number): void {
    if (!(length >= 0 && length <= this.pos)) throw new RangeError(`truncate to ${length} of ${this.pos}`);
    this.pos = length;
  }

  /**
   * Starts a length-prefixed run written in place (no buffer of its own): returns where it starts, for
   * `endPrefixed`. A one-byte length is reserved; a longer one moves the run's bytes once.
   */
  beginPrefixed(): number {
    this.u8(0);
    return this.pos - 1;
  }

  /** Ends the run begun at `start`: writes its length before it (as `bytes` would) and returns that length. */
  endPrefixed(start: number): number {
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buf[start] = length;
      return length;
    }
    let prefixBytes = 1;
    for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) prefixBytes++;
    const end = this.pos;
    this.ensure(prefixBytes - 1);
    this.buf.copyWithin(start + prefixBytes, start + 1, end);
    this.pos = start;
    this.varint(length);
    this.pos = end + prefixBytes - 1;
    return length;
  }

  /** The written bytes copied into an exact-size buffer, so a long-lived value wastes no capacity. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** The written bytes as a view of the writer's buffer (no copy): for bytes used and dropped soon. */
  finishView(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
