import { basename, dirname } from "node:path";
import type { DirLockHolder, DirLockResult, Disk, DiskFile } from "./disk.js";

/** Returns an integer in [0, n); supplied by the caller so crashes replay from a seed. */
export type RandomInt = (n: number) => number;

/** One file's bytes. Bytes below `syncedSize` are durable unless `syncedCopy` holds an older durable image. */
class Inode {
  buf: Uint8Array;
  size: number;
  syncedSize = 0;
  /** Set when unsynced writes or truncations touched the durable prefix: the image to fall back to. */
  syncedCopy: Uint8Array | undefined = undefined;

  constructor(content: Uint8Array) {
    this.buf = content.slice();
    this.size = content.length;
    this.syncedSize = content.length;
  }

  content(): Uint8Array {
    return this.buf.slice(0, this.size);
  }

  private protectDurable(position: number): void {
    if (position < this.syncedSize && this.syncedCopy === undefined) {
      this.syncedCopy = this.buf.slice(0, this.syncedSize);
    }
  }

  write(data: Uint8Array, position: number): void {
    this.protectDurable(position);
    const end = position + data.length;
    if (end > this.buf.length) {
      const grown = new Uint8Array(Math.max(end, this.buf.length * 2, 64));
      grown.set(this.buf.subarray(0, this.size));
      this.buf = grown;
    }
    if (position > this.size) this.buf.fill(0, this.size, position);
    this.buf.set(data, position);
    this.size = Math.max(this.size, end);
  }

  truncate(size: number): void {
    this.protectDurable(size);
    if (size > this.size) this.write(new Uint8Array(size - this.size), this.size);
    this.size = size;
  }

  sync(): void {
    this.syncedSize = this.size;
    this.syncedCopy = undefined;
  }

  /** What survives a crash: the durable image, plus (when rng is given) a torn prefix of an appended tail. */
  afterCrash(rng: RandomInt | undefined): Inode {
    if (this.syncedCopy !== undefined) return new Inode(this.syncedCopy);
    const tail = this.size - this.syncedSize;
    const kept = rng !== undefined && tail > 0 ? rng(tail + 1) : 0;
    return new Inode(this.buf.subarray(0, this.syncedSize + kept));
  }
}

function fsError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

/**
 * In-memory disk for tests and the simulator. It keeps, per file, the synced bytes apart from the
 * unsynced tail, and per directory the durable names apart from the current ones, so `crash()` can
 * drop exactly what a power cut may drop. Every method is deterministic and uses no timers.
 * Simplification: directories exist durably once created, and a directory rename is durable at once.
 */
export class MemDisk implements Disk {
  private files = new Map<string, Inode>();
  private durable = new Map<string, Inode>();
  private dirs = new Set<string>(["/"]);
  /** Bumped by crash(): file handles opened before it fail, like those of a dead process. */
  private generation = 0;
  /** Directory locks; a power cut (crash) releases them all, as every process dies. */
  private locks = new Map<string, { readonly holder: DirLockHolder; readonly alive: () => boolean }>();
  /** Numbers lock holders the way pids number processes. */
  private lockHolders = 0;

  async list(dir: string): Promise<string[]> {
    const names: string[] = [];
    for (const p of this.files.keys()) if (dirname(p) === dir) names.push(basename(p));
    for (const d of this.dirs) if (d !== dir && dirname(d) === dir) names.push(basename(d));
    return names.sort();
  }

  async readFile(path: string): Promise<Uint8Array> {
    const inode = this.files.get(path);
    if (inode === undefined) throw fsError("ENOENT", path);
    return inode.content();
  }

  async openWrite(path: string): Promise<DiskFile> {
    if (!this.dirs.has(dirname(path))) throw fsError("ENOENT", path);
    if (this.dirs.has(path)) throw fsError("EISDIR", path);
    let inode = this.files.get(path);
    if (inode === undefined) {
      inode = new Inode(new Uint8Array(0));
      this.files.set(path, inode);
    }
    const node = inode;
    const generation = this.generation;
    const live = () => {
      if (generation !== this.generation) throw fsError("EBADF", path);
    };
    return {
      write: async (data, position) => {
        live();
        node.write(data, position);
      },
      sync: async () => {
        live();
        node.sync();
      },
      truncate: async (size) => {
        live();
        node.truncate(size);
      },
      close: async () => {},
    };
  }

  async rename(from: string, to: string): Promise<void> {
    if (this.dirs.has(from)) {
      this.renameDir(from, to);
      return;
    }
    const inode = this.files.get(from);
    if (inode === undefined || !this.dirs.has(dirname(to))) throw fsError("ENOENT", from);
    this.files.delete(from);
    this.files.set(to, inode);
  }

