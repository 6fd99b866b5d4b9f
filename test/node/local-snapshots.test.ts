import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { appSnapshotHead, decodeAppSnapshot } from "../../src/node/index.js";
import type { Clock, DriverStorage } from "../../src/node/ports.js";
import { LocalSnapshots } from "../../src/node/snapshots.js";
import { encodeCommand, StackMachine } from "../../src/stack/index.js";

// What a turn allocates: array buffer bytes after it, less those before it after a full collection (so
// garbage of earlier turns is not counted, while a copy the turn made and dropped still is).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function arrayBuffersCollected(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}

function arrayBuffers(): number {
  return process.memoryUsage().arrayBuffers;
}

test("a node's snapshot copies the state in no turn: not at its cut, not at its end", async () => {
  // 200,000 items of 160 bytes in one stack (the benchmark's LPUSH builds one list of 10 M items).
  const machine = new StackMachine();
  let index = 0;
  machine.apply(++index, encodeCommand({ type: "create", label: "s", atMs: 1 }));
  for (let batch = 0; batch < 20; batch++) {
    const items = Array.from({ length: 10_000 }, (_, i) => `${batch}-${i}-`.padEnd(160, "x"));
    machine.apply(++index, encodeCommand({ type: "push", id: 1, items, atMs: 2 }));
  }
  const stateBytes = 200_000 * 160;
  const members = { encode: () => new Uint8Array([7, 8, 9]), restore: () => {} };
  const expected = Buffer.concat([appSnapshotHead(members.encode()), machine.snapshot()]);

  const turns: (() => void)[] = [];
  const clock: Clock = {
    now: () => 0,
    wallMs: () => 0,
    defer: (run) => turns.push(run),
    every: () => () => {},
  };
  let written: Uint8Array | undefined;
  const storage = {
    createSnapshot: async (_index: number, _config: unknown, data: Uint8Array) => {
      written = data;
    },
    compact: async () => {},
  } as unknown as DriverStorage;
  const snapshots = new LocalSnapshots(0, 0, 1, {
    clock,
    storage,
    hooks: {},
    metrics: undefined,
    logger: undefined,
    failed: (err) => assert.fail(String(err)),
  });

  let before = arrayBuffersCollected();
  // The first turn cuts the state (and allocates the buffer the snapshot is written into).
  snapshots.maybeStart(machine, { voters: [1], learners: [] }, members);
  const cutGrowth = arrayBuffers() - before;
  let worstGrowth = 0;
  let count = 0;
  for (; turns.length > 0 && count < 1_000; count++) {
    // Entries applied meanwhile must not show in the snapshot.
    machine.apply(++index, encodeCommand({ type: "pop", id: 1, atMs: 3 }));
    machine.apply(++index, encodeCommand({ type: "push", id: 1, items: [`late-${count}`], atMs: 3 }));
    before = arrayBuffersCollected();
    turns.shift()?.();
    // The step runs once its promise settles; the last one hands the data to storage.
    await new Promise((resolve) => setImmediate(resolve));
    worstGrowth = Math.max(worstGrowth, arrayBuffers() - before);
  }
  console.log({ cutGrowth, worstGrowth, stateBytes });
  assert.ok(count >= 50, `encoded in ${count} turns`);
  assert.ok(written !== undefined, "the snapshot was written");
  assert.equal(Buffer.compare(written, expected), 0, "the state at the cut, behind the member table");
  assert.deepEqual([...(decodeAppSnapshot(written).members ?? [])], [7, 8, 9]);
  // The writer's buffer, once: a copy of the items at the cut made it twice the state.
  assert.ok(cutGrowth < 1.5 * stateBytes, `the cut's turn allocated ${cutGrowth} bytes`);
  // A copy of the written snapshot (an exact-size finish, then one behind the member table) made the
  // last turn allocate the state twice over.
  assert.ok(worstGrowth < stateBytes / 4, `a later turn allocated ${worstGrowth} bytes`);
});
