import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  type ConfigState,
  type Entry,
  type HardState,
  invariant,
  type LogStorage,
  type NodeId,
  type Snapshot,
} from "../raft/index.js";
import { encodeBatch, type LogPoint } from "./codec.js";
import { defaultLockReason, lockDataDir, refuseInterruptedRepair } from "./data-dir.js";
import type { Disk } from "./disk.js";
import { EntryLog } from "./entry-log.js";
import { StorageCorruptionError, StorageError } from "./errors.js";
import { claimDataDir } from "./node-id-file.js";
import {
  pruneSnapshots,
  readSnapshots,
  removeSnapshotLeftovers,
  type SnapshotsRead,
  setAsideSnapshot,
  snapshotName,
  writeSnapshotFile,
} from "./snapfile.js";
import { readWal, Wal, type WalRead } from "./wal.js";

export const SEGMENT_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** Bound on one WAL record; a larger length field on replay is damage, not data. */
export const RECORD_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;
export const COMPACT_KEEP_ENTRIES_DEFAULT = 5000;
/** The newest snapshot plus one to fall back to if the newest turns out damaged. */
const SNAPSHOTS_KEPT = 2;

/** pino-compatible subset, so a node can pass its logger straight in. */
export interface StorageLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

export interface DiskStorageOptions {
  /** A segment that reached this size is closed and the next batch starts a new one. */
  readonly segmentBytesMax?: number;
  /** Largest WAL record (one save() batch) accepted on write and on replay. */
  readonly recordBytesMax?: number;
  /** Entries kept below a compaction point so slow followers catch up without a snapshot. */
  readonly compactKeepEntries?: number;
  /** Membership reported by initialState() while no snapshot exists. */
  readonly bootstrapConfig?: ConfigState;
  readonly logger?: StorageLogger;
  /** Recorded in the data dir's lock, so a refused second process can name what holds it. */
  readonly lockReason?: string;
  /**
   * The node this data dir must belong to (its `node-id` file), claimed for it if no node has yet; absent:
   * not checked (tools and tests that own the dir outright).
   */
  readonly nodeId?: NodeId;
}

export interface OpenStats {
  readonly replayMs: number;
  readonly entriesReplayed: number;
  readonly segmentsReplayed: number;
  readonly walBytesReplayed: number;
  readonly tailBytesTruncated: number;
  readonly snapshotIndex: number;
  /** True when the newest snapshot was damaged and an older one was used. */
  readonly snapshotFallback: boolean;
}

/** One Ready batch to persist. */
export interface SaveBatch {
  readonly hardState?: HardState | undefined;
  /** Replace any stored entries at the same or higher indexes. */
  readonly entries: readonly Entry[];
  /** From InstallSnapshot: the log is reset to follow it. */
  readonly snapshot?: Snapshot | undefined;
}

const NO_CONFIG: ConfigState = { voters: [], learners: [] };

function pointOf(s: Snapshot): LogPoint {
  return { index: s.meta.index, term: s.meta.term };
}

/** A data dir as start-up reads it, before anything is written (DiskStorage.open's first half). */
export interface DataDirRead extends SnapshotsRead {
  /** The newest snapshot that decodes, or an empty one at index 0 with the bootstrap membership. */
  readonly snapshot: Snapshot;
  readonly wal: WalRead;
  /** The WAL's log, or an empty one at the snapshot when the WAL holds none. */
  readonly log: EntryLog;
}

/**
 * Reads the snapshots and the WAL of `dataDir` as a starting node does, writing nothing (no lock
 * either: the caller holds it). Throws StorageCorruptionError on what the node must not start from, so
 * a data dir this reads is one the node starts on (repair uses it to tell an intact one).
 */
