import type { Entry, EntryKind } from "../../src/raft/types.js";
import {
  type Disk,
  type DiskFile,
  DiskStorage,
  type DiskStorageOptions,
  type MemDisk,
  type RandomInt,
} from "../../src/storage/index.js";

export const DATA = "/data";
export const CONFIG = { voters: [1, 2, 3], learners: [] };

/** Opens `dir` again as a restarted process does: the previous process died (its lock with it). */
export function restart(disk: MemDisk, dir = DATA, options: DiskStorageOptions = {}): Promise<DiskStorage> {
  disk.killProcesses();
  return DiskStorage.open(disk, dir, options);
}

export function ent(index: number, term: number, text = `e${index}`, kind: EntryKind = "normal"): Entry {
  return { index, term, kind, data: new TextEncoder().encode(text) };
}

export function ents(from: number, to: number, term: number, text?: (i: number) => string): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term, text?.(i)));
  return out;
}

/** mulberry32: a tiny seeded PRNG so crash tests replay exactly. */
export function seededRng(seed: number): RandomInt {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(r * n);
  };
}

export function text(e: Entry | undefined): string {
  return e === undefined ? "<none>" : new TextDecoder().decode(e.data);
}

/** Wraps a disk to inject faults: fsyncs that silently do nothing, or operations that throw. */
export class FaultDisk implements Disk {
  syncs = true;
  /** Directory fsyncs only: file data is durable but new names and renames may be lost. */
  dirSyncs = true;
  failOn: "rename" | "sync" | undefined = undefined;

  constructor(private readonly inner: Disk) {}

  private check(op: "rename" | "sync"): void {
    if (this.failOn === op) throw Object.assign(new Error(`injected ${op} failure`), { code: "EIO" });
  }

  list(dir: string) {
    return this.inner.list(dir);
  }
  readFile(path: string) {
    return this.inner.readFile(path);
  }
  async openWrite(path: string): Promise<DiskFile> {
    const file = await this.inner.openWrite(path);
    return {
      write: (data, position) => file.write(data, position),
      sync: async () => {
        this.check("sync");
        if (this.syncs) await file.sync();
      },
      truncate: (size) => file.truncate(size),
      close: () => file.close(),
    };
  }
  async rename(from: string, to: string) {
    this.check("rename");
    await this.inner.rename(from, to);
  }
  remove(path: string) {
    return this.inner.remove(path);
  }
  async syncDir(dir: string) {
    this.check("sync");
    if (this.syncs && this.dirSyncs) await this.inner.syncDir(dir);
  }
  mkdirp(dir: string) {
    return this.inner.mkdirp(dir);
  }
  lockDir(dir: string, reason: string) {
    return this.inner.lockDir(dir, reason);
  }
}

/** Thrown by CrashAtDisk at its crash point. */
export class InjectedCrash extends Error {}

/**
 * Wraps a disk so the process dies at a chosen step: the first `crashAt` changes (file creations,
 * writes, syncs, truncations, renames, removals, directory syncs) happen, the next one throws, and so
 * does every call after it. With crashAt = Infinity it only counts the changes, to enumerate the crash
 * points of an operation.
 */
export class CrashAtDisk implements Disk {
  steps = 0;
  private dead = false;

  constructor(
    private readonly inner: Disk,
    private readonly crashAt: number,
  ) {}

  private alive(): void {
    if (this.dead) throw new InjectedCrash("the process is dead");
  }

  private async change<T>(run: () => Promise<T>): Promise<T> {
    this.alive();
    if (this.steps >= this.crashAt) {
      this.dead = true;
      throw new InjectedCrash(`crash at step ${this.crashAt}`);
    }
    this.steps++;
    return run();
  }

  async list(dir: string) {
    this.alive();
    return this.inner.list(dir);
  }
  async readFile(path: string) {
    this.alive();
    return this.inner.readFile(path);
  }
  async openWrite(path: string): Promise<DiskFile> {
    const file = await this.change(() => this.inner.openWrite(path));
    return {
      write: (data, position) => this.change(() => file.write(data, position)),
      sync: () => this.change(() => file.sync()),
      truncate: (size) => this.change(() => file.truncate(size)),
      close: () => file.close(),
    };
  }
  rename(from: string, to: string) {
    return this.change(() => this.inner.rename(from, to));
  }
  remove(path: string) {
    return this.change(() => this.inner.remove(path));
  }
  syncDir(dir: string) {
    return this.change(() => this.inner.syncDir(dir));
  }
  mkdirp(dir: string) {
    return this.change(() => this.inner.mkdirp(dir));
  }
  async lockDir(dir: string, reason: string) {
    this.alive();
    return this.inner.lockDir(dir, reason);
  }
}
