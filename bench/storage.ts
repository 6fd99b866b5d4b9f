// Storage benchmark: WAL group-commit throughput (append + fsync) on the real file system, and
// restart time of a 1,000,000-entry log with and without a recent snapshot. Prints a table.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "../src/raft/types.js";
import { DiskStorage, NodeDisk } from "../src/storage/index.js";
import { exitOnHelp } from "./load.js";

const ENTRY_DATA_BYTES = 64;
const RUNS = 3;
/** Each throughput run stops at whichever comes first. */
const RUN_MS_MAX = 1500;
const RUN_ENTRIES_MAX = 300_000;
const RESTART_ENTRIES = 1_000_000;
const RESTART_BATCH_ENTRIES = 10_000;
/** Small segments so compaction after the snapshot has whole segments to delete. */
const RESTART_SEGMENT_BYTES_MAX = 4 * 1024 * 1024;
const SNAPSHOT_DATA_BYTES = 1024 * 1024;

const data = new Uint8Array(ENTRY_DATA_BYTES).fill(42);

function batchOf(first: number, count: number): Entry[] {
  const batch: Entry[] = new Array(count);
  for (let i = 0; i < count; i++) batch[i] = { index: first + i, term: 1, kind: "normal", data };
  return batch;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "raftstack-bench-storage-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function throughputRun(batchEntries: number): Promise<{ entriesPerSec: number; mbPerSec: number }> {
  return withDir(async (dir) => {
    const s = await DiskStorage.open(new NodeDisk(), dir);
    const start = performance.now();
    let next = 1;
    while (next <= RUN_ENTRIES_MAX && performance.now() - start < RUN_MS_MAX) {
      await s.save({
        hardState: { term: 1, vote: 1, commit: next - 1 },
        entries: batchOf(next, batchEntries),
      });
      next += batchEntries;
    }
    const seconds = (performance.now() - start) / 1000;
    await s.close();
    const entries = next - 1;
    return { entriesPerSec: entries / seconds, mbPerSec: (entries * ENTRY_DATA_BYTES) / seconds / 1e6 };
  });
}

async function restartRun(
  withSnapshot: boolean,
): Promise<{ ms: number; replayed: number; segments: number }> {
  return withDir(async (dir) => {
    const disk = new NodeDisk();
    const opts = { segmentBytesMax: RESTART_SEGMENT_BYTES_MAX };
    const s = await DiskStorage.open(disk, dir, opts);
    for (let first = 1; first <= RESTART_ENTRIES; first += RESTART_BATCH_ENTRIES) {
      await s.save({
        hardState: { term: 1, vote: 1, commit: first - 1 },
        entries: batchOf(first, RESTART_BATCH_ENTRIES),
      });
    }
    if (withSnapshot) {
      const state = new Uint8Array(SNAPSHOT_DATA_BYTES);
      const config = { voters: [1, 2, 3], learners: [] };
      // Two snapshots: WAL segments are kept back to the older one, the fallback if the newest is damaged.
      await s.createSnapshot(RESTART_ENTRIES - 100_000, config, state);
      await s.createSnapshot(RESTART_ENTRIES, config, state);
      await s.compact(RESTART_ENTRIES);
    }
    await s.close();
    const r = await DiskStorage.open(disk, dir, opts);
    await r.close();
    return { ms: r.stats.replayMs, replayed: r.stats.entriesReplayed, segments: r.stats.segmentsReplayed };
  });
}

async function main(): Promise<void> {
  exitOnHelp(
    "usage: npm run bench:storage\nWAL append + fsync throughput and restart time of a 1,000,000-entry log.",
  );
  console.log(`WAL append + fsync (NodeDisk, ${ENTRY_DATA_BYTES}-byte entries, median of ${RUNS} runs)`);
  console.log("batch entries | entries/s  | MB/s   | fsyncs/s");
  for (const batchEntries of [1, 10, 100, 1000]) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await throughputRun(batchEntries));
    const eps = median(runs.map((r) => r.entriesPerSec));
    const mbs = median(runs.map((r) => r.mbPerSec));
    console.log(
      `${String(batchEntries).padStart(13)} | ${eps.toFixed(0).padStart(10)} | ${mbs.toFixed(2).padStart(6)} | ${(eps / batchEntries).toFixed(0).padStart(8)}`,
    );
  }
  console.log(`\nRestart (open + replay) of a ${RESTART_ENTRIES}-entry log, median of ${RUNS} runs`);
  console.log("case                 | replay ms | entries replayed | segments");
  for (const withSnapshot of [false, true]) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await restartRun(withSnapshot));
    const ms = median(runs.map((r) => r.ms));
    const last = runs.at(-1)!;
    console.log(
      `${(withSnapshot ? "recent snapshot" : "no snapshot").padEnd(20)} | ${ms.toFixed(0).padStart(9)} | ${String(last.replayed).padStart(16)} | ${String(last.segments).padStart(8)}`,
    );
  }
}

await main();
