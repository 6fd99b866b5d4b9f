// Core throughput ceiling: a 3-node cluster of the real Raft over MemoryStorage, messages passed in memory.
import { MemoryStorage, type Message, Raft } from "../src/raft/index.js";
import { exitOnHelp } from "./load.js";

function cluster(): { rafts: Raft[]; storages: MemoryStorage[] } {
  const voters = [1, 2, 3];
  const storages = voters.map(() => new MemoryStorage({ voters, learners: [] }));
  const rafts = voters.map(
    (id, i) =>
      new Raft({ id, storage: storages[i] as MemoryStorage, electionTicks: 10, heartbeatTicks: 1, seed: id }),
  );
  return { rafts, storages };
}

/** Drains every node's Ready and delivers messages until quiet; returns entries applied on node 1. */
function pump(rafts: Raft[], storages: MemoryStorage[]): number {
  let applied = 0;
  for (let moved = true; moved; ) {
    moved = false;
    const inbox: Message[] = [];
    rafts.forEach((r, i) => {
      while (r.hasReady()) {
        moved = true;
        const rd = r.ready();
        inbox.push(...rd.sendNow);
        (storages[i] as MemoryStorage).persist(rd);
        inbox.push(...rd.sendAfterPersist);
        if (i === 0) applied += rd.committed.length;
        r.advance();
      }
    });
    for (const m of inbox) (rafts[m.to - 1] as Raft).step(m);
  }
  return applied;
}

function measure(batch: number, entriesTotal: number): number {
  const { rafts, storages } = cluster();
  const leader = rafts[0] as Raft;
  while (leader.role !== "leader") {
    leader.tick();
    pump(rafts, storages);
  }
  pump(rafts, storages);
  const payload = new Uint8Array(64);
  const datas = Array.from({ length: batch }, () => payload);
  let applied = 0;
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < entriesTotal; sent += batch) {
    leader.propose(datas);
    applied += pump(rafts, storages);
    // Compact now and then so memory stays flat, as a real node would after snapshots.
    if (sent % 50_000 === 0) for (const s of storages) s.compact(Math.max(1, s.lastIndex() - 1000));
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (applied < entriesTotal) throw new Error(`only ${applied} of ${entriesTotal} entries applied`);
  return entriesTotal / seconds;
}

exitOnHelp(
  "usage: npm run bench:core (RUNS=N, default 3)\nThe Raft core alone: 3 nodes in memory, committed entries/s on the leader.",
);
const runs = Number(process.env.RUNS ?? 3);
const rows: { case: string; runs: number[]; median: number }[] = [];
for (const [label, batch, total] of [
  ["single proposals", 1, 100_000],
  ["batches of 100", 100, 1_000_000],
] as const) {
  const results: number[] = [];
  for (let i = 0; i < runs; i++) results.push(measure(batch, total));
  const sorted = [...results].sort((a, b) => a - b);
  rows.push({
    case: label,
    runs: results.map(Math.round),
    median: Math.round(sorted[Math.floor(sorted.length / 2)] as number),
  });
}
console.log("raft core, 3 nodes in memory, 64-byte entries (committed entries/s on the leader)");
for (const r of rows)
  console.log(
    `${r.case.padEnd(18)} median ${r.median.toLocaleString("en-US").padStart(12)}/s   runs ${r.runs.join(", ")}`,
  );
console.log(JSON.stringify({ bench: "core", rows }));
