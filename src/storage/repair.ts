import { join } from "node:path";
import type { HardState } from "../raft/index.js";
import {
  decodeEntries,
  decodeHardState,
  encodeBatch,
  findValidRecord,
  RecordType,
  readRecord,
} from "./codec.js";
import type { Disk } from "./disk.js";
import { RECORD_BYTES_MAX_DEFAULT } from "./disk-storage.js";
import { asBuffer, listSegments, segmentName } from "./wal.js";

export interface RepairResult {
  /** Paths the damaged directories were renamed to. */
  readonly movedAside: readonly string[];
  /** The hard state the fresh WAL starts with. */
  readonly hardState: HardState;
}

/**
 * Moves `wal/` and `snap/` aside (to `wal.corrupt-<n>`, `snap.corrupt-<n>`) so the node starts with
 * an empty log and is restored by the leader. Everything that could contradict the cluster goes,
 * except term and vote: a node that forgot its vote could vote twice in one term and elect two
 * leaders. So every checksum-valid hard state record is read (resyncing past damage) and the
 * highest term with its vote is written to a fresh WAL, with commit 0 as the log is empty.
 * Residual risk: a vote whose only record lies inside the damaged bytes cannot be recovered.
 */
export async function repair(disk: Disk, dataDir: string): Promise<RepairResult> {
  const walDir = join(dataDir, "wal");
  let term = 0;
  let vote = 0;
  for (const name of await listSegments(disk, walDir)) {
    const buf = asBuffer(await disk.readFile(join(walDir, name)));
    let off = 0;
    while (off < buf.length) {
      const rec = readRecord(buf, off, RECORD_BYTES_MAX_DEFAULT);
      if (rec === undefined) {
        off = findValidRecord(buf, off, RECORD_BYTES_MAX_DEFAULT);
        if (off < 0) break;
        continue;
      }
      try {
        if (rec.type === RecordType.hardState) {
          const hs = decodeHardState(buf, rec);
          // Within one term a vote only goes from none to someone, so a set vote wins a tie.
          if (hs.term > term || (hs.term === term && hs.vote !== 0)) {
            term = hs.term;
            vote = hs.vote;
          }
        } else if (rec.type === RecordType.entries) {
          // The node was at least at the term of any entry it stored; its vote there is unknown.
          for (const e of decodeEntries(buf, rec)) {
            if (e.term > term) {
              term = e.term;
              vote = 0;
            }
          }
        }
      } catch {
        // A checksum-valid record that does not parse carries nothing we can trust.
      }
      off = rec.end;
    }
  }
  const names = await disk.list(dataDir);
  let n = 1;
  while (names.includes(`wal.corrupt-${n}`) || names.includes(`snap.corrupt-${n}`)) n++;
  const movedAside: string[] = [];
  for (const dir of ["wal", "snap"]) {
    if (!names.includes(dir)) continue;
    const to = join(dataDir, `${dir}.corrupt-${n}`);
    await disk.rename(join(dataDir, dir), to);
    movedAside.push(to);
  }
  await disk.syncDir(dataDir);
  const hardState: HardState = { term, vote, commit: 0 };
  await disk.mkdirp(walDir);
  await disk.mkdirp(join(dataDir, "snap"));
  const file = await disk.openWrite(join(walDir, segmentName(1, 0)));
  try {
    await file.write(encodeBatch({ header: { index: 0, term: 0 }, entries: [], hardState }), 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await disk.syncDir(walDir);
  return { movedAside, hardState };
}
