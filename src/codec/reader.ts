import { DecodeError } from "./errors.js";
import { getF64, getU32, getU64 } from "./fixed.js";
import { decodeUtf8, plain } from "./text.js";
import { VARINT_BYTES_MAX } from "./writer.js";

/**
 * Bounds-checked reader over untrusted bytes, the mirror of Writer. Every failure is a DecodeError;
 * integers read are always safe integers. Byte fields are views into the input (no copy), and always
 * plain Uint8Arrays even over a Buffer, so a decoded value never carries Buffer's methods or pool.
 */
export class Reader {
  private readonly buf: Uint8Array;
  private pos: number;
  private readonly limit: number;

  /** Reads `bytes[start, end)`. */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.buf = plain(bytes);
    this.pos = start;
    this.limit = end;
  }

  /** Offset of the next byte in the input. */
  get offset(): number {
    return this.pos;
  }

  get done(): boolean {
    return this.pos === this.limit;
  }

  /** Bytes left to read: a bound for any count read from the input (each element takes one byte at least). */
  get remaining(): number {
    return this.limit - this.pos;
  }

  private need(n: number): void {
    if (n > this.limit - this.pos) this.truncated(n);
  }

  private truncated(n: number): never {
    throw new DecodeError(`${n} bytes at byte ${this.pos} exceed the input`, { code: "truncated" });
  }

  u8(): number {
    if (this.pos >= this.limit) this.truncated(1);
    return this.buf[this.pos++]!;
  }

  /** A u8 that must be 0 or 1. */
  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new DecodeError(`bad boolean ${b}`);
    return b === 1;
  }

  u32(): number {
    this.need(4);
    const v = getU32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = getU64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = getF64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned LEB128 of at most 8 bytes and below 2^53. */
  varint(): number {
    // One loop over the buffer, not a u8() call per byte: varints are most of every message.
    const buf = this.buf;
    const end = Math.min(this.limit, this.pos + VARINT_BYTES_MAX);
    let result = 0;
    let scale = 1;
    for (let pos = this.pos; pos < end; pos++) {
      const b = buf[pos]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw new DecodeError("varint above 2^53");
        this.pos = pos + 1;
        return result;
      }
      scale *= 0x80;
    }
    if (end < this.pos + VARINT_BYTES_MAX) {
      throw new DecodeError(`varint at byte ${this.pos} exceeds the input`, { code: "truncated" });
    }
    throw new DecodeError(`varint longer than ${VARINT_BYTES_MAX} bytes`);
  }

  /** The next `n` bytes, as a view. */
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Passes over the next `n` bytes (known already, so no view is made). */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** Varint length, then the bytes (a view). */
  bytes(): Uint8Array {
    return this.raw(this.varint());
  }

  /** Everything left, as a view. */
  rest(): Uint8Array {
    return this.raw(this.limit - this.pos);
  }

  /** Varint byte length, then well-formed UTF-8 of at most `bytesMax` bytes. */
  str(bytesMax = Number.POSITIVE_INFINITY): string {
    const len = this.varint();
    if (len > bytesMax)
      throw new DecodeError(`string of ${len} bytes exceeds ${bytesMax}`, { code: "too_large" });
    this.need(len);
    const start = this.pos;
    this.pos = start + len;
    try {
      return decodeUtf8(this.buf, start, this.pos);
    } catch (err) {
      throw new DecodeError("invalid UTF-8", { cause: err });
    }
  }

  /** Throws DecodeError (trailing_bytes) unless every byte was read. */
  expectEnd(): void {
    if (this.pos !== this.limit) {
      throw new DecodeError(`${this.limit - this.pos} trailing bytes`, { code: "trailing_bytes" });
    }
  }
}
