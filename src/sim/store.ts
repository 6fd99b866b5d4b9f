import type { DriverStorage } from "../node/index.js";
import { type ConfigState, type Entry, type HardState, MemoryStorage, type Snapshot } from "../raft/index.js";
import { DiskStorage, MemDisk, type OpenStats, repair, type SaveBatch } from "../storage/index.js";
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
 * A node's disk across process lives. Each life opens it and gets the storage its driver uses; after
 * `crash()` nothing of that life completes (a dead process waits forever).
 */
export interface NodeStore {
  /** Replays what survived and hands the storage to `ready` (maybe synchronously). */
  open(ready: (storage: DriverStorage) => void): void;
  /** Power cut or process kill: everything not durable may be lost. */
  crash(): void;
  /** `raftstack repair --force` (storage's repair()) on the crashed node's data dir; false if this disk model has none. */
  repair(): Promise<boolean>;
}

export function createStore(id: number, config: ConfigState, params: SimParams, host: StoreHost): NodeStore {
  return params.diskMode === "wal" ? new WalStore(id, config, params, host) : new MemoryStore(config, host);
}

/**
 * The disk as a MemoryStorage that a batch reaches only after a simulated fsync (fsyncs complete in
 * order); Raft reads the same object, as it reads DiskStorage. A crash drops the fsyncs in flight.
 */
class MemoryStore implements NodeStore {
  private readonly disk: MemoryStorage;
  private lastDurableDue = 0;
  private life = 0;

  constructor(
    config: ConfigState,
    private readonly host: StoreHost,
  ) {
    this.disk = new MemoryStorage(config);
  }

  open(ready: (storage: DriverStorage) => void): void {
    this.lastDurableDue = this.host.now();
    ready(new MemoryLife(this.disk, this.life, this));
  }

  /** Runs `persist` once an fsync issued now completes in life `life`; resolves then. */
  sync(life: number, persist: () => void): Promise<void> {
    const host = this.host;
    const due = Math.max(host.now() + host.fsyncDelayMs(), this.lastDurableDue);
    this.lastDurableDue = due;
    return new Promise<void>((resolve) => {
      host.after(due - host.now(), () => {
        if (life !== this.life) return;
        host.whenRunning(() => {
          if (life !== this.life) return;
          persist();
          host.asyncStarted();
          resolve();
        });
      });
    });
  }

  crash(): void {
    this.life++;
  }

  repair(): Promise<boolean> {
    return Promise.resolve(false);
  }
}

/** One process life's view of a MemoryStore. */
class MemoryLife implements DriverStorage {
  constructor(
    private readonly disk: MemoryStorage,
    private readonly life: number,
    private readonly store: MemoryStore,
  ) {}

  initialState(): { hardState: HardState; config: ConfigState } {
    return this.disk.initialState();
  }
  firstIndex(): number {
    return this.disk.firstIndex();
  }
  lastIndex(): number {
    return this.disk.lastIndex();
  }
  term(index: number): number {
    return this.disk.term(index);
  }
  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    return this.disk.entries(lo, hi, bytesMax);
  }
  snapshot(): Snapshot {
    return this.disk.snapshot();
  }

  save(batch: SaveBatch): Promise<void> {
    const { hardState, entries, snapshot } = batch;
    return this.store.sync(this.life, () => this.disk.persist({ hardState, entries, snapshot }));
  }

  /** Snapshot files are written atomically: the snapshot replaces the log below it at once. */
  createSnapshot(index: number, config: ConfigState, data: Uint8Array): Promise<void> {
    // A newer snapshot from the leader may have been installed meanwhile; this one is then moot.
    if (index > this.disk.snapshot().meta.index) this.disk.createSnapshot(index, config, data);
    return Promise.resolve();
  }

  /** createSnapshot already dropped the entries it covers (this model keeps no tail). */
  compact(): Promise<void> {
    return Promise.resolve();
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
  private life = 0;

  constructor(
    private readonly id: number,
    private readonly config: ConfigState,
    private readonly params: SimParams,
    private readonly host: StoreHost,
  ) {}

  private get dataDir(): string {
    return `/n${this.id}`;
  }

  open(ready: (storage: DriverStorage) => void): void {
    const disk = new SimDisk(this.memDisk, this.host);
    this.disk = disk;
    const life = this.life;
    const opening = DiskStorage.open(disk, this.dataDir, {
      bootstrapConfig: this.config,
      compactKeepEntries: this.params.compactKeepEntries,
      segmentBytesMax: this.params.segmentBytesMax,
    });
    this.host.asyncStarted();
    opening.then(
      (storage) => {
        if (life !== this.life) return;
        this.host.opened(this.id, storage.stats, storage.lastIndex());
        ready(new SettledInLife(storage, this.host, () => life === this.life));
      },
      (error: unknown) => {
        if (life === this.life) this.host.fail(error);
      },
    );
  }

  crash(): void {
    this.life++;
    this.disk?.kill();
    this.disk = undefined;
    if (this.host.randomInt(2) === 0) return;
    this.host.powerCut(this.id);
    this.memDisk.crash((n) => this.host.randomInt(n));
  }

  async repair(): Promise<boolean> {
    this.host.asyncStarted();
    // Forced: the fault is "this node lost its log", whether or not the crash damaged the WAL.
    await repair(this.memDisk, this.dataDir, { force: true });
    return true;
  }
}

/**
 * DiskStorage as one process life sees it: its writes settle only while that life lasts and the process
 * runs, and each settles inside the event that completes it (the scheduler drains the promise chain).
 */
class SettledInLife implements DriverStorage {
  constructor(
    private readonly inner: DiskStorage,
    private readonly host: StoreHost,
    private readonly alive: () => boolean,
  ) {}

  initialState(): { hardState: HardState; config: ConfigState } {
    return this.inner.initialState();
  }
  firstIndex(): number {
    return this.inner.firstIndex();
  }
  lastIndex(): number {
    return this.inner.lastIndex();
  }
  term(index: number): number {
    return this.inner.term(index);
  }
  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    return this.inner.entries(lo, hi, bytesMax);
  }
  snapshot(): Snapshot {
    return this.inner.snapshot();
  }

  save(batch: SaveBatch): Promise<void> {
    return this.settle(this.inner.save(batch));
  }
  createSnapshot(index: number, config: ConfigState, data: Uint8Array): Promise<void> {
    return this.settle(this.inner.createSnapshot(index, config, data));
  }
  compact(index: number): Promise<void> {
    return this.settle(this.inner.compact(index));
  }

  private settle(work: Promise<void>): Promise<void> {
    this.host.asyncStarted();
    return new Promise<void>((resolve, reject) => {
      const done = (settle: () => void) => {
        if (!this.alive()) return;
        this.host.whenRunning(() => {
          if (!this.alive()) return;
          this.host.asyncStarted();
          settle();
        });
      };
      work.then(
        () => done(resolve),
        (error: unknown) => done(() => reject(error)),
      );
    });
  }
}
