import { join } from "node:path";
import type { HardState } from "../raft/index.js";
import {
  decodeEntries,
  decodeHardState,
  decodeHeader,
  encodeBatch,
  findValidRecord,
  RecordType,
  readRecord,
} from "./codec.js";
import { lockDataDir, REPAIR_BUILDING, REPAIR_READY } from "./data-dir.js";
import type { Disk } from "./disk.js";
import { RECORD_BYTES_MAX_DEFAULT } from "./disk-storage.js";
import { listSnapshots } from "./snapfile.js";
import { asBuffer, listSegments, segmentName } from "./wal.js";

export interface RepairResult {
  /** Paths the damaged directories were renamed to; empty when the data dir was already repaired. */
  readonly movedAside: readonly string[];
  /** The hard state the fresh WAL starts with. */
  readonly hardState: HardState;
}

export interface RepairOptions {
  /** After each WAL segment read (the bulk of the work): segments done, of all there are. */
  readonly onProgress?: (segmentsDone: number, segmentsTotal: number) => void;
}

/** The directories a repair replaces, in the order they are swapped. */
const SWAPPED = ["wal", "snap"] as const;

/**
 * Moves `wal/` and `snap/` aside (to `wal.corrupt-<n>`, `snap.corrupt-<n>`) so the node starts with
 * an empty log and is restored by the leader. Everything that could contradict the cluster goes,
 * except term and vote: a node that forgot its vote could vote twice in one term and elect two
 * leaders. So every checksum-valid hard state record is read (resyncing past damage) and the
 * highest term with its vote is written to a fresh WAL, with commit 0 as the log is empty, marked
 * `recovering`: the core grants no votes until a leader has restored the log.
 * Residual risk: a vote whose only record lies inside the damaged bytes cannot be recovered.
 *
 * Crash-safe and idempotent: the new wal/ and snap/ are built and made durable beside the old ones,
 * and only then swapped in, so a crash leaves the old state or a complete new one waiting to be
 * swapped in (DiskStorage.open refuses to start until repair runs again and finishes the swap).
 * Running it again on an already repaired, unused data dir changes nothing.
 */
export async function repair(
  disk: Disk,
  dataDir: string,
  options: RepairOptions = {},
): Promise<RepairResult> {
  const unlock = await lockDataDir(disk, dataDir, "raftstack repair");
  try {
    return await repairLocked(disk, dataDir, options);
  } finally {
    await unlock();
  }
}

async function repairLocked(disk: Disk, dataDir: string, options: RepairOptions): Promise<RepairResult> {
  const names = await disk.list(dataDir);
  if (names.includes(REPAIR_BUILDING)) await removeBuilding(disk, dataDir);
  if (!names.includes(REPAIR_READY)) {
    const scan = await scanWal(disk, join(dataDir, "wal"), options.onProgress);
    const snapshots = await listSnapshots(disk, join(dataDir, "snap"));
    if (scan.pristineRepair && snapshots.length === 0) return { movedAside: [], hardState: scan.hardState };
    await build(disk, dataDir, { ...scan.hardState, recovering: true });
  }
  const movedAside = await swapIn(disk, dataDir);
  return { movedAside, hardState: (await scanWal(disk, join(dataDir, "wal"))).hardState };
}

