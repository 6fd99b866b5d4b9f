import assert from "node:assert/strict";
import { test } from "node:test";
import { type Entry, MemoryStorage } from "../../src/raft/index.js";
import { DiskStorage, MemDisk } from "../../src/storage/index.js";
import fc from "../fast-check.js";
import { CONFIG, DATA } from "./helpers.js";

// The simulator's memory disk (MemoryStorage) and the real storage must hand the core the same batches
// for the same log and byte limit; otherwise memory-mode seeds test a different replication pattern
// (issue 10: one in-memory log model).
test("MemoryStorage and DiskStorage slice entries identically", { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 40 }),
      fc.nat({ max: 39 }),
      fc.nat({ max: 40 }),
      fc.nat({ max: 2_000 }),
      async (sizes, loOffset, span, bytesMax) => {
        const entries: Entry[] = sizes.map((size, i) => ({
          index: i + 1,
          term: 1,
          kind: "normal",
          data: new Uint8Array(size),
        }));
        const memory = new MemoryStorage(CONFIG);
        memory.append(entries);
        const disk = await DiskStorage.open(new MemDisk(), DATA);
        await disk.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries });
        const lo = 1 + Math.min(loOffset, entries.length - 1);
        const hi = Math.min(lo + span, entries.length + 1);
        const indexes = (s: { entries(lo: number, hi: number, max: number): Entry[] }) =>
          s.entries(lo, hi, bytesMax).map((e) => e.index);
        assert.deepEqual(indexes(disk), indexes(memory));
        await disk.close();
      },
    ),
    { numRuns: 300, seed: 20261129 },
  );
});
