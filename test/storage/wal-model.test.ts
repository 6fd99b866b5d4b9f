import assert from "node:assert/strict";
import { test } from "node:test";
import { readRecord } from "../../src/storage/codec.js";
import { DiskStorage, MemDisk } from "../../src/storage/index.js";
import fc from "../fast-check.js";
import { CONFIG, DATA, ent, restart, text } from "./helpers.js";

// Random histories of what Raft asks of a follower's storage: appends, overwrites of uncommitted entries
// (several, below older segments' starts), snapshots taken and installed, compaction (which deletes whole
// segments, so an overwrite's segment may be replayed after an older stale one: sim seed 70), an
// overwrite whose entries a crash lost after its segment's header, and reopens.
// After every reopen the log must be exactly the model's from the storage's first index on: no entry the
// overwrites left in place lost, none they replaced back.

const action = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("append" as const), n: fc.integer({ min: 1, max: 6 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("overwrite" as const),
      at: fc.nat(),
      n: fc.integer({ min: 1, max: 8 }),
      // A crash after the overwrite's new segment header was durable, before its entries were.
      lost: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("commit" as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("snapshot" as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("compact" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("install" as const),
      ahead: fc.nat({ max: 4 }),
      n: fc.nat({ max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const) }) },
);

test("WAL replay after overwrites, snapshots, compaction and reopens gives the model's log", {
  timeout: 300_000,
}, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(action, { minLength: 40, maxLength: 120, size: "max" }),
      fc.integer({ min: 80, max: 240 }),
      fc.nat({ max: 4 }),
      async (actions, segmentBytesMax, compactKeepEntries) => {
        const opts = { segmentBytesMax, compactKeepEntries };
        const disk = new MemDisk();
        let s = await DiskStorage.open(disk, DATA, opts);
        // model[i] is entry i's "term:text"; index 0 unused.
        let model: string[] = [""];
        let term = 1;
        let commit = 0;
        let snapIndex = 0;
        let writes = 0;
        const last = () => model.length - 1;
        const put = async (from: number, n: number) => {
          const entries = [];
          for (let i = from; i < from + n; i++) entries.push(ent(i, term, `w${writes++}`));
          await s.save({ hardState: { term, vote: 1, commit }, entries });
          model = model.slice(0, from);
          for (const e of entries) model.push(`${e.term}:${text(e)}`);
        };
        const check = (when: string) => {
          assert.equal(s.lastIndex(), last(), `${when}: last index`);
          assert.ok(
            s.firstIndex() - 1 <= snapIndex,
            `${when}: first ${s.firstIndex()} past snapshot ${snapIndex}`,
          );
          const got = s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
          assert.deepEqual(
            got.map((e) => `${e.term}:${text(e)}`),
            model.slice(s.firstIndex()),
            `${when}: entries from ${s.firstIndex()}`,
          );
        };
        for (const [step, a] of actions.entries()) {
          switch (a.kind) {
            case "append":
              await put(last() + 1, a.n);
              break;
            case "overwrite": {
              // Only uncommitted entries (above commit and any snapshot) are ever replaced.
              const low = Math.max(commit, snapIndex) + 1;
              if (low > last()) break;
              term++;
              const before = s.walSegments().at(-1);
              const saved = model;
              await put(low + (a.at % (last() - low + 1)), a.n);
              const segment = s.walSegments().at(-1);
              if (a.lost && segment !== before) {
                const path = `${DATA}/wal/${segment}`;
                const header = readRecord(await disk.readFile(path), 0, 1 << 20);
                assert.ok(header !== undefined);
                await s.close();
                const file = await disk.openWrite(path);
                await file.truncate(header.end);
                await file.sync();
                await file.close();
                model = saved;
                s = await restart(disk, DATA, opts);
                check(`step ${step} (overwrite lost)`);
              }
              break;
            }
            case "commit":
              commit = Math.min(last(), commit + (a.at % 6));
              await s.save({ hardState: { term, vote: 1, commit }, entries: [] });
              break;
            case "snapshot": {
              if (commit <= snapIndex) break;
              const index = snapIndex + 1 + (a.at % (commit - snapIndex));
              await s.createSnapshot(index, CONFIG, new TextEncoder().encode(`state@${index}`));
              snapIndex = index;
              break;
            }
            case "compact":
              await s.compact(snapIndex);
              break;
            case "install": {
              // The leader's snapshot at or past this log's end, then entries after it (a lagging follower).
              term++;
              const index = Math.max(last(), snapIndex + 1) + a.ahead;
              const snapshot = {
                meta: { index, term, config: CONFIG },
                data: new TextEncoder().encode(`state@${index}`),
              };
              const entries = [];
              for (let i = index + 1; i <= index + a.n; i++) entries.push(ent(i, term, `w${writes++}`));
              commit = index;
              await s.save({ hardState: { term, vote: 1, commit }, snapshot, entries });
              model = new Array<string>(index + 1).fill("?");
              for (const e of entries) model.push(`${e.term}:${text(e)}`);
              snapIndex = index;
              break;
            }
            case "reopen":
              s = await restart(disk, DATA, opts);
              check(`step ${step} (reopen)`);
              break;
          }
        }
        s = await restart(disk, DATA, opts);
        check("final reopen");
        await s.close();
      },
    ),
    { numRuns: 300 },
  );
});
