import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** A file opened for writing; positions are explicit so appends never depend on a shared cursor. */
export interface DiskFile {
  /** Writes all of `data` at byte `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Makes the file's content and size durable. */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file system as the storage layer sees it. Injected so the simulator can crash a node's
 * disk deterministically (MemDisk) while production uses NodeDisk.
 */
export interface Disk {
  /** Names (not paths) of the entries in `dir`; empty when `dir` does not exist. */
  list(dir: string): Promise<string[]>;
  readFile(path: string): Promise<Uint8Array>;
  /** Opens for writing, creating an empty file if missing; never truncates. */
  openWrite(path: string): Promise<DiskFile>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Makes creations, renames and removals of entries in `dir` durable. */
  syncDir(dir: string): Promise<void>;
  mkdirp(dir: string): Promise<void>;
}

/** Disk on node:fs/promises: writes and fsyncs run on the libuv threadpool, off the event loop. */
export class NodeDisk implements Disk {
  async list(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    return readFile(path);
  }

  async openWrite(path: string): Promise<DiskFile> {
    // Not "a": O_APPEND would ignore the explicit positions used to overwrite a truncated tail.
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    return {
      async write(data, position) {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
          done += bytesWritten;
        }
      },
      sync: () => fh.datasync(),
      truncate: (size) => fh.truncate(size),
      close: () => fh.close(),
    };
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(from, to);
  }

  async remove(path: string): Promise<void> {
    await unlink(path);
  }

  async syncDir(dir: string): Promise<void> {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async mkdirp(path: string): Promise<void> {
    // Absolute, so it compares with the first created path mkdir reports.
    const dir = resolve(path);
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    // Each newly created level must be durable in its parent, or a crash could lose the directory.
    for (let d = dir; d !== dirname(d); d = dirname(d)) {
      await this.syncDir(dirname(d));
      if (d === first) break;
    }
  }
}