export async function readDataDir(
  disk: Disk,
  dataDir: string,
  options: Pick<DiskStorageOptions, "recordBytesMax" | "bootstrapConfig"> = {},
): Promise<DataDirRead> {
  const snapDir = join(dataDir, "snap");
  const snapshots = await readSnapshots(disk, snapDir);
  const { damaged } = snapshots;
  const snapshot: Snapshot = snapshots.newest ?? {
    meta: { index: 0, term: 0, config: options.bootstrapConfig ?? NO_CONFIG },
    data: new Uint8Array(0),
  };
  const wal = await readWal(
    disk,
    join(dataDir, "wal"),
    dataDir,
    options.recordBytesMax ?? RECORD_BYTES_MAX_DEFAULT,
  );
  const log = wal.replay.log ?? new EntryLog(pointOf(snapshot));
  if (log.firstIndex() - 1 > snapshot.meta.index) {
    // The WAL starts after the snapshot we have: the entries in between exist nowhere.
    const bad = damaged[0];
    const file = join(snapDir, bad === undefined ? "" : snapshotName(bad.index));
    const why =
      bad === undefined
        ? `no snapshot at or before the WAL start ${log.firstIndex() - 1}`
        : `${bad.why}, and the WAL no longer covers the previous snapshot`;
    throw new StorageCorruptionError("snapshot_corrupt", file, bad?.offset ?? 0, why, dataDir);
  }
  return { ...snapshots, snapshot, wal, log };
}

/**
 * Durable LogStorage: a WAL of checksummed records plus atomic snapshot files under `dataDir`.
 * Entries after the compaction point stay in memory, so reads never touch the disk.
 * Writes are serialized; a failed write or fsync poisons the instance (the page cache state is
 * unknown after a failed fsync, so retrying could acknowledge lost data).
 */
export class DiskStorage implements LogStorage {
  private hard: HardState;
  private snap: Snapshot;
  /** On-disk snapshot indexes, newest first (at most SNAPSHOTS_KEPT). */
  private snapIndexes: number[];
  private queue: Promise<unknown> = Promise.resolve();
  /** Locally created snapshots are written one at a time, beside (not inside) the write queue. */
  private snapshotLane: Promise<unknown> = Promise.resolve();
  private failure: unknown = undefined;
  private closed = false;
  /** Bytes appended to the WAL since open (batches only; segment headers aside), for metrics. */
  walBytesWritten = 0;

  private constructor(
    private readonly disk: Disk,
    private readonly dataDir: string,
    private readonly wal: Wal,
    private readonly log: EntryLog,
    hardState: HardState,
    snapshot: Snapshot,
    snapIndexes: number[],
    private readonly options: Required<
      Omit<DiskStorageOptions, "bootstrapConfig" | "logger" | "lockReason" | "nodeId">
    >,
    readonly stats: OpenStats,
    private readonly unlock: () => Promise<void>,
  ) {
    this.hard = hardState;
    this.snap = snapshot;
    this.snapIndexes = snapIndexes;
  }

  private get snapDir(): string {
    return join(this.dataDir, "snap");
  }

