import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeBatch, RECORD_HEADER_BYTES, readRecord } from "../../src/storage/codec.js";
import {
  DiskStorage,
  type DiskStorageOptions,
  MemDisk,
  repair,
  StorageCorruptionError,
} from "../../src/storage/index.js";
import { CONFIG, DATA, ent, ents, FaultDisk, restart, seededRng, text } from "./helpers.js";

async function fresh(options: DiskStorageOptions = {}): Promise<{ disk: MemDisk; s: DiskStorage }> {
  const disk = new MemDisk();
  return { disk, s: await DiskStorage.open(disk, DATA, options) };
}

async function reopen(disk: MemDisk, options: DiskStorageOptions = {}): Promise<DiskStorage> {
  return restart(disk, DATA, options);
}

function all(s: DiskStorage): string[] {
  return s
    .entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
    .map((e) => `${e.term}:${text(e)}`);
}

/** Size of the single WAL segment, to locate batch boundaries. */
async function segment(disk: MemDisk, s: DiskStorage): Promise<{ path: string; bytes: Uint8Array }> {
  const names = s.walSegments();
  const path = `${DATA}/wal/${names.at(-1)}`;
  return { path, bytes: await disk.readFile(path) };
}

describe("DiskStorage WAL", { timeout: 60_000 }, () => {
  test("round trip: entries, hard state and stats survive a reopen", async () => {
    const { disk, s } = await fresh();
    await s.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: ents(1, 10, 1) });
    await s.save({ hardState: { term: 1, vote: 1, commit: 10 }, entries: ents(11, 20, 1) });
    await s.close();
    const r = await reopen(disk);
    assert.deepEqual(r.initialState().hardState, { term: 1, vote: 1, commit: 10 });
    assert.equal(r.firstIndex(), 1);
    assert.equal(r.lastIndex(), 20);
    assert.equal(r.term(0), 0);
    assert.equal(r.term(20), 1);
    assert.deepEqual(all(r), all(s));
    assert.equal(r.stats.entriesReplayed, 20);
    assert.equal(r.stats.tailBytesTruncated, 0);
    const kinds = await DiskStorage.open(disk, "/other");
    await kinds.save({ entries: [ent(1, 1, "", "noop"), ent(2, 1, "c", "config")] });
    const k2 = await restart(disk, "/other");
    assert.deepEqual(
      k2.entries(1, 3, 1e9).map((e) => e.kind),
      ["noop", "config"],
    );
  });

  test("the recovering flag survives reopens and segment rotation, and clears", async () => {
    const opts = { segmentBytesMax: 300, compactKeepEntries: 0 };
    const { disk, s } = await fresh(opts);
    await s.save({ hardState: { term: 2, vote: 1, commit: 0, recovering: true }, entries: [] });
    for (let i = 1; i <= 12; i++) await s.save({ entries: ents(i, i, 2, () => "x".repeat(60)) });
    await s.createSnapshot(4, CONFIG, new Uint8Array(1));
    await s.createSnapshot(8, CONFIG, new Uint8Array(1));
    const first = s.walSegments()[0];
    await s.compact(8);
    assert.ok(!s.walSegments().includes(first!), "the segment with the flagged record is gone");
    let r = await reopen(disk, opts);
    assert.deepEqual(r.initialState().hardState, { term: 2, vote: 1, commit: 8, recovering: true });
    await r.save({ hardState: { term: 2, vote: 1, commit: 12 }, entries: [] });
    r = await reopen(disk, opts);
    assert.deepEqual(r.initialState().hardState, { term: 2, vote: 1, commit: 12 });
  });

  test("a hard state record without the flag is byte for byte the older 24-byte format", () => {
    const plain = encodeBatch({ entries: [], hardState: { term: 7, vote: 3, commit: 9 } });
    assert.equal(plain.length, RECORD_HEADER_BYTES + 24);
    assert.deepEqual(
      encodeBatch({ entries: [], hardState: { term: 7, vote: 3, commit: 9, recovering: false } }),
      plain,
    );
    const flagged = encodeBatch({
      entries: [],
      hardState: { term: 7, vote: 3, commit: 9, recovering: true },
    });
    assert.equal(flagged.length, RECORD_HEADER_BYTES + 25);
    assert.deepEqual(
      flagged.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + 24),
      plain.subarray(RECORD_HEADER_BYTES),
    );
  });

  test("entries(lo, hi, bytesMax) returns at least one entry and stops before bytesMax", async () => {
    const { s } = await fresh();
    await s.save({ entries: ents(1, 10, 1, () => "x".repeat(100)) }); // 100 data bytes each (the limit counts data)
    assert.equal(s.entries(1, 11, 0).length, 1);
    assert.equal(s.entries(1, 11, 350).length, 3);
    assert.equal(s.entries(3, 5, 1e9).length, 2);
  });

  test("a torn last record, cut at every byte offset, recovers to the previous batches", async () => {
    const { disk, s } = await fresh();
    await s.save({ hardState: { term: 1, vote: 2, commit: 0 }, entries: ents(1, 5, 1) });
    const after1 = (await segment(disk, s)).bytes.length;
    await s.save({ hardState: { term: 2, vote: 3, commit: 5 }, entries: ents(6, 8, 2) });
    const { path, bytes } = await segment(disk, s);
    // The second batch is [entries record][hard state record (9 + 24 bytes)].
    const entriesEnd = bytes.length - 33;
    for (let cut = after1; cut < bytes.length; cut++) {
      const copy = disk.clone();
      copy.setFile(path, bytes.subarray(0, cut));
      const r = await reopen(copy);
      const entriesKept = cut >= entriesEnd;
      assert.equal(r.lastIndex(), entriesKept ? 8 : 5, `cut ${cut}`);
      assert.deepEqual(r.initialState().hardState, { term: 1, vote: 2, commit: 0 }, `cut ${cut}`);
      assert.equal(r.stats.tailBytesTruncated, cut - (entriesKept ? entriesEnd : after1));
      // The node appends after the cut, and that survives another reopen.
      await r.save({ entries: [ent(r.lastIndex() + 1, 3, "next")] });
      const again = await reopen(copy);
      assert.equal(text(again.entries(again.lastIndex(), again.lastIndex() + 1, 1e9)[0]), "next");
      assert.equal(again.stats.tailBytesTruncated, 0);
    }
  });

  test("a flipped bit in a middle record is refused with the file, offset and repair command", async () => {
    const { disk, s } = await fresh();
    await s.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: ents(1, 5, 1) });
    const middle = (await segment(disk, s)).bytes.length;
    await s.save({ entries: ents(6, 10, 1) });
    await s.save({ hardState: { term: 4, vote: 2, commit: 3 }, entries: ents(11, 12, 4) });
    const { path, bytes } = await segment(disk, s);
    const damaged = bytes.slice();
    damaged[middle + 35]! ^= 0x10; // inside the first entry's data: only the checksum can tell
    disk.setFile(path, damaged);
    const err = await reopen(disk).then(
      () => assert.fail("opened a corrupt WAL"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StorageCorruptionError);
    assert.equal(err.code, "wal_corrupt");
    assert.equal(err.file, path);
    assert.equal(err.offset, middle);
    assert.match(err.message, /raftstack repair --data-dir \/data/);
    assert.match(err.message, new RegExp(`at byte ${middle}`));

    // repair: the node starts empty but keeps term and vote (read past the damage).
    const result = await repair(disk, DATA);
    assert.deepEqual(result.movedAside, [`${DATA}/wal.corrupt-1`, `${DATA}/snap.corrupt-1`]);
    const r = await reopen(disk);
    assert.deepEqual(r.initialState().hardState, { term: 4, vote: 2, commit: 0, recovering: true });
    assert.equal(r.lastIndex(), 0);
    assert.ok(disk.paths().some((p) => p.startsWith(`${DATA}/wal.corrupt-1/wal-`)));
    // Once the repaired node has written to its log, a second repair picks the next free name.
    await r.save({ hardState: { term: 5, vote: 0, commit: 0 }, entries: ents(1, 1, 5) });
    disk.killProcesses();
    // That log reads cleanly: repair needs --force (as after the node lost acknowledged entries).
    const again = await repair(disk, DATA, { force: true });
    assert.deepEqual(again.movedAside, [`${DATA}/wal.corrupt-2`, `${DATA}/snap.corrupt-2`]);
    assert.deepEqual(again.hardState, { term: 5, vote: 0, commit: 0, recovering: true });
  });

  test("damage at the end of a non-last segment is corruption, not a torn tail", async () => {
    const { disk, s } = await fresh({ segmentBytesMax: 200 });
    for (let i = 1; i <= 20; i++) await s.save({ entries: [ent(i, 1, "x".repeat(40))] });
    const names = s.walSegments();
    assert.ok(names.length >= 3);
    const path = `${DATA}/wal/${names[0]}`;
    const bytes = await disk.readFile(path);
    disk.setFile(path, bytes.subarray(0, bytes.length - 1));
    await assert.rejects(reopen(disk, { segmentBytesMax: 200 }), (e: unknown) => {
      return e instanceof StorageCorruptionError && e.file === path && e.code === "wal_corrupt";
    });
  });

  test("segments rotate at segmentBytesMax and replay across segments", async () => {
    const opts = { segmentBytesMax: 1024 };
    const { disk, s } = await fresh(opts);
    for (let b = 0; b < 100; b++) {
      await s.save({
        hardState: { term: 1, vote: 1, commit: b * 10 },
        entries: ents(b * 10 + 1, b * 10 + 10, 1),
      });
    }
    assert.ok(s.walSegments().length >= 15, `${s.walSegments().length} segments`);
    const r = await reopen(disk, opts);
    assert.equal(r.lastIndex(), 1000);
    assert.deepEqual(all(r), all(s));
    assert.equal(r.initialState().hardState.commit, 990);
    assert.equal(r.stats.segmentsReplayed, s.walSegments().length);
  });

  test("a later entries record overrides the suffix, within and across segments and reopens", async () => {
    const opts = { segmentBytesMax: 300 };
    const { disk, s } = await fresh(opts);
    await s.save({ entries: ents(1, 10, 1) });
    await s.save({ entries: ents(6, 8, 2) });
    assert.equal(s.lastIndex(), 8);
    let r = await reopen(disk, opts);
    assert.equal(r.lastIndex(), 8);
    assert.equal(r.term(5), 1);
    assert.equal(r.term(6), 2);
    await r.save({ entries: ents(9, 12, 2) });
    await r.save({ entries: ents(4, 4, 3) }); // rotates first: the override lives in a later segment
    assert.ok(r.walSegments().length >= 2);
    r = await reopen(disk, opts);
    assert.deepEqual(all(r), ["1:e1", "1:e2", "1:e3", "3:e4"]);
    await assert.rejects(
      r.save({ entries: ents(7, 7, 3) }),
      /append at 7 outside/,
      "a gap is an invariant violation",
    );
  });

  test("an overwrite's segment replays after compaction removed the segments before an older stale one (sim seed 70)", async () => {
    const opts = { segmentBytesMax: 150, compactKeepEntries: 0 };
    const { disk, s } = await fresh(opts);
    await s.save({ entries: ents(1, 10, 1) });
    await s.save({ entries: ents(11, 20, 1) }); // rotates: a segment at 10 holding 11..20
    const staleSegment = s.walSegments().at(-1);
    await s.save({ entries: ents(6, 6, 2) }); // overwrites below that segment's start: a new one at 5
    await s.save({ entries: ents(7, 30, 2) });
    await s.createSnapshot(12, CONFIG, new TextEncoder().encode("state@12"));
    await s.createSnapshot(16, CONFIG, new TextEncoder().encode("state@16"));
    // Bound 12 (the older kept snapshot): the first segment (up to 10) goes, the stale one (up to 20) stays
    // and now leads the replay.
    await s.compact(16);
    assert.equal(s.walSegments()[0], staleSegment);
    const r = await reopen(disk, opts);
    assert.deepEqual(
      r.entries(17, 31, 1e9).map((e) => `${e.term}:${text(e)}`),
      ents(17, 30, 2).map((e) => `2:${text(e)}`),
    );
    assert.equal(r.term(16), 2);
  });

  test("an overwrite whose entries were lost in a crash after its segment's header: later entries in that segment still replay once older segments are gone", async () => {
    const opts = { segmentBytesMax: 150, compactKeepEntries: 0 };
    const { disk, s } = await fresh(opts);
    await s.save({ hardState: { term: 2, vote: 1, commit: 0 }, entries: ents(1, 10, 1) });
    await s.save({ entries: ents(11, 20, 1) }); // rotates: a segment at 10 holding 11..20
    // An overwrite at 6 (a leader of term 2) starts a segment with header 5; the process dies after the
    // header is durable, before its entries are.
    await s.save({ entries: ents(6, 6, 2) });
    const overwriteSegment = `${DATA}/wal/${s.walSegments().at(-1)}`;
    const bytes = await disk.readFile(overwriteSegment);
    const header = readRecord(bytes, 0, 1 << 20);
    assert.ok(header !== undefined && header.end < bytes.length);
    await s.close();
    const file = await disk.openWrite(overwriteSegment);
    await file.truncate(header.end);
    await file.sync();
    await file.close();
    // The overwrite was never acknowledged: the log is 1..20 of term 1, and it goes on from there (a leader
    // of term 3 holding the same entries) in the active segment, whose header says 5.
    let r = await reopen(disk, opts);
    assert.equal(r.lastIndex(), 20);
    await r.save({ hardState: { term: 3, vote: 1, commit: 24 }, entries: ents(21, 24, 3) });
    await r.createSnapshot(21, CONFIG, new TextEncoder().encode("state@21"));
    await r.createSnapshot(22, CONFIG, new TextEncoder().encode("state@22"));
    await r.compact(22); // bound 21: every segment before the active one goes
    assert.equal(r.walSegments().length, 1);
    await r.close();
    r = await reopen(disk, opts);
    assert.deepEqual(
      r.entries(23, 25, 1e9).map((e) => `${e.term}:${text(e)}`),
      ["3:e23", "3:e24"],
    );
  });

  test("a crash during a save (torn write, maybe mid-rotation) recovers every acknowledged batch", async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = seededRng(seed);
      const mem = new MemDisk();
      const disk = new FaultDisk(mem);
      const opts = { segmentBytesMax: 400 };
      const s = await DiskStorage.open(disk, DATA, opts);
      const acked = rng(25);
      let term = 1;
      for (let i = 1; i <= acked + 1; i++) {
        // The last save is the one in flight at the crash: its bytes reach only the page cache.
        if (i === acked + 1) disk.syncs = false;
        if (rng(4) === 0) term++;
        await s.save({ hardState: { term, vote: 1, commit: 0 }, entries: [ent(i, term, `v${i}`)] });
      }
      mem.crash(rng);
      const r = await DiskStorage.open(mem, DATA, opts);
      assert.ok(
        r.lastIndex() === acked || r.lastIndex() === acked + 1,
        `seed ${seed}: last ${r.lastIndex()}`,
      );
      for (const e of r.entries(1, r.lastIndex() + 1, 1e9)) assert.equal(text(e), `v${e.index}`);
      if (acked > 0) assert.ok(r.initialState().hardState.term >= r.term(acked), `seed ${seed}`);
    }
  });

  test("a failed fsync poisons the storage instead of retrying", async () => {
    const disk = new FaultDisk(new MemDisk());
    const s = await DiskStorage.open(disk, DATA);
    await s.save({ entries: ents(1, 3, 1) });
    disk.failOn = "sync";
    await assert.rejects(s.save({ entries: ents(4, 4, 1) }), { code: "storage_failed" });
    disk.failOn = undefined;
    await assert.rejects(s.save({ entries: ents(4, 4, 1) }), { code: "storage_failed" });
    assert.equal(s.lastIndex(), 3);
  });
});
