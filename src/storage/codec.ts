// WAL record framing: [payload length u32][type u8][crc32c u32][payload], little endian. The CRC
// covers length, type and payload, so a damaged length is caught like a damaged payload.
import { DecodeError, type DecodeErrorCode, getU32, putU32, Reader, Writer } from "../codec/index.js";
import type { Entry, EntryKind, HardState } from "../raft/index.js";
import { crc32cUpdate } from "./crc32c.js";

export const RECORD_HEADER_BYTES = 9;
export const RecordType = { header: 1, entries: 2, hardState: 3, snapshotMarker: 4 } as const;
const TYPE_MAX = 4;

const HEADER_MAGIC = 0x4c415752; // "RWAL"
const HEADER_VERSION = 1;
const HEADER_PAYLOAD_BYTES = 4 + 1 + 8 + 8;
const MARKER_PAYLOAD_BYTES = 16;
/** term, vote, commit; then a flags byte, present only when a flag is set (older records lack it). */
const HARD_STATE_PAYLOAD_BYTES = 24;
const HARD_STATE_FLAGS_BYTES = 1;
const HARD_STATE_RECOVERING = 1;
/** Per entry: term u64, kind u8, data length u32; indexes are implied (first index + position). */
const ENTRY_HEADER_BYTES = 13;
const ENTRIES_PREFIX_BYTES = 12;

const KINDS: readonly EntryKind[] = ["normal", "noop", "config"];
const KIND_CODES: Readonly<Record<EntryKind, number>> = { normal: 0, noop: 1, config: 2 };

/** A log position: (index, term). Used for the snapshot a log follows and for a segment's base. */
export interface LogPoint {
  readonly index: number;
  readonly term: number;
}

/** What one save() writes: at most one record of each kind, in replay order. */
export interface BatchParts {
  readonly header?: LogPoint | undefined;
  readonly marker?: LogPoint | undefined;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState | undefined;
}

export function batchBytes(parts: BatchParts): number {
  let n = 0;
  if (parts.header !== undefined) n += RECORD_HEADER_BYTES + HEADER_PAYLOAD_BYTES;
  if (parts.marker !== undefined) n += RECORD_HEADER_BYTES + MARKER_PAYLOAD_BYTES;
  if (parts.entries.length > 0) {
    n += RECORD_HEADER_BYTES + ENTRIES_PREFIX_BYTES;
    for (const e of parts.entries) n += ENTRY_HEADER_BYTES + e.data.length;
  }
  if (parts.hardState !== undefined) n += RECORD_HEADER_BYTES + hardStatePayloadBytes(parts.hardState);
  return n;
}

function hardStatePayloadBytes(hs: HardState): number {
  return HARD_STATE_PAYLOAD_BYTES + (hs.recovering === true ? HARD_STATE_FLAGS_BYTES : 0);
}

/**
 * Encodes a whole batch into one buffer (one write, one fsync), without per-entry allocations. Throws
 * RangeError if a number is not a non-negative safe integer.
 */
export function encodeBatch(parts: BatchParts): Uint8Array {
  const w = new Writer(Buffer.allocUnsafe(batchBytes(parts)));
  // Record headers are filled in at the end, once the payloads they checksum are in place.
  const records: { readonly off: number; readonly type: number }[] = [];
  const begin = (type: number) => {
    records.push({ off: w.length, type });
    w.raw(EMPTY_RECORD_HEADER);
  };
  if (parts.header !== undefined) {
    begin(RecordType.header);
    w.u32(HEADER_MAGIC);
    w.u8(HEADER_VERSION);
    w.u64(parts.header.index);
    w.u64(parts.header.term);
  }
  if (parts.marker !== undefined) {
    begin(RecordType.snapshotMarker);
    w.u64(parts.marker.index);
    w.u64(parts.marker.term);
  }
  if (parts.entries.length > 0) {
    begin(RecordType.entries);
    w.u64(parts.entries[0]!.index);
    w.u32(parts.entries.length);
    for (const e of parts.entries) {
      w.u64(e.term);
      w.u8(KIND_CODES[e.kind]);
      w.u32(e.data.length);
      w.raw(e.data);
    }
  }
  if (parts.hardState !== undefined) {
    begin(RecordType.hardState);
    w.u64(parts.hardState.term);
    w.u64(parts.hardState.vote);
    w.u64(parts.hardState.commit);
    // Written only when set, so a node that never ran repair writes the same bytes as older versions.
    if (parts.hardState.recovering === true) w.u8(HARD_STATE_RECOVERING);
  }
  const buf = w.finishView();
  for (const [k, r] of records.entries()) seal(buf, r.off, r.type, records[k + 1]?.off ?? buf.length);
  return buf;
}

