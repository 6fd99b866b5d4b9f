import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crc32c, DiskStorage, MemDisk, StorageCorruptionError } from "../../src/storage/index.js";
import { CONFIG, DATA, ents, FaultDisk, restart, seededRng, text } from "./helpers.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const snapPath = (index: number) => `${DATA}/snap/snap-${index.toString(16).padStart(16, "0")}.snap`;

function flipBit(disk: MemDisk, path: string, content: Uint8Array, offset: number): void {
  const damaged = content.slice();
  damaged[offset]! ^= 0x01;
  disk.setFile(path, damaged);
}

describe("DiskStorage snapshots", { timeout: 60_000 }, () => {
  test("createSnapshot persists meta, config and data; the newest two are kept", async () => {
    const disk = new MemDisk();
    const s = await DiskStorage.open(disk, DATA);
    await s.save({
      hardState: { term: 2, vote: 1, commit: 100 },
      entries: [...ents(1, 50, 1), ...ents(51, 100, 2)],
    });
    await s.createSnapshot(30, CONFIG, bytes("state@30"));
    await s.createSnapshot(60, CONFIG, bytes("state@60"));
    await s.createSnapshot(90, { voters: [1, 2], learners: [4] }, bytes("state@90"));
    assert.deepEqual(s.snapshot().meta, { index: 90, term: 2, config: { voters: [1, 2], learners: [4] } });
    assert.deepEqual(
      disk.paths().filter((p) => p.includes("/snap/")),
      [snapPath(60), snapPath(90)],
    );
    const r = await restart(disk, DATA);
    assert.deepEqual(r.snapshot().meta, s.snapshot().meta);
    assert.equal(str(r.snapshot().data), "state@90");
    assert.deepEqual(r.initialState().config, { voters: [1, 2], learners: [4] });
    assert.equal(r.lastIndex(), 100);
    assert.equal(r.firstIndex(), 1, "createSnapshot alone compacts nothing");
  });

  test("removed member ids survive a restart; a version 1 file (no removed list) still reads", async () => {
    const disk = new MemDisk();
    const s = await DiskStorage.open(disk, DATA);
    await s.save({ hardState: { term: 1, vote: 1, commit: 10 }, entries: ents(1, 10, 1) });
    await s.createSnapshot(10, { voters: [1, 2], learners: [], removed: [3] }, bytes("state@10"));
    const r = await restart(disk, DATA);
    assert.deepEqual(r.snapshot().meta.config, { voters: [1, 2], learners: [], removed: [3] });
    // Version 1: the same head without the removed list, re-checksummed.
    const v2 = await disk.readFile(snapPath(10));
    const removedListAt = 21 + (4 + 16) + 4;
    const v1 = new Uint8Array(v2.length - 12);
    v1.set(v2.subarray(0, removedListAt));
    v1.set(v2.subarray(removedListAt + 12), removedListAt);
    v1[4] = 1;
    new DataView(v1.buffer).setUint32(v1.length - 4, crc32c(v1.subarray(0, v1.length - 4)), true);
    disk.setFile(snapPath(10), v1);
    const old = await restart(disk, DATA);
    assert.deepEqual(old.snapshot().meta.config, { voters: [1, 2], learners: [] });
    assert.equal(str(old.snapshot().data), "state@10");
  });

  test("a crash between writing and renaming a snapshot leaves the old one in use", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const mem = new MemDisk();
      const disk = new FaultDisk(mem);
      const s = await DiskStorage.open(disk, DATA);
      await s.save({ entries: ents(1, 100, 1) });
      await s.createSnapshot(50, CONFIG, bytes("old"));
      disk.failOn = "rename"; // the process dies after the temp file is written and synced
      await assert.rejects(s.createSnapshot(80, CONFIG, bytes("new")), { code: "storage_failed" });
      mem.crash(seededRng(seed));
      const r = await DiskStorage.open(mem, DATA);
      assert.equal(r.snapshot().meta.index, 50);
      assert.equal(str(r.snapshot().data), "old");
      assert.deepEqual(
        mem.paths().filter((p) => p.includes("/snap/")),
        [snapPath(50)],
        "the temp file is cleaned up",
      );
    }
  });

  test("a crash after the rename but before the directory fsync keeps the old or the new snapshot", async () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 30; seed++) {
      const mem = new MemDisk();
      const disk = new FaultDisk(mem);
      const s = await DiskStorage.open(disk, DATA);
      await s.save({ entries: ents(1, 100, 1) });
      await s.createSnapshot(50, CONFIG, bytes("old"));
      disk.dirSyncs = false;
      await s.createSnapshot(80, CONFIG, bytes("new"));
      mem.crash(seededRng(seed));
      const r = await DiskStorage.open(mem, DATA);
      const index = r.snapshot().meta.index;
      assert.equal(str(r.snapshot().data), index === 80 ? "new" : "old");
      assert.equal(r.stats.snapshotFallback, false);
      seen.add(index);
    }
    assert.deepEqual([...seen].sort(), [50, 80]);
  });

  test("a snapshot file whose data was never synced is never used", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const mem = new MemDisk();
      const disk = new FaultDisk(mem);
      const s = await DiskStorage.open(disk, DATA);
      await s.save({ entries: ents(1, 100, 1) });
      await s.createSnapshot(50, CONFIG, bytes("old"));
      disk.syncs = false;
      await s.createSnapshot(80, CONFIG, bytes("new"));
      mem.crash(seededRng(seed));
      const r = await DiskStorage.open(mem, DATA);
      assert.equal(r.snapshot().meta.index, 50, `seed ${seed}`);
      assert.equal(str(r.snapshot().data), "old");
    }
  });

  test("a damaged newest snapshot falls back to the previous one while the WAL covers it", async () => {
    const disk = new MemDisk();
    const opts = { segmentBytesMax: 500, compactKeepEntries: 0 };
    const s = await DiskStorage.open(disk, DATA, opts);
    for (let i = 0; i < 10; i++) await s.save({ entries: ents(i * 20 + 1, i * 20 + 20, 1) });
    await s.createSnapshot(100, CONFIG, bytes("s100"));
    await s.createSnapshot(150, CONFIG, bytes("s150"));
    await s.compact(150);
    const content = await disk.readFile(snapPath(150));
    flipBit(disk, snapPath(150), content, content.length - 10);
    const warnings: string[] = [];
    const r = await restart(disk, DATA, {
      ...opts,
      logger: { info: () => {}, warn: (_f, msg) => warnings.push(msg) },
    });
    assert.equal(r.snapshot().meta.index, 100);
    assert.equal(str(r.snapshot().data), "s100");
    assert.ok(r.stats.snapshotFallback);
    assert.match(warnings[0] ?? "", /snapshot damaged \(checksum mismatch\)/);
    assert.ok(r.firstIndex() <= 101, `WAL covers the fallback (first ${r.firstIndex()})`);
    assert.equal(text(r.entries(101, 102, 1e9)[0]), "e101");
    assert.ok(disk.paths().includes(`${snapPath(150)}.corrupt`));
  });

  test("a damaged newest snapshot the WAL no longer covers is a corruption error", async () => {
    const disk = new MemDisk();
    const s = await DiskStorage.open(disk, DATA);
    await s.save({ entries: ents(1, 20, 1) });
    await s.createSnapshot(10, CONFIG, bytes("s10"));
    // InstallSnapshot from a leader: the log restarts after index 500.
    const installed = { meta: { index: 500, term: 3, config: CONFIG }, data: bytes("s500") };
    await s.save({
      hardState: { term: 3, vote: 0, commit: 500 },
      entries: ents(501, 502, 3),
      snapshot: installed,
    });
    assert.equal(s.firstIndex(), 501);
    assert.equal(s.term(500), 3);
    const ok = await restart(disk, DATA);
    assert.equal(ok.firstIndex(), 501);
    assert.equal(ok.lastIndex(), 502);
    assert.equal(str(ok.snapshot().data), "s500");

    const content = await disk.readFile(snapPath(500));
    flipBit(disk, snapPath(500), content, 3);
    await assert.rejects(restart(disk, DATA), (e: unknown) => {
      return e instanceof StorageCorruptionError && e.code === "snapshot_corrupt" && e.file === snapPath(500);
    });
  });

  test("a snapshot installed before a crash that lost its WAL marker wins over the stale log", async () => {
    const disk = new MemDisk();
    const s = await DiskStorage.open(disk, DATA);
    await s.save({ entries: ents(1, 20, 1) });
    // The snapshot file became durable; the crash came before the WAL marker was written.
    const elsewhere = await DiskStorage.open(disk, "/scratch");
    await elsewhere.save({ entries: ents(1, 300, 2) });
    await elsewhere.createSnapshot(300, CONFIG, bytes("s300"));
    disk.setFile(snapPath(300), await disk.readFile(snapPath(300).replace(DATA, "/scratch")));
    const r = await restart(disk, DATA);
    assert.equal(r.snapshot().meta.index, 300);
    assert.equal(r.firstIndex(), 301);
    assert.equal(r.lastIndex(), 300);
    await r.save({ entries: ents(301, 301, 2) });
    const again = await restart(disk, DATA);
    assert.equal(again.lastIndex(), 301, "the reset was made durable with a WAL marker");
  });

  test("compaction drops memory and deletes WAL segments below the older kept snapshot", async () => {
    const disk = new MemDisk();
    const opts = { segmentBytesMax: 1000, compactKeepEntries: 50 };
    const s = await DiskStorage.open(disk, DATA, opts);
    for (let i = 0; i < 50; i++) await s.save({ entries: ents(i * 20 + 1, i * 20 + 20, 1) });
    const before = s.walSegments().length;
    await s.createSnapshot(400, CONFIG, bytes("s400"));
    await s.createSnapshot(800, CONFIG, bytes("s800"));
    await s.compact(800);
    assert.equal(s.firstIndex(), 751, "keeps compactKeepEntries below the compaction point");
    assert.equal(s.term(750), 1);
    assert.throws(() => s.term(749), { name: "CompactedError" });
    const after = s.walSegments().length;
    assert.ok(after < before, `${before} -> ${after} segments`);
    const r = await restart(disk, DATA, opts);
    assert.equal(r.firstIndex(), 751, "as before the reopen");
    assert.equal(r.lastIndex(), 1000);
    assert.equal(r.term(r.firstIndex() - 1), 1);
    assert.equal(text(r.entries(r.firstIndex(), r.firstIndex() + 1, 1e9)[0]), `e${r.firstIndex()}`);
    assert.equal(r.snapshot().meta.index, 800);
  });

  test("a reopen keeps in memory only compactKeepEntries below the snapshot, not the whole WAL (sim seed 1208)", async () => {
    // One large segment is never deleted, so the WAL replays from index 1. Before the fix the reopened log
    // held it all, and a restarted leader sent a follower that had lost its log 1400 single-entry appends
    // instead of the snapshot it sent before its restart.
    const disk = new MemDisk();
    const opts = { segmentBytesMax: 1024 * 1024, compactKeepEntries: 16 };
    const s = await DiskStorage.open(disk, DATA, opts);
    await s.save({ hardState: { term: 1, vote: 1, commit: 150 }, entries: ents(1, 150, 1) });
    await s.createSnapshot(135, CONFIG, bytes("s135"));
    await s.compact(135);
    assert.equal(s.firstIndex(), 120);
    assert.equal(s.walSegments().length, 1, "the segment holding index 1 stays");
    const r = await restart(disk, DATA, opts);
    assert.equal(r.firstIndex(), 120, "as before the restart");
    assert.equal(r.term(119), 1);
    assert.throws(() => r.term(118), { name: "CompactedError" });
    assert.equal(r.lastIndex(), 150);
    assert.equal(text(r.entries(120, 151, 1e9)[30]), "e150");
    // A restart without a snapshot keeps the whole log.
    const fresh = new MemDisk();
    const t = await DiskStorage.open(fresh, DATA, opts);
    await t.save({ hardState: { term: 1, vote: 1, commit: 10 }, entries: ents(1, 40, 1) });
    assert.equal((await restart(fresh, DATA, opts)).firstIndex(), 1);
  });
});
