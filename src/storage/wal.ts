import { join } from "node:path";
import type { HardState } from "../raft/index.js";
import {
  decodeEntries,
  decodeHardState,
  decodeHeader,
  decodeMarker,
  encodeBatch,
  findValidRecord,
  type LogPoint,
  MalformedRecordError,
  type RawRecord,
  RecordType,
  readRecord,
} from "./codec.js";
import type { Disk, DiskFile } from "./disk.js";
import { EntryLog } from "./entry-log.js";
import { StorageCorruptionError } from "./errors.js";

/** Segment names sort by sequence; the base index is informational (the header record is authoritative). */
const SEGMENT_RE = /^wal-([0-9a-f]{16})-([0-9a-f]{16})\.log$/;

export function segmentName(seq: number, baseIndex: number): string {
  return `wal-${seq.toString(16).padStart(16, "0")}-${baseIndex.toString(16).padStart(16, "0")}.log`;
}

export interface SegmentInfo {
  readonly name: string;
  readonly seq: number;
  /** Highest log index any record of this segment mentions: the segment may go once that is compacted. */
  maxIndex: number;
  /** The header's log point: replay starting at this segment needs every record to attach at or above it. */
  baseIndex: number;
}

export interface WalReplay {
  /** Undefined when no segment holds a header (a new or emptied WAL). */
  readonly log: EntryLog | undefined;
  readonly hardState: HardState;
  readonly entriesReplayed: number;
  readonly segmentsReplayed: number;
  readonly bytesReplayed: number;
  /** Bytes of a torn record cut from the end of the last segment. */
  readonly tailBytesTruncated: number;
}

export const ZERO_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

/** View a read file as a Buffer without copying it. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export async function listSegments(disk: Disk, walDir: string): Promise<string[]> {
  return (await disk.list(walDir)).filter((n) => SEGMENT_RE.test(n)).sort();
}

/**
 * Records of one segment until the first invalid one. In the last segment an invalid record with
 * nothing valid after it is a torn write (returned as `validEnd`); anything else is corruption.
 */
function scanSegment(
  buf: Buffer,
  isLast: boolean,
  recordBytesMax: number,
  corrupt: (offset: number, why: string) => Error,
  visit: (rec: RawRecord, offset: number) => void,
): number {
  let off = 0;
  while (off < buf.length) {
    const rec = readRecord(buf, off, recordBytesMax);
    if (rec === undefined) {
      if (isLast && findValidRecord(buf, off, recordBytesMax) < 0) return off;
      throw corrupt(off, "checksum mismatch or broken record frame");
    }
    try {
      visit(rec, off);
    } catch (err) {
      if (err instanceof MalformedRecordError) throw corrupt(off, err.message);
      throw err;
    }
    off = rec.end;
  }
  return off;
}

/** A WAL as read, before anything is written: what start-up replays and what repair checks. */
export interface WalRead {
  readonly replay: WalReplay;
  /** Segments with a header, oldest first. */
  readonly segments: readonly SegmentInfo[];
  /** The last segment: where its valid records end, and whether they replay on their own to the log's end. */
  readonly tail:
    | { readonly name: string; readonly validEnd: number; readonly replaysAlone: boolean }
    | undefined;
}

/**
 * Replays every segment without writing anything (a missing directory reads as an empty WAL). An
 * invalid record at the end of the last segment with nothing valid after it is a torn write, left for
 * Wal.resume to cut; damage anywhere else throws StorageCorruptionError naming the repair command.
 */
export async function readWal(
  disk: Disk,
  dir: string,
  dataDir: string,
  recordBytesMax: number,
): Promise<WalRead> {
  const names = await listSegments(disk, dir);
  const segments: SegmentInfo[] = [];
  let log: EntryLog | undefined;
  let hardState = ZERO_HARD_STATE;
  let entriesReplayed = 0;
  let bytesReplayed = 0;
  let tailBytesTruncated = 0;
  let tail: WalRead["tail"];
  for (const [k, name] of names.entries()) {
    const path = join(dir, name);
    const buf = asBuffer(await disk.readFile(path));
    const isLast = k === names.length - 1;
    const corrupt = (offset: number, why: string) =>
      new StorageCorruptionError("wal_corrupt", path, offset, why, dataDir);
    const seg: SegmentInfo = {
      name,
      seq: Number.parseInt(name.slice(4, 20), 16),
      maxIndex: 0,
      baseIndex: 0,
    };
    let sawHeader = false;
    let segBase: LogPoint = { index: 0, term: 0 };
    // The log this segment's records make on their own, from its header: its last index, or -1 once a
    // record would not attach there (it needs an older segment's entries).
    let aloneOffset = 0;
    let aloneLast = 0;
    const validEnd = scanSegment(buf, isLast, recordBytesMax, corrupt, (rec, offset) => {
      if (!sawHeader) {
        if (rec.type !== RecordType.header) throw corrupt(offset, "segment does not start with a header");
        sawHeader = true;
        const base = decodeHeader(buf, rec);
        segBase = base;
        aloneOffset = base.index;
        aloneLast = base.index;
        log ??= new EntryLog(base);
        seg.maxIndex = base.index;
        seg.baseIndex = base.index;
        return;
      }
      const current = log!;
      switch (rec.type) {
        case RecordType.header:
          throw corrupt(offset, "second header in segment");
        case RecordType.snapshotMarker: {
          const point = decodeMarker(buf, rec);
          current.reset(point);
          aloneOffset = point.index;
          aloneLast = point.index;
          seg.maxIndex = Math.max(seg.maxIndex, point.index);
          return;
        }
        case RecordType.entries: {
          const ents = decodeEntries(buf, rec);
          const first = ents[0];
          if (first === undefined) return;
          // A segment started for an overwrite below older segments' entries has the point it attaches
          // to as its header. Compaction may have removed the segments holding the log up to that point
          // but not a later one whose entries the overwrite replaced: replay then meets those first,
          // and the log restarts at the header's point, as it stood when the overwrite was written.
          if (first.index < current.firstIndex() && first.index === segBase.index + 1) {
            current.reset(segBase);
          }
          if (first.index < current.firstIndex() || first.index > current.lastIndex() + 1) {
            throw corrupt(
              offset,
              `entries at ${first.index} do not follow the log [${current.firstIndex()}, ${current.lastIndex()}]`,
            );
          }
          current.append(ents);
          aloneLast = first.index > aloneLast + 1 || first.index <= aloneOffset ? -1 : current.lastIndex();
          entriesReplayed += ents.length;
          seg.maxIndex = Math.max(seg.maxIndex, first.index + ents.length - 1);
          return;
        }
        default:
          hardState = decodeHardState(buf, rec);
      }
    });
    bytesReplayed += validEnd;
    if (isLast) {
      tailBytesTruncated = buf.length - validEnd;
      tail = { name, validEnd, replaysAlone: log !== undefined && aloneLast === log.lastIndex() };
    }
    if (sawHeader) segments.push(seg);
    else if (!isLast) throw corrupt(0, "segment has no header");
  }
  const replay = {
    log,
    hardState,
    entriesReplayed,
    segmentsReplayed: names.length,
    bytesReplayed,
    tailBytesTruncated,
  };
  return { replay, segments, tail };
}

