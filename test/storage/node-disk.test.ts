import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Entry } from "../../src/raft/types.js";
import { DiskStorage, NodeDisk, repair, StorageCorruptionError } from "../../src/storage/index.js";
import { CONFIG, ents } from "./helpers.js";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "raftstack-storage-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("DiskStorage on NodeDisk", { timeout: 300_000 }, () => {
  test("round trip, torn tail, corruption and repair on real files", async () => {
    await withDir(async (dir) => {
      const disk = new NodeDisk();
      const s = await DiskStorage.open(disk, dir);
      await s.save({ hardState: { term: 1, vote: 2, commit: 0 }, entries: ents(1, 10, 1) });
      await s.save({ hardState: { term: 2, vote: 3, commit: 10 }, entries: ents(11, 20, 2) });
      await s.createSnapshot(10, CONFIG, new TextEncoder().encode("snap10"));
      await s.close();
      const seg = join(dir, "wal", (await readdir(join(dir, "wal")))[0]!);
      const full = await readFile(seg);

      await writeFile(seg, full.subarray(0, full.length - 5)); // torn hard state record
      const torn = await DiskStorage.open(disk, dir);
      assert.equal(torn.lastIndex(), 20);
      assert.deepEqual(torn.initialState().hardState, { term: 1, vote: 2, commit: 10 });
      assert.equal(torn.stats.tailBytesTruncated, 33 - 5);
      await torn.close();
      assert.equal((await readFile(seg)).length, full.length - 33, "the torn tail was cut on disk");

      const damaged = Buffer.from(full);
      damaged[60]! ^= 0x80;
      await writeFile(seg, damaged);
      await assert.rejects(DiskStorage.open(disk, dir), (e: unknown) => e instanceof StorageCorruptionError);
      const result = await repair(disk, dir);
      assert.deepEqual(result.hardState, { term: 2, vote: 3, commit: 0, recovering: true });
      const fresh = await DiskStorage.open(disk, dir);
      assert.equal(fresh.lastIndex(), 0);
      assert.equal(fresh.snapshot().meta.index, 0);
      assert.deepEqual(fresh.initialState().hardState, { term: 2, vote: 3, commit: 0, recovering: true });
      await fresh.close();
    });
  });

  test("restart with 1,000,000 small entries (time printed, not asserted)", async () => {
    await withDir(async (dir) => {
      const disk = new NodeDisk();
      const s = await DiskStorage.open(disk, dir);
      const total = 1_000_000;
      const batchEntries = 10_000;
      const data = new Uint8Array(16).fill(7);
      const writeStart = performance.now();
      for (let first = 1; first <= total; first += batchEntries) {
        const batch: Entry[] = [];
        for (let i = first; i < first + batchEntries; i++)
          batch.push({ index: i, term: 1, kind: "normal", data });
        await s.save({ hardState: { term: 1, vote: 1, commit: first - 1 }, entries: batch });
      }
      const writeMs = performance.now() - writeStart;
      await s.close();
      const r = await DiskStorage.open(disk, dir);
      assert.equal(r.lastIndex(), total);
      assert.equal(r.entries(total, total + 1, 1e9)[0]?.data.length, 16);
      assert.equal(r.stats.entriesReplayed, total);
      console.log(
        `storage restart: ${total} entries, ${(r.stats.walBytesReplayed / 1e6).toFixed(1)} MB in ` +
          `${r.stats.segmentsReplayed} segment(s): replay ${r.stats.replayMs.toFixed(0)} ms ` +
          `(written in ${writeMs.toFixed(0)} ms)`,
      );
      await r.close();
    });
  });
});
