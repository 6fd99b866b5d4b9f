// What lives directly in a data dir besides wal/ and snap/: its lock and a repair in progress.
import { join } from "node:path";
import type { Disk } from "./disk.js";
import { DataDirLockedError, StorageError } from "./errors.js";

/** Where repair builds the new wal/ and snap/; a leftover is incomplete and is thrown away. */
export const REPAIR_BUILDING = "repair.building";
/** The complete new wal/ and snap/ (renamed from REPAIR_BUILDING once durable), until moved into place. */
export const REPAIR_READY = "repair.ready";

/**
 * Locks `dataDir` for this process until the returned function is called (or the process dies).
 * Throws DataDirLockedError naming the holder if another live process has it.
 */
export async function lockDataDir(disk: Disk, dataDir: string, reason: string): Promise<() => Promise<void>> {
  const lock = await disk.lockDir(dataDir, reason);
  if (!lock.ok) throw new DataDirLockedError(dataDir, lock.holder);
  return () => lock.release();
}

/** Throws if a repair of `dataDir` was interrupted: wal/ may be gone, so starting could forget a vote. */
export async function refuseInterruptedRepair(disk: Disk, dataDir: string): Promise<void> {
  const names = await disk.list(dataDir);
  if (!names.includes(REPAIR_BUILDING) && !names.includes(REPAIR_READY)) return;
  throw new StorageError(
    "repair_incomplete",
    `a repair of ${dataDir} was interrupted (${join(dataDir, names.includes(REPAIR_READY) ? REPAIR_READY : REPAIR_BUILDING)} ` +
      `exists); finish it by running: raftstack repair --data-dir ${dataDir}`,
  );
}

/** The holder's command line, so a refused second process can tell the operator what has the data dir. */
export function defaultLockReason(): string {
  return process.argv.slice(1).join(" ") || "raftstack";
}
