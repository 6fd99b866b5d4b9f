import type { Entry, EntryKind } from "../../src/raft/types.js";
import type { Disk, DiskFile, RandomInt } from "../../src/storage/index.js";

export const DATA = "/data";
export const CONFIG = { voters: [1, 2, 3], learners: [] };

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
}
