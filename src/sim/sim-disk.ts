import type { Disk, DiskFile, MemDisk } from "../storage/index.js";

/** What a node's disk needs from the simulation: virtual time and the node's run state. */
export interface SimDiskHost {
  after(delayMs: number, run: () => void): void;
  fsyncDelayMs(): number;
  /** Runs `work` once the owning process runs (at once if up, on resume if paused, never if dead). */
  whenRunning(work: () => void): void;
  /** A promise was resolved outside any storage call: its continuations must run before time moves. */
  asyncStarted(): void;
}

/** Never settles: what a dead process waits on. */
const never = new Promise<never>(() => {});

/**
 * One process's view of a MemDisk, with fsyncs that take virtual time. Writes land at once (unsynced,
 * so a power cut may tear them); `sync` and `syncDir` take effect after a simulated delay, and the
 * process learns of it only while running. Once the process dies (`kill()`) every call and every fsync
 * in flight hangs: a dead process issues no more I/O and never resumes.
 */
export class SimDisk implements Disk {
  private dead = false;

  constructor(
    private readonly inner: MemDisk,
    private readonly host: SimDiskHost,
  ) {}

  kill(): void {
    this.dead = true;
  }

  list(dir: string): Promise<string[]> {
    return this.dead ? never : this.inner.list(dir);
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.dead ? never : this.inner.readFile(path);
  }

  async openWrite(path: string): Promise<DiskFile> {
    const file = await (this.dead ? never : this.inner.openWrite(path));
    return {
      write: (data, position) => (this.dead ? never : file.write(data, position)),
      sync: () => this.delayed(() => file.sync()),
      truncate: (size) => (this.dead ? never : file.truncate(size)),
      close: () => (this.dead ? never : file.close()),
    };
  }

  rename(from: string, to: string): Promise<void> {
    return this.dead ? never : this.inner.rename(from, to);
  }

  remove(path: string): Promise<void> {
    return this.dead ? never : this.inner.remove(path);
  }

  syncDir(dir: string): Promise<void> {
    return this.delayed(() => this.inner.syncDir(dir));
  }

  mkdirp(dir: string): Promise<void> {
    return this.dead ? never : this.inner.mkdirp(dir);
  }

  lockDir(dir: string, reason: string) {
    return this.dead ? never : this.inner.lockDir(dir, reason, () => !this.dead);
  }

  /** The fsync reaches the disk after its delay (MemDisk applies it synchronously on call). */
  private delayed(sync: () => Promise<void>): Promise<void> {
    if (this.dead) return never;
    return new Promise<void>((resolve, reject) => {
      this.host.after(this.host.fsyncDelayMs(), () => {
        if (this.dead) return;
        sync().then(
          () =>
            this.host.whenRunning(() => {
              this.host.asyncStarted();
              resolve();
            }),
          reject,
        );
        this.host.asyncStarted();
      });
    });
  }
}
