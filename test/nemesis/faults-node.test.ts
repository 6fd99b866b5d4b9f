// The disk-full fault against a fake cluster: a node whose last write failed just before the disk got room
// again exits milliseconds after the heal; that is its fail-stop, not a crash (the 600 s acceptance run
// counted one such exit, 2 ms after the heal, as a crash).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Prng } from "../../src/raft/index.js";
import type { NemesisCluster, NodeCrash } from "./cluster.js";
import type { DiskFiller } from "./disk-full.js";
import type { FaultContext } from "./fault-steps.js";
import { NODE_FAULTS } from "./faults-node.js";

describe("disk-full fault", () => {
  test("a node that exits on ENOSPC just after the heal is restarted, not reported as a crash", async () => {
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const crashes: NodeCrash[] = [];
    let state: "up" | "down" = "up";
    const started: number[] = [];
    const cluster = {
      ids: [1, 2, 3],
      crashes,
      state: () => state,
      start: (i: number) => {
        started.push(i);
        state = "up";
      },
      excuseCrashes: (i: number, since: number, expected: RegExp) => {
        const excused = crashes.filter((c) => c.node === i && c.at >= since && expected.test(c.stderrTail));
        for (const c of excused) crashes.splice(crashes.indexOf(c), 1);
        return excused;
      },
    };
    const disk = {
      node: 2,
      fill: () => 1e6,
      free: () => {
        // The node's write failed while the disk was full; its exit event arrives a little later.
        setTimeout(() => {
          state = "down";
          crashes.push({ node: 2, at: now(), code: 1, signal: null, stderrTail: "write failed: ENOSPC" });
        }, 5);
      },
    };
    const ctx: FaultContext = {
      cluster: cluster as unknown as NemesisCluster,
      netfilter: undefined,
      hooks: undefined,
      disk: disk as unknown as DiskFiller,
      electionTimeoutMs: 150,
      finding: () => assert.fail("no finding expected"),
      rng: new Prng(1),
      now,
      hold: (ms) => sleep(ms),
      step: () => {},
    };
    const spec = NODE_FAULTS.find((f) => f.kind === "disk-full")!;
    await spec.run(ctx, 20);
    assert.deepEqual(crashes, [], "the fail-stop is excused");
    assert.deepEqual(started, [2], "and the node restarted");
  });
});
