import { type ConfigState, type LogStorage, MemoryStorage, type Ready } from "../raft/index.js";
import { DiskStorage, MemDisk, type OpenStats, StorageError } from "../storage/index.js";
import type { SimParams } from "./params.js";
import { SimDisk, type SimDiskHost } from "./sim-disk.js";

/** What a store needs from its node and the simulation. */
export interface StoreHost extends SimDiskHost {
  now(): number;
  /** An error from async storage work in the current life: the run stops with it. */
  fail(error: unknown): void;
  /** The disk was replayed on (re)start. */
  opened(id: number, stats: OpenStats, lastIndex: number): void;
  /** Integer in [0, n) from the seed: the kind of crash, and how much of each unsynced tail it keeps. */
  randomInt(n: number): number;
  /** A crash cut the power (unsynced data lost) rather than only killing the process. */
  powerCut(id: number): void;
}

/**
 * A node's disk as its driver sees it. Callbacks never run after `crash()` (the process is dead), and
 * only while the node runs.
 */
export interface NodeStore {
  /** Replays what survived on disk and hands Raft's storage to `ready` (maybe synchronously). */
  open(ready: (storage: LogStorage) => void): void;
  /** Persists a Ready; `durable` runs once it survives a crash (maybe synchronously). */
  save(rd: Ready, durable: () => void): void;
  /** Keeps the machine's snapshot at applied `index` and compacts the log; `done` runs after. */
  snapshot(index: number, data: Uint8Array, done: () => void): void;
  /** Power cut: everything not durable is lost. */
  crash(): void;
}

export function createStore(id: number, config: ConfigState, params: SimParams, host: StoreHost): NodeStore {
  return params.diskMode === "wal" ? new WalStore(id, config, params, host) : new MemoryStore(config, host);
}

/**
 * The disk as a second MemoryStorage: Raft reads `volatile`, and a Ready reaches `durable` only after a
 * simulated fsync. A restart reads `durable` alone.
 */
class MemoryStore implements NodeStore {
  private volatile!: MemoryStorage;
  private readonly durable: MemoryStorage;
  /** Fsyncs complete in order: none is due before the previous one. */
  private lastDurableDue = 0;
  private life = 0;

  constructor(
    private readonly config: ConfigState,
    private readonly host: StoreHost,
  ) {
    this.durable = new MemoryStorage(config);
  }

  open(ready: (storage: LogStorage) => void): void {
    this.volatile = cloneStorage(this.durable, this.config);
    this.lastDurableDue = this.host.now();
    ready(this.volatile);
  }

  save(rd: Ready, durable: () => void): void {
    this.volatile.persist(rd);
    if (!rd.mustSync) {
      this.durable.persist(rd);
      durable();
      return;
    }
    const life = this.life;
    const due = Math.max(this.host.now() + this.host.fsyncDelayMs(), this.lastDurableDue);
    this.lastDurableDue = due;
    this.host.after(due - this.host.now(), () => {
      if (life !== this.life) return;
      this.host.whenRunning(() => {
        this.durable.persist(rd);
        durable();
      });
    });
  }

  snapshot(index: number, data: Uint8Array, done: () => void): void {
    const term = this.volatile.term(index);
    this.volatile.createSnapshot(index, this.config, data);
    // Snapshot files are written atomically; the disk copy needs the entry itself to be durable first.
    const d = this.durable;
    if (index > d.firstIndex() - 1 && index <= d.lastIndex() && d.term(index) === term) {
      d.createSnapshot(index, this.config, data);
    }
    done();
  }

  crash(): void {
    this.life++;
  }
}

/**
 * The real storage: DiskStorage over this node's own MemDisk, seen by each process life through its own
 * SimDisk (fsyncs with virtual latency; dead once the process dies). Half the crashes only kill the
 * process (the page cache survives, unsynced data included); the others cut the power, tearing the
 * unsynced tails (seeded). A restart replays the files.
 */
class WalStore implements NodeStore {
  private readonly memDisk = new MemDisk();
  private disk: SimDisk | undefined;
  private storage: DiskStorage | undefined;
  private life = 0;

  constructor(
    private readonly id: number,
    private readonly config: ConfigState,
    private readonly params: SimParams,
    private readonly host: StoreHost,
  ) {}

  open(ready: (storage: LogStorage) => void): void {
    this.storage = undefined;
    this.disk = new SimDisk(this.memDisk, this.host);
    this.run(
      DiskStorage.open(this.disk, `/n${this.id}`, {
        bootstrapConfig: this.config,
        compactKeepEntries: this.params.compactKeepEntries,
        segmentBytesMax: this.params.segmentBytesMax,
      }),
      (storage) => {
        this.storage = storage;
        this.host.opened(this.id, storage.stats, storage.lastIndex());
        ready(storage);
      },
    );
  }

  save(rd: Ready, durable: () => void): void {
    // As the node driver does: a commit-only hard state is not written (the leader tells it again).
    if (rd.entries.length === 0 && rd.snapshot === undefined && !rd.mustSync) {
      durable();
      return;
    }
    const batch = { hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot };
    this.run(this.opened().save(batch), durable);
  }

  snapshot(index: number, data: Uint8Array, done: () => void): void {
    const storage = this.opened();
    this.run(
      storage.createSnapshot(index, this.config, data).then(() => storage.compact(index)),
      done,
    );
  }

  crash(): void {
    this.life++;
    this.storage = undefined;
    this.disk?.kill();
    this.disk = undefined;
    if (this.host.randomInt(2) === 0) return;
    this.host.powerCut(this.id);
    this.memDisk.crash((n) => this.host.randomInt(n));
  }

  private opened(): DiskStorage {
    if (this.storage === undefined) throw new StorageError("storage_failed", "storage used before open");
    return this.storage;
  }

  /** Continues with `then` in this life only, once the node runs; errors of this life stop the run. */
  private run<T>(work: Promise<T>, then: (value: T) => void): void {
    const life = this.life;
    this.host.asyncStarted();
    work.then(
      (value) => {
        if (life !== this.life) return;
        this.host.whenRunning(() => {
          if (life !== this.life) return;
          try {
            then(value);
          } catch (error) {
            this.host.fail(error);
          }
        });
      },
      (error: unknown) => {
        if (life === this.life) this.host.fail(error);
      },
    );
  }
}

/** A fresh in-memory copy of what is on disk: what a restarted process reads back. */
function cloneStorage(disk: MemoryStorage, config: ConfigState): MemoryStorage {
  const copy = new MemoryStorage(config);
  const snap = disk.snapshot();
  if (snap.meta.index > 0) copy.applySnapshot(snap);
  const first = disk.firstIndex();
  const last = disk.lastIndex();
  if (last >= first) copy.append(disk.entries(first, last + 1, Number.POSITIVE_INFINITY));
  copy.setHardState(disk.initialState().hardState);
  return copy;
}