/** Writes the new wal/ and snap/ under REPAIR_BUILDING, durably, then renames it to REPAIR_READY. */
async function build(disk: Disk, dataDir: string, hardState: HardState): Promise<void> {
  const building = join(dataDir, REPAIR_BUILDING);
  await disk.mkdirp(join(building, "wal"));
  await disk.mkdirp(join(building, "snap"));
  const file = await disk.openWrite(join(building, "wal", segmentName(1, 0)));
  try {
    await file.write(encodeBatch({ header: { index: 0, term: 0 }, entries: [], hardState }), 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await disk.syncDir(join(building, "wal"));
  await disk.syncDir(building);
  await disk.rename(building, join(dataDir, REPAIR_READY));
  await disk.syncDir(dataDir);
}

/**
 * Moves each old directory aside and its replacement from REPAIR_READY into place, then removes the
 * emptied REPAIR_READY. Resumable: a replacement no longer in REPAIR_READY was already moved in.
 */
async function swapIn(disk: Disk, dataDir: string): Promise<string[]> {
  const ready = join(dataDir, REPAIR_READY);
  const names = await disk.list(dataDir);
  let n = 1;
  while (names.includes(`wal.corrupt-${n}`) || names.includes(`snap.corrupt-${n}`)) n++;
  const movedAside: string[] = [];
  for (const dir of SWAPPED) {
    if (!(await disk.list(ready)).includes(dir)) continue;
    if (names.includes(dir)) {
      const aside = join(dataDir, `${dir}.corrupt-${n}`);
      await disk.rename(join(dataDir, dir), aside);
      await disk.syncDir(dataDir);
      movedAside.push(aside);
    }
    await disk.rename(join(ready, dir), join(dataDir, dir));
    await disk.syncDir(ready);
    await disk.syncDir(dataDir);
  }
  await disk.remove(ready);
  await disk.syncDir(dataDir);
  return movedAside;
}

/** Throws away an interrupted build (its wal/ and snap/ hold at most the one new segment). */
async function removeBuilding(disk: Disk, dataDir: string): Promise<void> {
  const building = join(dataDir, REPAIR_BUILDING);
  for (const name of await disk.list(building)) {
    const dir = join(building, name);
    for (const file of await disk.list(dir)) await disk.remove(join(dir, file));
    await disk.remove(dir);
  }
  await disk.remove(building);
  await disk.syncDir(dataDir);
}

interface WalScan {
  /** The highest term found, with its vote (a set vote wins a tie) and recovering flag; commit is 0. */
  readonly hardState: HardState;
  /** The WAL is exactly what repair writes (one undamaged segment at 0, only recovering hard states). */
  readonly pristineRepair: boolean;
}

/** Reads every checksum-valid record of every segment, resyncing past damage. */
async function scanWal(
  disk: Disk,
  walDir: string,
  onProgress?: RepairOptions["onProgress"],
): Promise<WalScan> {
  let best: HardState = { term: 0, vote: 0, commit: 0 };
  const segments = await listSegments(disk, walDir);
  let pristineRepair = segments.length === 1;
  for (const [done, name] of segments.entries()) {
    onProgress?.(done, segments.length);
    const buf = asBuffer(await disk.readFile(join(walDir, name)));
    let off = 0;
    while (off < buf.length) {
      const rec = readRecord(buf, off, RECORD_BYTES_MAX_DEFAULT);
      if (rec === undefined) {
        pristineRepair = false;
        off = findValidRecord(buf, off, RECORD_BYTES_MAX_DEFAULT);
        if (off < 0) break;
        continue;
      }
      try {
        if (rec.type === RecordType.hardState) {
          const hs = decodeHardState(buf, rec);
          if (hs.recovering !== true) pristineRepair = false;
          // Within one term a vote only goes from none to someone, so a set vote wins a tie.
          if (hs.term > best.term || (hs.term === best.term && hs.vote !== 0)) {
            best = { ...hs, commit: 0 };
          }
        } else if (rec.type === RecordType.entries) {
          pristineRepair = false;
          // The node was at least at the term of any entry it stored; its vote there is unknown.
          for (const e of decodeEntries(buf, rec)) {
            if (e.term > best.term) best = { term: e.term, vote: 0, commit: 0 };
          }
        } else if (rec.type === RecordType.header) {
          if (decodeHeader(buf, rec).index !== 0) pristineRepair = false;
        } else {
          pristineRepair = false;
        }
      } catch {
        // A checksum-valid record that does not parse carries nothing we can trust.
        pristineRepair = false;
      }
      off = rec.end;
    }
  }
  onProgress?.(segments.length, segments.length);
  return { hardState: best, pristineRepair: pristineRepair && best.recovering === true };
}
