// WAL record framing: [payload length u32][type u8][crc32c u32][payload], little endian. The CRC
// covers length, type and payload, so a damaged length is caught like a damaged payload.
import type { Entry, EntryKind, HardState } from "../raft/types.js";
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
const TWO32 = 2 ** 32;

/** A log position: (index, term). Used for the snapshot a log follows and for a segment's base. */
export interface LogPoint {
  readonly index: number;
  readonly term: number;
}

export function putU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v >>> 0, off);
  buf.writeUInt32LE(Math.floor(v / TWO32), off + 4);
}

export function getU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * TWO32;
}

/** Bytes an entry takes in a WAL record; also the size used for `bytesMax` limits on reads. */
export function entryEncodedBytes(e: Entry): number {
  return ENTRY_HEADER_BYTES + e.data.length;
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

/** Encodes a whole batch into one buffer (one write, one fsync), without per-entry allocations. */
export function encodeBatch(parts: BatchParts): Buffer {
  const buf = Buffer.allocUnsafe(batchBytes(parts));
  let off = 0;
  if (parts.header !== undefined) {
    const p = off + RECORD_HEADER_BYTES;
    buf.writeUInt32LE(HEADER_MAGIC, p);
    buf.writeUInt8(HEADER_VERSION, p + 4);
    putU64(buf, p + 5, parts.header.index);
    putU64(buf, p + 13, parts.header.term);
    off = seal(buf, off, RecordType.header, HEADER_PAYLOAD_BYTES);
  }
  if (parts.marker !== undefined) {
    const p = off + RECORD_HEADER_BYTES;
    putU64(buf, p, parts.marker.index);
    putU64(buf, p + 8, parts.marker.term);
    off = seal(buf, off, RecordType.snapshotMarker, MARKER_PAYLOAD_BYTES);
  }
  if (parts.entries.length > 0) {
    let p = off + RECORD_HEADER_BYTES;
    putU64(buf, p, parts.entries[0]!.index);
    buf.writeUInt32LE(parts.entries.length, p + 8);
    p += ENTRIES_PREFIX_BYTES;
    for (const e of parts.entries) {
      putU64(buf, p, e.term);
      buf.writeUInt8(KIND_CODES[e.kind], p + 8);
      buf.writeUInt32LE(e.data.length, p + 9);
      buf.set(e.data, p + ENTRY_HEADER_BYTES);
      p += ENTRY_HEADER_BYTES + e.data.length;
    }
    off = seal(buf, off, RecordType.entries, p - off - RECORD_HEADER_BYTES);
  }
  if (parts.hardState !== undefined) {
    const p = off + RECORD_HEADER_BYTES;
    putU64(buf, p, parts.hardState.term);
    putU64(buf, p + 8, parts.hardState.vote);
    putU64(buf, p + 16, parts.hardState.commit);
    // Written only when set, so a node that never ran repair writes the same bytes as older versions.
    if (parts.hardState.recovering === true) buf.writeUInt8(HARD_STATE_RECOVERING, p + 24);
    off = seal(buf, off, RecordType.hardState, hardStatePayloadBytes(parts.hardState));
  }
  return buf;
}

/** Writes the frame header for a payload already in place at off + 9; returns the record's end. */
function seal(buf: Buffer, off: number, type: number, payloadBytes: number): number {
  const end = off + RECORD_HEADER_BYTES + payloadBytes;
  buf.writeUInt32LE(payloadBytes, off);
  buf.writeUInt8(type, off + 4);
  buf.writeUInt32LE(recordCrc(buf, off, end), off + 5);
  return end;
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
export function readRecord(buf: Buffer, off: number, recordBytesMax: number): RawRecord | undefined {
  if (off + RECORD_HEADER_BYTES > buf.length) return undefined;
  const length = buf.readUInt32LE(off);
  const type = buf[off + 4]!;
  const end = off + RECORD_HEADER_BYTES + length;
  if (type < 1 || type > TYPE_MAX || length > recordBytesMax || end > buf.length) return undefined;
  if (recordCrc(buf, off, end) !== buf.readUInt32LE(off + 5)) return undefined;
  return { type, payload: off + RECORD_HEADER_BYTES, end };
}

/**
 * Offset of the first valid record starting after `from`, or -1. Tells a torn tail (nothing valid
 * follows) from damage in the middle. Data crafted to look like a record can only make recovery
 * refuse to start (a false alarm), never accept damaged data.
 */
export function findValidRecord(buf: Buffer, from: number, recordBytesMax: number): number {
  for (let off = from + 1; off + RECORD_HEADER_BYTES <= buf.length; off++) {
    if (readRecord(buf, off, recordBytesMax) !== undefined) return off;
  }
  return -1;
}

/** Thrown for a record that checksums but whose payload does not parse: a bug or deliberate damage. */
export class MalformedRecordError extends Error {}

function expectLength(rec: RawRecord, bytes: number): void {
  if (rec.end - rec.payload !== bytes) throw new MalformedRecordError(`record type ${rec.type}: bad length`);
}

export function decodeHeader(buf: Buffer, rec: RawRecord): LogPoint {
  expectLength(rec, HEADER_PAYLOAD_BYTES);
  if (buf.readUInt32LE(rec.payload) !== HEADER_MAGIC) throw new MalformedRecordError("bad segment magic");
  const version = buf[rec.payload + 4];
  if (version !== HEADER_VERSION) throw new MalformedRecordError(`unsupported WAL version ${version}`);
  return { index: getU64(buf, rec.payload + 5), term: getU64(buf, rec.payload + 13) };
}

export function decodeMarker(buf: Buffer, rec: RawRecord): LogPoint {
  expectLength(rec, MARKER_PAYLOAD_BYTES);
  return { index: getU64(buf, rec.payload), term: getU64(buf, rec.payload + 8) };
}

export function decodeHardState(buf: Buffer, rec: RawRecord): HardState {
  const p = rec.payload;
  const flagged = rec.end - p === HARD_STATE_PAYLOAD_BYTES + HARD_STATE_FLAGS_BYTES;
  if (!flagged) expectLength(rec, HARD_STATE_PAYLOAD_BYTES);
  const hs = { term: getU64(buf, p), vote: getU64(buf, p + 8), commit: getU64(buf, p + 16) };
  if (!flagged) return hs;
  const flags = buf[p + HARD_STATE_PAYLOAD_BYTES]!;
  if (flags !== HARD_STATE_RECOVERING) throw new MalformedRecordError(`hard state: unknown flags ${flags}`);
  return { ...hs, recovering: true };
}

/** Entries reference `buf` (no copy): replay keeps the segment bytes rather than a million small copies. */
export function decodeEntries(buf: Buffer, rec: RawRecord): Entry[] {
  if (rec.end - rec.payload < ENTRIES_PREFIX_BYTES) throw new MalformedRecordError("short entries record");
  const first = getU64(buf, rec.payload);
  const count = buf.readUInt32LE(rec.payload + 8);
  const entries: Entry[] = new Array(count);
  const base = buf.byteOffset;
  let p = rec.payload + ENTRIES_PREFIX_BYTES;
  for (let i = 0; i < count; i++) {
    if (p + ENTRY_HEADER_BYTES > rec.end) throw new MalformedRecordError("entries record overruns");
    // Hand-inlined little-endian reads: this loop runs once per entry on replay.
    const term = u32(buf, p) + u32(buf, p + 4) * TWO32;
    const kind = KINDS[buf[p + 8]!];
    const len = u32(buf, p + 9);
    const start = p + ENTRY_HEADER_BYTES;
    p = start + len;
    if (kind === undefined || p > rec.end) throw new MalformedRecordError("bad entry");
    // A plain Uint8Array view is cheaper to create than Buffer.subarray's Buffer.
    entries[i] = { term, index: first + i, kind, data: new Uint8Array(buf.buffer, base + start, len) };
  }
  if (p !== rec.end) throw new MalformedRecordError("entries record has trailing bytes");
  return entries;
}

function u32(buf: Uint8Array, p: number): number {
  return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
}
