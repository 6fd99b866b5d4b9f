import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DiskStorage, MemDisk, repair, StorageError } from "../../src/storage/index.js";
import { CONFIG, CrashAtDisk, DATA, ents, InjectedCrash, restart, seededRng } from "./helpers.js";

/** What repair must keep from the damaged WAL below: the highest term and its vote. */
const RECOVERED = { term: 4, vote: 2, commit: 0, recovering: true };

/** A data dir with a snapshot and a WAL damaged in the middle; its last hard state is term 4, vote 2. */
async function damagedDataDir(): Promise<{ disk: MemDisk; segment: string; damaged: Uint8Array }> {
  const disk = new MemDisk();
  const s = await DiskStorage.open(disk, DATA);
  await s.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: ents(1, 5, 1) });
  const segment = `${DATA}/wal/${s.walSegments()[0]}`;
  const middle = (await disk.readFile(segment)).length;
  await s.save({ entries: ents(6, 10, 1) });
  await s.save({ hardState: { term: 4, vote: 2, commit: 8 }, entries: ents(11, 12, 4) });
  await s.createSnapshot(8, CONFIG, new TextEncoder().encode("state@8"));
  await s.close();
  const damaged = (await disk.readFile(segment)).slice();
  damaged[middle + 35]! ^= 0x10;
  disk.setFile(segment, damaged);
  return { disk, segment, damaged };
}

/** What a restarted node would start from. */
async function startState(
  disk: MemDisk,
): Promise<{ hardState: object; lastIndex: number; snapshotIndex: number }> {
  const s = await restart(disk);
  try {
    return {
      hardState: s.initialState().hardState,
      lastIndex: s.lastIndex(),
      snapshotIndex: s.snapshot().meta.index,
    };
  } finally {
    await s.close();
  }
}

/** An empty log (the snapshots moved aside too) that keeps the recovered term and vote. */
const REPAIRED = { hardState: RECOVERED, lastIndex: 0, snapshotIndex: 0 };

describe("repair", { timeout: 120_000 }, () => {
  test("keeps term and vote, marks the node recovering, and keeps the damaged data aside", async () => {
    const { disk, segment, damaged } = await damagedDataDir();
    await assert.rejects(restart(disk), { code: "wal_corrupt" });
    const result = await repair(disk, DATA);
    assert.deepEqual(result, {
      movedAside: [`${DATA}/wal.corrupt-1`, `${DATA}/snap.corrupt-1`],
      hardState: RECOVERED,
    });
    assert.deepEqual(await startState(disk), REPAIRED);
    assert.deepEqual(await disk.readFile(segment.replace("/wal/", "/wal.corrupt-1/")), damaged);
    assert.ok(disk.paths().some((p) => p.startsWith(`${DATA}/snap.corrupt-1/snap-`)));
  });

  test("a crash at any step leaves the old state or the new one, and repair run again finishes", async () => {
    const { disk: base, segment, damaged } = await damagedDataDir();
    const counting = new CrashAtDisk(base.clone(), Number.POSITIVE_INFINITY);
    await repair(counting, DATA);
    const steps = counting.steps;
    assert.ok(steps >= 5, `repair takes ${steps} steps`);
    for (let crashAt = 0; crashAt < steps; crashAt++) {
      for (let seed = 1; seed <= 4; seed++) {
        const at = `crash at step ${crashAt} of ${steps}, seed ${seed}`;
        const mem = base.clone();
        await assert.rejects(repair(new CrashAtDisk(mem, crashAt), DATA), InjectedCrash, at);
        mem.crash(seededRng(seed * 1000 + crashAt));
        // Until repair has finished, the node either refuses to start or starts with the recovered
        // term and vote: never with a forgotten vote, which could let it vote twice in one term.
        try {
          const { term, vote } = (await startState(mem)).hardState as typeof RECOVERED;
          assert.deepEqual({ term, vote }, { term: RECOVERED.term, vote: RECOVERED.vote }, at);
        } catch (err) {
          if (!(err instanceof StorageError)) throw err;
          assert.ok(["wal_corrupt", "repair_incomplete"].includes(err.code), `${at}: ${err.message}`);
        }
        mem.killProcesses();
        // Forced: a crash after the last marker is gone leaves a finished repair, which is intact.
        assert.deepEqual((await repair(mem, DATA, { force: true })).hardState, RECOVERED, at);
        assert.deepEqual(await startState(mem), REPAIRED, at);
        const aside = mem.paths().filter((p) => p.startsWith(`${DATA}/wal.corrupt-`) && p.endsWith(".log"));
        assert.equal(aside.length, 1, `${at}: the damaged WAL is kept aside once (${aside})`);
        assert.deepEqual(await mem.readFile(aside[0]!), damaged, at);
        assert.equal(aside[0]!.split("/").at(-1), segment.split("/").at(-1));
        assert.ok(!mem.paths().some((p) => p.includes("/repair.")), `${at}: repair leaves nothing behind`);
      }
    }
  });

  test("running repair again on a repaired data dir is refused, and forced changes nothing", async () => {
    const { disk } = await damagedDataDir();
    await repair(disk, DATA);
    const tree = disk.paths();
    const walBytes = await Promise.all(tree.map((p) => disk.readFile(p)));
    await assert.rejects(repair(disk, DATA), { code: "repair_not_needed" });
    const again = await repair(disk, DATA, { force: true });
    assert.deepEqual(
      { ...again, overridden: again.overridden?.code },
      {
        movedAside: [],
        hardState: RECOVERED,
        overridden: "repair_not_needed",
      },
    );
    assert.deepEqual(disk.paths(), tree);
    assert.deepEqual(await Promise.all(tree.map((p) => disk.readFile(p))), walBytes);
  });

  test("refuses while the data dir is open, names the holder, and does nothing", async () => {
    const disk = new MemDisk();
    const s = await DiskStorage.open(disk, DATA, { lockReason: "raftstack node 2" });
    await s.save({ hardState: { term: 3, vote: 1, commit: 0 }, entries: ents(1, 2, 3) });
    const tree = disk.paths();
    await assert.rejects(repair(disk, DATA), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, "data_dir_locked");
      assert.match(e.message, /data dir \/data is in use by process \d+ \(raftstack node 2\)/);
      return true;
    });
    assert.deepEqual(disk.paths(), tree);
    await s.close();
    // Intact, so forced: the lock is what this test is about.
    assert.equal((await repair(disk, DATA, { force: true })).hardState.term, 3);
  });
});
