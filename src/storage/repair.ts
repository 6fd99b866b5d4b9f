import { join } from "node:path";
import {
  type ConfigState,
  decodeConfigEntry,
  type Entry,
  type HardState,
  type NodeId,
} from "../raft/index.js";
import {
  decodeEntries,
  decodeHardState,
  decodeHeader,
  decodeMarker,
  encodeBatch,
  findValidRecord,
  RecordType,
  readRecord,
} from "./codec.js";
import { lockDataDir, REPAIR_BUILDING, REPAIR_READY } from "./data-dir.js";
import type { Disk } from "./disk.js";
import { RECORD_BYTES_MAX_DEFAULT, readDataDir } from "./disk-storage.js";
import { StorageCorruptionError, StorageError } from "./errors.js";
import { readNodeIdFile } from "./node-id-file.js";
import { listSnapshots, readSnapshots } from "./snapfile.js";
import { asBuffer, listSegments, segmentName } from "./wal.js";

export type RepairRefusalCode = "repair_not_needed" | "repair_sole_voter";

/**
 * Repair declined to run: the data dir is intact (`repair_not_needed`: the node starts on it as it is),
 * or its last known membership has one voter (`repair_sole_voter`: no other member holds the writes
 * its log acknowledged). RepairOptions.force overrides both.
 */
export class RepairRefusedError extends StorageError {
  declare readonly code: RepairRefusalCode;
  constructor(code: RepairRefusalCode, message: string) {
    super(code, message);
    this.name = "RepairRefusedError";
  }
}

export interface RepairResult {
  /** Paths the damaged directories were renamed to; empty when the data dir was already repaired. */
  readonly movedAside: readonly string[];
  /** The hard state the fresh WAL starts with. */
  readonly hardState: HardState;
  /** The refusal RepairOptions.force overrode; absent when repair was needed and safe. */
  readonly overridden?: RepairRefusedError;
}

export interface RepairOptions {
  /** After each WAL segment read (the bulk of the work): segments done, of all there are. */
  readonly onProgress?: (segmentsDone: number, segmentsTotal: number) => void;
  /**
   * Repair even an intact data dir (the node then has its whole log rebuilt by the leader) or the only
   * voter's (its acknowledged writes are lost unless a backup holds them). Off: both are refused.
   */
  readonly force?: boolean;
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
 * Running it again (forced) on an already repaired, unused data dir changes nothing.
 *
 * Refuses (RepairRefusedError, before changing anything) unless `options.force`: a data dir the node
 * starts on as it is, and one whose last known membership has a single voter. A repair left
 * interrupted is finished without either check: it passed them, or was forced, when it began.
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
  const interrupted = names.includes(REPAIR_BUILDING) || names.includes(REPAIR_READY);
  let overridden: RepairRefusedError | undefined;
  const refuse = (refusal: RepairRefusedError | undefined) => {
    if (refusal !== undefined && options.force !== true) throw refusal;
    overridden ??= refusal;
  };
  if (!interrupted) refuse(await notNeeded(disk, dataDir));
  if (names.includes(REPAIR_BUILDING)) await removeBuilding(disk, dataDir);
  if (!names.includes(REPAIR_READY)) {
    const scan = await scanWal(disk, join(dataDir, "wal"), options.onProgress);
    if (!interrupted) refuse(await soleVoter(disk, dataDir, scan, await readNodeIdFile(disk, dataDir)));
    const snapshots = await listSnapshots(disk, join(dataDir, "snap"));
    if (scan.pristineRepair && snapshots.length === 0) {
      return { movedAside: [], hardState: scan.hardState, ...(overridden && { overridden }) };
    }
    await build(disk, dataDir, { ...scan.hardState, recovering: true });
  }
  const movedAside = await swapIn(disk, dataDir);
  const { hardState } = await scanWal(disk, join(dataDir, "wal"));
  return { movedAside, hardState, ...(overridden && { overridden }) };
}

/**
 * Why repair must not run on `dataDir` unless forced, or undefined when it is needed and safe; reads
 * only. `nodeId`: whose data dir it is, when the caller knows (else its node-id file says; without
 * either, a membership with a single voter is taken to be that voter's). A starting node that refused
 * its data dir asks this to advise.
 */
export async function repairRefusal(
  disk: Disk,
  dataDir: string,
  nodeId?: NodeId,
): Promise<RepairRefusedError | undefined> {
  const names = await disk.list(dataDir);
  if (names.includes(REPAIR_BUILDING) || names.includes(REPAIR_READY)) return undefined;
  return (
    (await notNeeded(disk, dataDir)) ??
    soleVoter(
      disk,
      dataDir,
      await scanWal(disk, join(dataDir, "wal")),
      nodeId ?? (await readNodeIdFile(disk, dataDir)),
    )
  );
}

