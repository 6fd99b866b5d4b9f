import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { type DiskMode, type FaultKind, isDiskMode, runSimulation } from "../../src/sim/index.js";

interface RegressionSeed {
  readonly seed: number;
  readonly nodes: number;
  /** The disk model the seed failed in (seeds found before "wal" existed ran in "memory"). */
  readonly disk: DiskMode;
  /** Membership changes among the faults (--membership); absent means off. */
  readonly membership?: boolean;
  /**
   * Fault kinds added after the seed was found, left out so it replays the nemesis schedule it failed
   * with (a kind with weight 0 and no scheduled run changes no pick).
   */
  readonly disabledFaults?: readonly FaultKind[];
  /** Clients instead of the seed's 2-5 (the sim's --clients); absent means the seed's own. */
  readonly clients?: number;
  /** Fast-lane clients (the sim's --fast-lane); absent means off. */
  readonly fastLane?: boolean;
  readonly note: string;
}

// Compiled to dist/test/sim; the list stays in the source tree.
const seeds = JSON.parse(
  readFileSync(new URL("../../../test/sim/regression-seeds.json", import.meta.url), "utf8"),
) as RegressionSeed[];

// One test per seed, each with its own hang guard: the seeds are deterministic CPU work, and one 60 s
// bound for all of them (23 s for the 22 seeds under one CPU hog) timed out under two hogs. A seed
// takes a few seconds at most, so a minute each still catches a hang.
const SEED_TIMEOUT_MS = 60_000;

describe("every seed that ever failed passes now", () => {
  test("the list is not empty", () => assert.ok(seeds.length > 0));
  for (const { seed, nodes, disk, membership, disabledFaults, clients, fastLane, note } of seeds) {
    const options = `${membership === true ? ", membership" : ""}${fastLane === true ? ", fast lane" : ""}`;
    test(`seed ${seed} (${nodes} nodes, ${disk}${options})`, {
      timeout: SEED_TIMEOUT_MS,
    }, async () => {
      assert.ok(isDiskMode(disk), `seed ${seed}: disk ${disk}`);
      const r = await runSimulation({
        seed,
        nodes,
        diskMode: disk,
        membership: membership === true,
        ...(disabledFaults === undefined ? {} : { disabledFaults }),
        ...(clients === undefined ? {} : { clients }),
        fastLane: fastLane === true,
      });
      assert.ok(r.ok, `seed ${seed} (${note}): ${r.violation?.message}`);
    });
  }
});