  /**
   * Locks the data dir (DataDirLockedError if another process has it; released by close()), checks or
   * claims it for `nodeId` (NodeIdMismatchError if another node's: checked before any Raft state is read
   * or written), then replays the newest valid snapshot and the WAL. A torn record at the end of the last
   * segment is cut off; damage anywhere else throws StorageCorruptionError naming the repair command.
   */
  static async open(disk: Disk, dataDir: string, options: DiskStorageOptions = {}): Promise<DiskStorage> {
    await disk.mkdirp(dataDir);
    const unlock = await lockDataDir(disk, dataDir, options.lockReason ?? defaultLockReason());
    try {
      await refuseInterruptedRepair(disk, dataDir);
      if (options.nodeId !== undefined) await claimDataDir(disk, dataDir, options.nodeId, options.logger);
      return await DiskStorage.load(disk, dataDir, options, unlock);
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  private static async load(
    disk: Disk,
    dataDir: string,
    options: DiskStorageOptions,
    unlock: () => Promise<void>,
  ): Promise<DiskStorage> {
    const started = performance.now();
    const opts = {
      segmentBytesMax: options.segmentBytesMax ?? SEGMENT_BYTES_MAX_DEFAULT,
      recordBytesMax: options.recordBytesMax ?? RECORD_BYTES_MAX_DEFAULT,
      compactKeepEntries: options.compactKeepEntries ?? COMPACT_KEEP_ENTRIES_DEFAULT,
    };
    const read = await readDataDir(disk, dataDir, options);
    const { snapshot, log, damaged } = read;
    const snapDir = join(dataDir, "snap");
    await disk.mkdirp(snapDir);
    await removeSnapshotLeftovers(disk, snapDir);
    const wal = await Wal.resume(disk, join(dataDir, "wal"), read.wal, opts.segmentBytesMax);
    const replay = read.wal.replay;
    for (const bad of damaged) {
      options.logger?.warn(
        {
          file: join(snapDir, snapshotName(bad.index)),
          offset: bad.offset,
          fallbackIndex: snapshot.meta.index,
        },
        `snapshot damaged (${bad.why}); set aside, using the previous snapshot and the WAL`,
      );
      await setAsideSnapshot(disk, snapDir, bad.index);
    }
    // A snapshot newer than the log, or contradicting it, was installed but its WAL marker was not
    // written before a crash. A snapshot holds only committed entries, so the log yields to it.
    const resetToSnapshot = log.termOrUndefined(snapshot.meta.index) !== snapshot.meta.term;
    if (resetToSnapshot) log.reset(pointOf(snapshot));
    // The WAL may still hold entries far below the snapshot (segments go whole, and only below the older
    // kept snapshot). Memory keeps only compactKeepEntries below it, as compact() does: a restarted
    // leader otherwise feeds a far-behind follower every entry instead of the snapshot (sim seed 1208).
    else log.compact(snapshot.meta.index - opts.compactKeepEntries);
    // Commit can never be below the snapshot (it was committed); the core relies on commit ≥ first - 1.
    const hardState = { ...replay.hardState, commit: Math.max(replay.hardState.commit, snapshot.meta.index) };
    if (wal.needsRotation()) await wal.rotate(log.lastPoint(), hardState);
    if (resetToSnapshot) {
      await wal.append(encodeBatch({ marker: pointOf(snapshot), entries: [] }), snapshot.meta.index);
    }
    const stats: OpenStats = {
      replayMs: performance.now() - started,
      entriesReplayed: replay.entriesReplayed,
      segmentsReplayed: replay.segmentsReplayed,
      walBytesReplayed: replay.bytesReplayed,
      tailBytesTruncated: replay.tailBytesTruncated,
      snapshotIndex: snapshot.meta.index,
      snapshotFallback: damaged.length > 0 && read.newest !== undefined,
    };
    const kept = read.indexes.filter((i) => i <= snapshot.meta.index && read.newest !== undefined);
    return new DiskStorage(disk, dataDir, wal, log, hardState, snapshot, kept, opts, stats, unlock);
  }

  initialState(): { hardState: HardState; config: ConfigState } {
    return { hardState: this.hard, config: this.snap.meta.config };
  }

  firstIndex(): number {
    return this.log.firstIndex();
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  term(index: number): number {
    return this.log.term(index);
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    return this.log.entries(lo, hi, bytesMax);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Names of the live WAL segments, oldest first. */
  walSegments(): string[] {
    return this.wal.segmentNames();
  }

  /**
   * Persists a Ready batch: the snapshot file first (atomically), then marker, entries and hard
   * state as one WAL write and one fsync. Resolves once durable; only then may votes/acks be sent.
   */
  save(batch: SaveBatch): Promise<void> {
    return this.exclusive(async () => {
      const { hardState, entries, snapshot } = batch;
      if (snapshot !== undefined) {
        invariant(
          snapshot.meta.index > this.snap.meta.index,
          `snapshot ${snapshot.meta.index} not newer than ${this.snap.meta.index}`,
        );
        new EntryLog(pointOf(snapshot)).checkAppend(entries);
      } else {
        this.log.checkAppend(entries);
      }
      const bytes = encodeBatch({ marker: snapshot && pointOf(snapshot), entries, hardState });
      if (bytes.length > this.options.recordBytesMax) {
        throw new StorageError(
          "batch_too_large",
          `batch of ${bytes.length} bytes exceeds recordBytesMax ${this.options.recordBytesMax}`,
        );
      }
      const lastEntry = entries.at(-1);
      const maxIndex = Math.max(snapshot?.meta.index ?? 0, lastEntry?.index ?? 0);
      await this.durably(async () => {
        if (snapshot !== undefined) await writeSnapshotFile(this.disk, this.snapDir, snapshot);
        if (bytes.length > 0) {
          // Entries after a snapshot marker attach to it, whatever the log held before.
          const attach = snapshot === undefined ? this.attachPoint(entries) : this.log.lastPoint();
          if (this.wal.needsRotation(attach.index)) await this.wal.rotate(attach, this.hard);
          await this.wal.append(bytes, maxIndex);
          this.walBytesWritten += bytes.length;
        }
        if (snapshot !== undefined) {
          this.snapIndexes = await pruneSnapshots(
            this.disk,
            this.snapDir,
            [snapshot.meta.index, ...this.snapIndexes],
            SNAPSHOTS_KEPT,
          );
        }
      });
      if (snapshot !== undefined) {
        this.log.reset(pointOf(snapshot));
        this.snap = snapshot;
      }
      this.log.append(entries);
      if (hardState !== undefined) this.hard = hardState;
    });
  }

  /**
   * Where `entries` attach to the log. A new segment's header must not start past it: once older
   * segments are deleted, replay starts at that header and would refuse entries that overwrite below it.
   */
  private attachPoint(entries: readonly Entry[]): LogPoint {
    const first = entries[0];
    if (first === undefined || first.index > this.log.lastIndex()) return this.log.lastPoint();
    return { index: first.index - 1, term: this.log.term(first.index - 1) };
  }

  /**
   * Records the state machine's snapshot at `index` (≤ last index); the term comes from the log.
   * The file is written outside the write queue, so WAL appends (and the acknowledgements and
   * heartbeats waiting on them) never queue behind a large snapshot.
   */
  createSnapshot(index: number, config: ConfigState, data: Uint8Array): Promise<void> {
    const run = this.snapshotLane.then(async () => {
      this.checkUsable();
      // A newer snapshot from the leader may have been installed meanwhile; this one is then moot.
      if (index <= this.snap.meta.index) return;
      const snapshot: Snapshot = { meta: { index, term: this.log.term(index), config }, data };
      await this.durably(() => writeSnapshotFile(this.disk, this.snapDir, snapshot));
      await this.exclusive(async () => {
        const indexes =
          index > this.snap.meta.index ? [index, ...this.snapIndexes] : [...this.snapIndexes, index];
        await this.durably(async () => {
          this.snapIndexes = await pruneSnapshots(this.disk, this.snapDir, indexes, SNAPSHOTS_KEPT);
        });
        if (index > this.snap.meta.index) this.snap = snapshot;
      });
    });
    this.snapshotLane = run.catch(() => {});
    return run;
  }

  /**
   * Drops in-memory entries up to `index - compactKeepEntries` (`index` must be covered by the
   * snapshot) and deletes WAL segments wholly below that point and below the older kept snapshot,
   * so a damaged newest snapshot can still fall back to the older one plus the WAL.
   */
  compact(index: number): Promise<void> {
    return this.exclusive(async () => {
      invariant(index <= this.snap.meta.index, `compact(${index}) beyond snapshot ${this.snap.meta.index}`);
      const point = index - this.options.compactKeepEntries;
      this.log.compact(point);
      const bound = Math.min(point, this.snapIndexes[1] ?? 0);
      await this.durably(() => this.wal.removeSegmentsUpTo(bound));
    });
  }

  async close(): Promise<void> {
    await this.snapshotLane;
    return this.exclusive(async () => {
      this.closed = true;
      await this.wal.close();
      await this.unlock();
    });
  }

  /** Runs write operations one at a time, in call order. */
  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => {
      this.checkUsable();
      return fn();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private checkUsable(): void {
    if (this.closed) throw new StorageError("storage_failed", "storage is closed");
    if (this.failure !== undefined) {
      throw new StorageError("storage_failed", "an earlier write failed; restart the node to recover");
    }
  }

  private async durably(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.failure = err;
      throw new StorageError("storage_failed", `write failed: ${(err as Error).message}`);
    }
  }
}
