import { DecodeError, Reader } from "../codec/index.js";
import { atMsStart, commandVersion, opCodes, readLabel } from "./codec.js";

/**
 * A keyless LPUSH whose items are all ASCII, read from its encoded bytes without making the items'
 * strings: the machine copies the items' bytes straight into the stack's store (ItemStack.pushAscii).
 * Why: on every replica, decoding each item into a string and encoding it back into the store was the
 * largest cost of applying a pipelined LPUSH (docs/performance.md, seventh session). ASCII only, so an
 * item's UTF-16 length is its byte count and its stored bytes are what encoding its string writes; any
 * other LPUSH takes the decoding path.
 */
export interface AsciiLpush {
  atMs: number;
  label: string;
  count: number;
  /** Item i is `data[bounds[2i], bounds[2i + 1])`; valid until the next read. */
  bounds: Uint32Array;
  /** Bytes (= UTF-16 units) of all items together, and of the longest. */
  bytes: number;
  longest: number;
}

/** One result, reused: the machine uses it before reading the next command. */
const result: AsciiLpush = {
  atMs: 0,
  label: "",
  count: 0,
  bounds: new Uint32Array(64),
  bytes: 0,
  longest: 0,
};

/** Byte offset of the key-presence flag: after version, op and the timestamp (see encodeCommand). */
const keyFlagAt = atMsStart + 8;

/**
 * `data[start, end)` as an AsciiLpush if it is a keyless LPUSH of ASCII items that decodeCommand reads
 * (the same label, timestamp and items, nothing left over), else undefined: then decodeCommand decides,
 * as for every other command. Never throws on bad data.
 */
export function readAsciiLpush(data: Uint8Array, start: number, end: number): AsciiLpush | undefined {
  if (
    end - start <= keyFlagAt ||
    data[start] !== commandVersion ||
    data[start + 1] !== opCodes.lpush ||
    data[start + keyFlagAt] !== 0
  ) {
    return undefined;
  }
  try {
    const r = new Reader(data, start + atMsStart, end);
    const atMs = r.f64();
    if (!(atMs >= 0 && atMs <= Number.MAX_VALUE)) return undefined;
    r.u8(); // the key flag, 0 (checked above)
    const label = readLabel(r, data);
    const count = r.varint();
    if (count > r.remaining) return undefined;
    if (result.bounds.length < 2 * count) result.bounds = new Uint32Array(2 * count);
    const bounds = result.bounds;
    let bytes = 0;
    let longest = 0;
    for (let i = 0; i < count; i++) {
      const length = r.varint();
      const from = r.offset;
      r.skip(length);
      for (let p = from; p < from + length; p++) if ((data[p] as number) >= 0x80) return undefined;
      bounds[2 * i] = from;
      bounds[2 * i + 1] = from + length;
      bytes += length;
      if (length > longest) longest = length;
    }
    if (!r.done) return undefined;
    result.atMs = atMs;
    result.label = label;
    result.count = count;
    result.bytes = bytes;
    result.longest = longest;
    return result;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}
