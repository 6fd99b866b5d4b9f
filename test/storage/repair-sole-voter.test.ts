// Which membership repair judges "the only voter" by: the one the node last applied (a config entry
// applies only once committed, and its commit index is on disk before it does), not merely the newest
// entry in its log; and whose data dir it is, from its node-id file.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ConfChangeOp, encodeConfigEntry } from "../../src/raft/confchange.js";
import type { ConfigState, Entry } from "../../src/raft/types.js";
import { DiskStorage, MemDisk, repair, StorageError } from "../../src/storage/index.js";
import { DATA, ents, restart } from "./helpers.js";

const ALONE_WITH_LEARNER: ConfigState = { voters: [1], learners: [2] };
const PROMOTED: ConfigState = { voters: [1, 2], learners: [] };

function configEntry(index: number, term: number, op: ConfChangeOp, id: number, config: ConfigState): Entry {
  return {
    index,
    term,
    kind: "config",
    data: encodeConfigEntry({ op, id, context: new Uint8Array(0) }, config),
  };
}

/**
 * Node `owner`'s data dir (node-id file) of a cluster with one voter, node 1, and learner 2: the learner's
 * addition at 1, writes 2..10 committed, then (when `promote` is given) node 2's promotion at 11,
 * with the commit index on disk `commitAfter`, and a snapshot at `snapshotAt` if given. The batch holding
 * 6..9 is damaged (a bit flipped).
 */
async function dataDir(
  owner: number,
  promote?: { readonly commitAfter: number },
  snapshotAt?: number,
): Promise<MemDisk> {
  const disk = new MemDisk();
  const s = await DiskStorage.open(disk, DATA, { nodeId: owner });
  await s.save({
    hardState: { term: 1, vote: 1, commit: 1 },
    entries: [configEntry(1, 1, "addLearner", 2, ALONE_WITH_LEARNER), ...ents(2, 5, 1)],
  });
  const segment = `${DATA}/wal/${s.walSegments()[0]}`;
  const middle = (await disk.readFile(segment)).length;
  await s.save({ entries: ents(6, 9, 1) });
  await s.save({ hardState: { term: 1, vote: 1, commit: 10 }, entries: ents(10, 10, 1) });
  if (promote !== undefined) {
    await s.save({ entries: [configEntry(11, 1, "promote", 2, PROMOTED)] });
    await s.save({ hardState: { term: 1, vote: 1, commit: promote.commitAfter }, entries: ents(12, 12, 1) });
  }
  if (snapshotAt !== undefined) {
    await s.createSnapshot(snapshotAt, ALONE_WITH_LEARNER, new TextEncoder().encode(`state@${snapshotAt}`));
  }
  await s.close();
  const damaged = (await disk.readFile(segment)).slice();
  damaged[middle + 35]! ^= 0x10;
  disk.setFile(segment, damaged);
  return disk;
}

async function refusedSoleVoter(disk: MemDisk, why: string): Promise<void> {
  await assert.rejects(repair(disk, DATA), (e: unknown) => {
    assert.ok(e instanceof StorageError, `${why}: not a StorageError: ${e}`);
    assert.equal(e.code, "repair_sole_voter", `${why}: ${e.message}`);
    return true;
  });
}

async function repaired(disk: MemDisk, why: string): Promise<void> {
  const result = await repair(disk, DATA);
  assert.deepEqual(result.movedAside.slice(0, 1), [`${DATA}/wal.corrupt-1`], why);
  const s = await restart(disk);
  assert.equal(s.lastIndex(), 0, why);
  await s.close();
}

describe("repair's sole-voter refusal", { timeout: 60_000 }, () => {
  test("a promotion in the log but never applied (commit below it) leaves node 1 the only voter", async () => {
    // Node 1 acknowledged 2..10 alone; learner 2 may lag (promoteLagEntriesMax) and need not hold them.
    await refusedSoleVoter(await dataDir(1, { commitAfter: 10 }), "promotion not applied");
    // The same with the learner's addition in a snapshot (at 10) older than the promotion.
    await refusedSoleVoter(await dataDir(1, { commitAfter: 10 }, 10), "snapshot, promotion not applied");
    // Control: without the promotion it is refused too.
    await refusedSoleVoter(await dataDir(1), "no promotion");
  });

  test("a promotion node 1 applied (commit at or above it): two voters, repaired without --force", async () => {
    await repaired(await dataDir(1, { commitAfter: 12 }), "promotion applied");
  });

  test("the learner's own data dir (its node-id file says 2) is repaired without --force", async () => {
    await repaired(await dataDir(2), "learner 2's data dir");
  });
});