  private renameDir(from: string, to: string): void {
    if (this.dirs.has(to) || this.files.has(to)) throw fsError("EEXIST", to);
    const move = (p: string) => (p === from || p.startsWith(from + "/") ? to + p.slice(from.length) : p);
    this.dirs = new Set([...this.dirs].map(move));
    this.files = new Map([...this.files].map(([p, i]) => [move(p), i]));
    this.durable = new Map([...this.durable].map(([p, i]) => [move(p), i]));
  }

  async remove(path: string): Promise<void> {
    if (this.files.delete(path)) return;
    if (!this.dirs.has(path)) throw fsError("ENOENT", path);
    if ((await this.list(path)).length > 0) throw fsError("ENOTEMPTY", path);
    this.dirs.delete(path);
  }

  async syncDir(dir: string): Promise<void> {
    if (!this.dirs.has(dir)) throw fsError("ENOENT", dir);
    for (const p of [...this.durable.keys()])
      if (dirname(p) === dir && !this.files.has(p)) this.durable.delete(p);
    for (const [p, inode] of this.files) if (dirname(p) === dir) this.durable.set(p, inode);
  }

  async mkdirp(dir: string): Promise<void> {
    for (let d = dir; !this.dirs.has(d); d = dirname(d)) {
      if (this.files.has(d)) throw fsError("EEXIST", d);
      this.dirs.add(d);
    }
  }

  /**
   * MemDisk knows no processes: a caller that models one passes `alive` (false once that process is
   * dead, e.g. the simulator's per-process disk view), and the lock is free again once it turns false.
   */
  async lockDir(dir: string, reason: string, alive: () => boolean = () => true): Promise<DirLockResult> {
    if (!this.dirs.has(dir)) throw fsError("ENOENT", dir);
    const held = this.locks.get(dir);
    if (held?.alive() === true) return { ok: false, holder: held.holder };
    const lock = { holder: { pid: ++this.lockHolders, reason }, alive };
    this.locks.set(dir, lock);
    return {
      ok: true,
      release: async () => {
        if (this.locks.get(dir) === lock) this.locks.delete(dir);
      },
    };
  }

  /**
   * Power cut. Without `rng` every unsynced byte and name change is lost. With `rng`, each directory
   * with unsynced name changes keeps them all or none, and each file keeps a random prefix of its
   * unsynced appended tail (a torn write).
   */
  crash(rng?: RandomInt): void {
    this.generation++;
    this.locks.clear();
    const pendingDirs = new Set<string>();
    for (const p of new Set([...this.files.keys(), ...this.durable.keys()])) {
      if (this.files.get(p) !== this.durable.get(p)) pendingDirs.add(dirname(p));
    }
    const keep = new Set([...pendingDirs].sort().filter(() => rng !== undefined && rng(2) === 1));
    const names = new Map<string, Inode>();
    for (const [p, inode] of this.durable) if (!keep.has(dirname(p))) names.set(p, inode);
    for (const [p, inode] of this.files) if (keep.has(dirname(p))) names.set(p, inode);
    this.files = new Map();
    for (const p of [...names.keys()].sort()) this.files.set(p, names.get(p)!.afterCrash(rng));
    this.durable = new Map(this.files);
  }

  /** Test helper: every process using this disk dies, without a power cut: locks go, unsynced data stays. */
  killProcesses(): void {
    this.locks.clear();
  }

  /** Test helper: replaces a file's content durably (e.g. to cut or damage a WAL). */
  setFile(path: string, content: Uint8Array): void {
    const inode = new Inode(content);
    this.files.set(path, inode);
    this.durable.set(path, inode);
  }

  /** Test helper: every file path, sorted. */
  paths(): string[] {
    return [...this.files.keys()].sort();
  }

  /** An independent copy of the durable and current state, for trying many crashes from one state. */
  clone(): MemDisk {
    const copy = new MemDisk();
    const copies = new Map<Inode, Inode>();
    const cloneInode = (i: Inode) => {
      let c = copies.get(i);
      if (c === undefined) {
        c = new Inode(i.content());
        c.syncedSize = i.syncedSize;
        c.syncedCopy = i.syncedCopy?.slice();
        copies.set(i, c);
      }
      return c;
    };
    copy.dirs = new Set(this.dirs);
    copy.files = new Map([...this.files].map(([p, i]) => [p, cloneInode(i)]));
    copy.durable = new Map([...this.durable].map(([p, i]) => [p, cloneInode(i)]));
    return copy;
  }
}
