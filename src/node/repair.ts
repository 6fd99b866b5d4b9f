import { type Disk, DiskStorage, repair } from "../storage/index.js";

export interface RepairOutcome {
  /** Paths the damaged directories were renamed to. */
  readonly movedAside: readonly string[];
  /** The term the node restarts at, with an empty log and no vote. */
  readonly term: number;
}

/**
 * What `raftstack repair` does to a data dir (and what the simulator's repair fault runs): the storage's
 * repair, then one term higher. The leader still believes this node holds its old log (its match index
 * never goes back), so it would never resend it; one term higher, with no vote (always safe), makes the
 * node's first answer depose that leader, and the next one starts from match 0.
 */
export async function repairDataDir(disk: Disk, dataDir: string): Promise<RepairOutcome> {
  const result = await repair(disk, dataDir);
  const storage = await DiskStorage.open(disk, dataDir);
  const term = storage.initialState().hardState.term + 1;
  await storage.save({ hardState: { term, vote: 0, commit: 0 }, entries: [] });
  await storage.close();
  return { movedAside: result.movedAside, term };
}