const EMPTY_RECORD_HEADER = new Uint8Array(RECORD_HEADER_BYTES);

/** Writes the header of the record at `off` whose payload runs up to `end`. */
function seal(buf: Uint8Array, off: number, type: number, end: number): void {
  putU32(buf, off, end - off - RECORD_HEADER_BYTES);
  buf[off + 4] = type;
  putU32(buf, off + 5, recordCrc(buf, off, end));
}

function recordCrc(buf: Uint8Array, off: number, end: number): number {
  return crc32cUpdate(crc32cUpdate(0, buf, off, off + 5), buf, off + RECORD_HEADER_BYTES, end);
}

export interface RawRecord {
  readonly type: number;
  readonly payload: number;
  readonly end: number;
}

/** The record at `off` if it is complete, of a known type, within `recordBytesMax` and checksums. */
export function readRecord(buf: Uint8Array, off: number, recordBytesMax: number): RawRecord | undefined {
  if (off + RECORD_HEADER_BYTES > buf.length) return undefined;
  const length = getU32(buf, off);
  const type = buf[off + 4]!;
  const end = off + RECORD_HEADER_BYTES + length;
  if (type < 1 || type > TYPE_MAX || length > recordBytesMax || end > buf.length) return undefined;
  if (recordCrc(buf, off, end) !== getU32(buf, off + 5)) return undefined;
  return { type, payload: off + RECORD_HEADER_BYTES, end };
}

/**
 * Offset of the first valid record starting after `from`, or -1. Tells a torn tail (nothing valid
 * follows) from damage in the middle. Data crafted to look like a record can only make recovery
 * refuse to start (a false alarm), never accept damaged data.
 */
export function findValidRecord(buf: Uint8Array, from: number, recordBytesMax: number): number {
  for (let off = from + 1; off + RECORD_HEADER_BYTES <= buf.length; off++) {
    if (readRecord(buf, off, recordBytesMax) !== undefined) return off;
  }
  return -1;
}

/** Thrown for a record that checksums but whose payload does not parse: a bug or deliberate damage. */
export class MalformedRecordError extends Error {
  override readonly name = "MalformedRecordError";
  readonly code: DecodeErrorCode;
  constructor(message: string, code: DecodeErrorCode, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Decodes the whole payload of `rec` with `decode`; any malformed byte is a MalformedRecordError. */
function decodeRecord<T>(buf: Uint8Array, rec: RawRecord, decode: (r: Reader) => T): T {
  const r = new Reader(buf, rec.payload, rec.end);
  try {
    const value = decode(r);
    r.expectEnd();
    return value;
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new MalformedRecordError(`record type ${rec.type}: ${err.message}`, err.code, { cause: err });
  }
}

export function decodeHeader(buf: Uint8Array, rec: RawRecord): LogPoint {
  return decodeRecord(buf, rec, (r) => {
    if (r.u32() !== HEADER_MAGIC) throw new DecodeError("bad segment magic");
    const version = r.u8();
    if (version !== HEADER_VERSION) throw new DecodeError(`unsupported WAL version ${version}`);
    return readPoint(r);
  });
}

export function decodeMarker(buf: Uint8Array, rec: RawRecord): LogPoint {
  return decodeRecord(buf, rec, readPoint);
}

function readPoint(r: Reader): LogPoint {
  return { index: r.u64(), term: r.u64() };
}

export function decodeHardState(buf: Uint8Array, rec: RawRecord): HardState {
  return decodeRecord(buf, rec, (r) => {
    const hs = { term: r.u64(), vote: r.u64(), commit: r.u64() };
    // Older records end here; a flags byte follows only when a flag is set.
    if (r.done) return hs;
    const flags = r.u8();
    if (flags !== HARD_STATE_RECOVERING) throw new DecodeError(`hard state: unknown flags ${flags}`);
    return { ...hs, recovering: true };
  });
}

/** Entries reference `buf` (no copy): replay keeps the segment bytes rather than a million small copies. */
export function decodeEntries(buf: Uint8Array, rec: RawRecord): Entry[] {
  return decodeRecord(buf, rec, (r) => {
    const first = r.u64();
    const count = r.u32();
    // Checked before allocating: a count the record cannot hold would size a huge array.
    if (count * ENTRY_HEADER_BYTES > rec.end - r.offset) {
      throw new DecodeError(`${count} entries do not fit the record`, { code: "truncated" });
    }
    if (first + count > Number.MAX_SAFE_INTEGER) throw new DecodeError("entry index above 2^53");
    const entries: Entry[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const term = r.u64();
      const kind = KINDS[r.u8()];
      if (kind === undefined) throw new DecodeError("unknown entry kind");
      entries[i] = { term, index: first + i, kind, data: r.raw(r.u32()) };
    }
    return entries;
  });
}