/** Refused when the node would start on `dataDir` as it is (readDataDir, start-up's own reading, succeeds). */
async function notNeeded(disk: Disk, dataDir: string): Promise<RepairRefusedError | undefined> {
  let read: Awaited<ReturnType<typeof readDataDir>>;
  try {
    read = await readDataDir(disk, dataDir);
  } catch (err) {
    if (err instanceof StorageCorruptionError) return undefined;
    throw err;
  }
  const { replay, segments } = read.wal;
  const what =
    segments.length === 0
      ? "it holds no WAL yet"
      : replay.hardState.recovering === true && replay.entriesReplayed === 0 && read.newest === undefined
        ? "it was repaired already and holds no log since"
        : `its WAL reads cleanly to the end (${segments.length} segment(s), last index ${read.log.lastIndex()})`;
  const notes = [
    ...(replay.tailBytesTruncated > 0
      ? [`a torn last record of ${replay.tailBytesTruncated} bytes, which the node cuts off at start`]
      : []),
    ...(read.damaged.length > 0
      ? ["a damaged snapshot, which the node sets aside for the previous one"]
      : []),
  ];
  return new RepairRefusedError(
    "repair_not_needed",
    `nothing is damaged in ${dataDir}: ${what}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}, and the ` +
      `node starts on it as it is. Repair would only throw its log away. To have the leader rebuild it ` +
      `anyway (a node that stopped because its data dir lost entries it had acknowledged), run: ` +
      `raftstack repair --force --data-dir ${dataDir}`,
  );
}

/**
 * Refused when a membership `dataDir` records from the one the node last applied on has one voter, this
 * node: no other member holds the writes it acknowledged. The one last applied is its newest config
 * entry at or below its commit index (a config entry applies only once committed, with the commit index
 * on disk first), or its newest snapshot's when that is newer; config entries above it never applied
 * here, and count too (a removal leaving this node alone may have committed elsewhere). A data dir that
 * records none (no snapshot, no readable config entry) cannot tell, and is not refused.
 */
async function soleVoter(
  disk: Disk,
  dataDir: string,
  scan: Pick<WalScan, "configEntries" | "commit">,
  nodeId?: NodeId,
): Promise<RepairRefusedError | undefined> {
  const snapshot = (await readSnapshots(disk, join(dataDir, "snap"))).newest;
  const after = snapshot?.meta.index ?? 0;
  const newer = scan.configEntries.filter((c) => c.index > after);
  const applied = newer.filter((c) => c.index <= scan.commit).at(-1);
  const memberships = [
    ...(applied === undefined && snapshot !== undefined
      ? [{ config: snapshot.meta.config, from: `its snapshot at index ${snapshot.meta.index}` }]
      : []),
    ...newer
      .filter((c) => c.index >= (applied?.index ?? 0))
      .map((c) => ({ config: c.config, from: `its config entry at index ${c.index}` })),
  ];
  const alone = (voters: readonly NodeId[]) =>
    voters.length === 1 && (nodeId === undefined || voters[0] === nodeId);
  const last = memberships.find((m) => alone(m.config.voters));
  const only = last?.config.voters[0];
  if (last === undefined || only === undefined) return undefined;
  const whose = nodeId === undefined ? `, or ${dataDir} is a learner's` : "";
  return new RepairRefusedError(
    "repair_sole_voter",
    `node ${only} is the only voter in a membership ${dataDir} records (${last.from}): no other ` +
      `member holds the writes it acknowledged, so repair would lose them (its log is kept aside, but ` +
      `nothing replays it), and a lone voter that lost its log never leads again. Restore a backup ` +
      `(raftstack snapshot restore), or start the node on an empty data dir to accept the loss. If other ` +
      `members do hold its log (the cluster grew after what ${dataDir} records${whose}), run: ` +
      `raftstack repair --force --data-dir ${dataDir}`,
  );
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

/** A config entry's index and the membership it results in. */
interface ConfigEntryPoint {
  readonly index: number;
  readonly config: ConfigState;
}

interface WalScan {
  /** The highest term found, with its vote (a set vote wins a tie) and recovering flag; commit is 0. */
  readonly hardState: HardState;
  /** The config entries still in the log as the readable records leave it (later ones overwrite), oldest first. */
  readonly configEntries: readonly ConfigEntryPoint[];
  /** The highest commit index a readable hard state records. */
  readonly commit: number;
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
  let commit = 0;
  let configs: ConfigEntryPoint[] = [];
  /** Entries replace the log from their first index on; a snapshot marker resets it above its point. */
  const truncate = (after: number) => {
    configs = configs.filter((c) => c.index <= after);
  };
  const configsOf = (ents: readonly Entry[]) => {
    for (const e of ents) {
      const config = e.kind === "config" ? decodeConfigEntry(e.data).config : undefined;
      if (config !== undefined) configs.push({ index: e.index, config });
    }
  };
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
          commit = Math.max(commit, hs.commit);
          // Within one term a vote only goes from none to someone, so a set vote wins a tie.
          if (hs.term > best.term || (hs.term === best.term && hs.vote !== 0)) {
            best = { ...hs, commit: 0 };
          }
        } else if (rec.type === RecordType.entries) {
          pristineRepair = false;
          const ents = decodeEntries(buf, rec);
          // The node was at least at the term of any entry it stored; its vote there is unknown.
          for (const e of ents) {
            if (e.term > best.term) best = { term: e.term, vote: 0, commit: 0 };
          }
          truncate((ents[0]?.index ?? Number.POSITIVE_INFINITY) - 1);
          configsOf(ents);
        } else if (rec.type === RecordType.header) {
          if (decodeHeader(buf, rec).index !== 0) pristineRepair = false;
        } else {
          pristineRepair = false;
          if (rec.type === RecordType.snapshotMarker) truncate(decodeMarker(buf, rec).index);
        }
      } catch {
        // A checksum-valid record that does not parse carries nothing we can trust.
        pristineRepair = false;
      }
      off = rec.end;
    }
  }
  onProgress?.(segments.length, segments.length);
  return {
    hardState: best,
    configEntries: configs,
    commit,
    pristineRepair: pristineRepair && best.recovering === true,
  };
}
