// Fixed-width little-endian numbers at absolute offsets, for formats with a header patched after its
// payload (WAL records) or read at known offsets (snapshot files). Every fixed-width integer of our
// formats is little-endian; only the transport's frame length prefix is big-endian (transport/codec.ts).
import { DecodeError } from "./errors.js";

const TWO32 = 2 ** 32;
/** The high 32 bits of a u64 that is still a safe integer (below 2^53) are below 2^21. */
const SAFE_HIGH_WORD_LIMIT = 2 ** 21;

/** Throws RangeError unless `v` is an integer in [0, 2^53): the only numbers our formats carry. */
export function checkSafeUint(v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a non-negative safe integer: ${v}`);
}

export function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v;
  buf[off + 1] = v >>> 8;
  buf[off + 2] = v >>> 16;
  buf[off + 3] = v >>> 24;
}

export function getU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

/** Throws RangeError for a value that is not a non-negative safe integer. */
export function putU64(buf: Uint8Array, off: number, v: number): void {
  checkSafeUint(v);
  putU32(buf, off, v >>> 0);
  putU32(buf, off + 4, Math.floor(v / TWO32));
}

/** Throws DecodeError (bad_value) for a value of 2^53 or more, which a number cannot hold exactly. */
export function getU64(buf: Uint8Array, off: number): number {
  const high = getU32(buf, off + 4);
  if (high >= SAFE_HIGH_WORD_LIMIT) throw new DecodeError(`u64 at byte ${off} is not below 2^53`);
  return getU32(buf, off) + high * TWO32;
}

// A float64 passes through these 8 bytes: no DataView per value (one per command cost more than the
// rest of its encoding). They hold the value in the platform's byte order, hence the check.
const f64Scratch = new Float64Array(1);
const f64Bytes = new Uint8Array(f64Scratch.buffer);
const LITTLE_ENDIAN_PLATFORM = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export function putF64(buf: Uint8Array, off: number, v: number): void {
  f64Scratch[0] = v;
  if (LITTLE_ENDIAN_PLATFORM) buf.set(f64Bytes, off);
  else for (let i = 0; i < 8; i++) buf[off + i] = f64Bytes[7 - i]!;
}

export function getF64(buf: Uint8Array, off: number): number {
  for (let i = 0; i < 8; i++) f64Bytes[LITTLE_ENDIAN_PLATFORM ? i : 7 - i] = buf[off + i]!;
  return f64Scratch[0]!;
}
