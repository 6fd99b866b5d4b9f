// repair refuses what it cannot make better: an intact data dir, and the only voter's log (no other
// member holds its acknowledged writes). --force (RepairOptions.force) overrides both.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeConfigEntry } from "../../src/raft/confchange.js";
import type { ConfigState, Entry } from "../../src/raft/types.js";
import { DiskStorage, MemDisk, type RepairOptions, repair, StorageError } from "../../src/storage/index.js";
import { CONFIG, CrashAtDisk, DATA, ents, InjectedCrash, restart } from "./helpers.js";

const SOLE: ConfigState = { voters: [1], learners: [] };
const FORCE = { force: true } as RepairOptions;

/** A config entry (node 1 publishing its addresses) whose resulting membership is `config`. */
function configEntry(index: number, term: number, config: ConfigState): Entry {
  const cc = { op: "update" as const, id: 1, context: new Uint8Array(0) };
  return { index, term, kind: "config", data: encodeConfigEntry(cc, config) };
}

interface Layout {
  /** Membership in a config entry at index 1 (none: no config entry). */
  readonly logConfig?: ConfigState;
  /** A snapshot at index 8 with this membership (none: no snapshot). */
  readonly snapConfig?: ConfigState;
  /** Flip a bit inside the second batch's first entry (only the checksum can tell). */
  readonly damage: boolean;
}

/** A data dir with entries 1..12 in three batches, shaped by `layout`. */
async function dataDir(layout: Layout): Promise<MemDisk> {
  const disk = new MemDisk();
  const s = await DiskStorage.open(disk, DATA);
  const first =
    layout.logConfig === undefined ? ents(1, 5, 1) : [configEntry(1, 1, layout.logConfig), ...ents(2, 5, 1)];
  await s.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: first });
  const segment = `${DATA}/wal/${s.walSegments()[0]}`;
  const middle = (await disk.readFile(segment)).length;
  await s.save({ entries: ents(6, 10, 1) });
  await s.save({ hardState: { term: 4, vote: 1, commit: 8 }, entries: ents(11, 12, 4) });
  if (layout.snapConfig !== undefined) {
    await s.createSnapshot(8, layout.snapConfig, new TextEncoder().encode("state@8"));
  }
  await s.close();
  if (layout.damage) {
    const damaged = (await disk.readFile(segment)).slice();
    damaged[middle + 35]! ^= 0x10;
    disk.setFile(segment, damaged);
  }
  return disk;
}

/** Every path with its bytes: a refused repair must leave exactly this. */
async function tree(disk: MemDisk): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of disk.paths()) out.set(p, Buffer.from(await disk.readFile(p)).toString("hex"));
  return out;
}

async function refused(disk: MemDisk, code: string, message: RegExp): Promise<void> {
  const before = await tree(disk);
  await assert.rejects(repair(disk, DATA), (e: unknown) => {
    assert.ok(e instanceof StorageError, `not a StorageError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    assert.match(e.message, /--force/, "the refusal names the override");
    return true;
  });
  assert.deepEqual(await tree(disk), before, "a refused repair changes nothing");
}

describe("repair refuses the dangerous cases unless forced", { timeout: 60_000 }, () => {
  test("an intact data dir (3 voters): repair_not_needed, nothing changed", async () => {
    const disk = await dataDir({ logConfig: CONFIG, snapConfig: CONFIG, damage: false });
    await refused(disk, "repair_not_needed", /nothing is damaged/);
    const s = await restart(disk);
    assert.equal(s.lastIndex(), 12, "the node still starts with its whole log");
    await s.close();
  });

  test("an empty WAL, a missing WAL and a data dir already repaired are intact too", async () => {
    const empty = new MemDisk();
    await (await DiskStorage.open(empty, DATA)).close();
    await refused(empty, "repair_not_needed", /nothing is damaged/);

    const missing = new MemDisk();
    await missing.mkdirp(DATA);
    await refused(missing, "repair_not_needed", /nothing is damaged/);

    const repaired = await dataDir({ logConfig: CONFIG, damage: true });
    await repair(repaired, DATA);
    await refused(repaired, "repair_not_needed", /nothing is damaged/);
  });

  test("the only voter (from its log's config entry or its snapshot): repair_sole_voter, nothing changed", async () => {
    await refused(await dataDir({ logConfig: SOLE, damage: true }), "repair_sole_voter", /only voter/);
    await refused(await dataDir({ snapConfig: SOLE, damage: true }), "repair_sole_voter", /only voter/);
    // The snapshot is newer than the config entry: its membership (one voter) is the last known.
    await refused(
      await dataDir({ logConfig: CONFIG, snapConfig: SOLE, damage: true }),
      "repair_sole_voter",
      /only voter/,
    );
  });

  test("a damaged data dir whose last known membership has 3 voters is repaired without --force", async () => {
    for (const layout of [
      { logConfig: CONFIG, damage: true },
      { snapConfig: CONFIG, damage: true },
      // Started alone and grown: the snapshot's membership (3 voters) is newer than the config entry's.
      { logConfig: SOLE, snapConfig: CONFIG, damage: true },
      // Nothing in the data dir says who the voters are (no snapshot, no config entry): it cannot refuse.
      { damage: true },
    ]) {
      const disk = await dataDir(layout);
      const result = await repair(disk, DATA);
      assert.deepEqual(result.movedAside.slice(0, 1), [`${DATA}/wal.corrupt-1`], JSON.stringify(layout));
      const s = await restart(disk);
      assert.equal(s.lastIndex(), 0);
      assert.equal(s.initialState().hardState.recovering, true);
      await s.close();
    }
  });

  test("--force overrides both refusals and says what it overrode", async () => {
    const intact = await dataDir({ logConfig: CONFIG, damage: false });
    const forced = await repair(intact, DATA, FORCE);
    assert.deepEqual(forced.movedAside, [`${DATA}/wal.corrupt-1`, `${DATA}/snap.corrupt-1`]);
    assert.equal((forced as { overridden?: StorageError }).overridden?.code, "repair_not_needed");
    const sole = await dataDir({ logConfig: SOLE, damage: true });
    const lost = await repair(sole, DATA, FORCE);
    assert.deepEqual(lost.movedAside, [`${DATA}/wal.corrupt-1`, `${DATA}/snap.corrupt-1`]);
    assert.equal((lost as { overridden?: StorageError }).overridden?.code, "repair_sole_voter");
    const s = await restart(sole);
    assert.equal(s.lastIndex(), 0);
    await s.close();
  });

  test("an interrupted repair is finished without --force (the node refuses to start until it is)", async () => {
    const base = await dataDir({ logConfig: SOLE, damage: false });
    const counting = new CrashAtDisk(base.clone(), Number.POSITIVE_INFINITY);
    await repair(counting, DATA, FORCE);
    let interrupted = 0;
    for (let crashAt = 0; crashAt < counting.steps; crashAt++) {
      const mem = base.clone();
      await assert.rejects(repair(new CrashAtDisk(mem, crashAt), DATA, FORCE), InjectedCrash);
      mem.killProcesses();
      if (!(await mem.list(DATA)).some((name) => name.startsWith("repair."))) continue;
      interrupted++;
      await assert.rejects(restart(mem), { code: "repair_incomplete" });
      mem.killProcesses();
      await repair(mem, DATA);
      const s = await restart(mem);
      assert.equal(s.lastIndex(), 0, `crash at step ${crashAt}`);
      await s.close();
    }
    assert.ok(interrupted >= 3, `${interrupted} crash points leave a repair to finish`);
  });
});
