// The disk-full fault's disk: one node's data dir is a small tmpfs for the whole run. Filling it shrinks
// the tmpfs to what it holds (a remount; no filler file, no memory used), so the node's next write fails
// with ENOSPC; freeing it grows the tmpfs back. Needs root (mount); otherwise the kind is skipped.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, statfsSync } from "node:fs";

/** Room for a 10-minute run's WAL segments (64 MiB each at most) and snapshots; tmpfs uses RAM only as filled. */
const tmpfsBytes = 256 * 1024 * 1024;
const pageBytes = 4096;

export class DiskUnavailableError extends Error {
  override readonly name = "DiskUnavailableError";
}

export class DiskFiller {
  private mounted = false;

  private constructor(
    readonly node: number,
    readonly dir: string,
  ) {}

  /** Mounts the tmpfs at `dir` (created); throws DiskUnavailableError when this host cannot. */
  static mount(node: number, dir: string): DiskFiller {
    if (process.getuid?.() !== 0) throw new DiskUnavailableError("needs root (mount -t tmpfs)");
    mkdirSync(dir, { recursive: true });
    const filler = new DiskFiller(node, dir);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${tmpfsBytes},mode=0755`, "tmpfs", dir], {
        stdio: "pipe",
      });
    } catch (err) {
      throw new DiskUnavailableError(`mount -t tmpfs failed: ${(err as Error).message.split("\n")[0]}`);
    }
    filler.mounted = true;
    return filler;
  }

  /** Bytes in use now. */
  used(): number {
    const s = statfsSync(this.dir);
    return (s.blocks - s.bfree) * s.bsize;
  }

  /** Shrinks the tmpfs to what it holds (rounded up to a page): no further byte fits. Returns that size. */
  fill(): number {
    const size = Math.max(pageBytes, Math.ceil(this.used() / pageBytes) * pageBytes);
    this.remount(size);
    return size;
  }

  free(): void {
    this.remount(tmpfsBytes);
  }

  /** Unmounts, first copying the content to `keepAs` when asked (the data dir of a failed run). */
  unmount(keepAs?: string): void {
    if (!this.mounted) return;
    if (keepAs !== undefined) cpSync(this.dir, keepAs, { recursive: true });
    try {
      execFileSync("umount", ["-l", this.dir], { stdio: "pipe" });
    } catch {
      // already gone
    }
    this.mounted = false;
  }

  private remount(bytes: number): void {
    execFileSync("mount", ["-o", `remount,size=${bytes}`, this.dir], { stdio: "pipe" });
  }
}