/** The write side of the WAL: appends whole batches to the active segment and rotates segments. */
export class Wal {
  private active: DiskFile | undefined = undefined;
  private activeSize = 0;

  private constructor(
    private readonly disk: Disk,
    private readonly dir: string,
    private readonly segmentBytesMax: number,
    private readonly segments: SegmentInfo[],
  ) {}

  /** Opens a WAL read by readWal for appending: cuts a torn tail off the last segment and continues it. */
  static async resume(disk: Disk, dir: string, read: WalRead, segmentBytesMax: number): Promise<Wal> {
    await disk.mkdirp(dir);
    const wal = new Wal(disk, dir, segmentBytesMax, [...read.segments]);
    const { tail } = read;
    if (tail !== undefined) {
      await wal.resumeLast(tail.name, tail.validEnd, read.replay.tailBytesTruncated > 0, tail.replaysAlone);
    }
    return wal;
  }

  /**
   * Continues the last segment after its valid prefix; one without a header is removed instead, and one
   * that does not replay on its own to the log's end is kept but not continued.
   */
  private async resumeLast(
    name: string,
    validEnd: number,
    torn: boolean,
    replaysAlone: boolean,
  ): Promise<void> {
    const path = join(this.dir, name);
    if (this.segments.at(-1)?.name !== name) {
      await this.disk.remove(path);
      await this.disk.syncDir(this.dir);
      return;
    }
    const file = await this.disk.openWrite(path);
    if (torn) await file.truncate(validEnd);
    // What was replayed may be only in the page cache (its writer died before its fsync); make it
    // durable before anything is appended after it, here or in a newer segment.
    await file.sync();
    await this.disk.syncDir(this.dir);
    if (!replaysAlone) {
      // Its header is not where the log ends (an overwrite's segment whose entries a crash lost, its
      // header at the overwrite's attach point): entries appended to it would not attach once older
      // segments are deleted. No active segment: the next write starts one at the log's last point.
      await file.close();
      return;
    }
    this.active = file;
    this.activeSize = validEnd;
  }

  /**
   * True when the active segment is full, or when a batch attaching at `attachIndex` would overwrite
   * entries below its header (replayed on its own once older segments are gone, it could not attach).
   */
  needsRotation(attachIndex = Number.POSITIVE_INFINITY): boolean {
    const active = this.segments.at(-1);
    return (
      this.active === undefined ||
      this.activeSize >= this.segmentBytesMax ||
      (active !== undefined && attachIndex < active.baseIndex)
    );
  }

  /**
   * Starts a new segment whose header carries the log's last point and the hard state, so it
   * replays on its own once older segments are deleted. Durable (file and directory) on return.
   */
  async rotate(base: LogPoint, hardState: HardState): Promise<void> {
    const seq = (this.segments.at(-1)?.seq ?? 0) + 1;
    const name = segmentName(seq, base.index);
    const bytes = encodeBatch({ header: base, entries: [], hardState });
    const file = await this.disk.openWrite(join(this.dir, name));
    await file.write(bytes, 0);
    await file.sync();
    await this.disk.syncDir(this.dir);
    await this.active?.close();
    this.active = file;
    this.activeSize = bytes.length;
    this.segments.push({ name, seq, maxIndex: base.index, baseIndex: base.index });
  }

  /** One write and one fsync for a whole batch (group commit). */
  async append(bytes: Uint8Array, maxIndex: number): Promise<void> {
    const file = this.active!;
    await file.write(bytes, this.activeSize);
    await file.sync();
    this.activeSize += bytes.length;
    const seg = this.segments.at(-1)!;
    seg.maxIndex = Math.max(seg.maxIndex, maxIndex);
  }

  /** Deletes the oldest segments while everything they mention is ≤ `bound`; never the active one. */
  async removeSegmentsUpTo(bound: number): Promise<number> {
    let removed = 0;
    while (this.segments.length > 1 && this.segments[0]!.maxIndex <= bound) {
      await this.disk.remove(join(this.dir, this.segments[0]!.name));
      this.segments.shift();
      removed++;
    }
    if (removed > 0) await this.disk.syncDir(this.dir);
    return removed;
  }

  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  async close(): Promise<void> {
    await this.active?.close();
    this.active = undefined;
  }
}
