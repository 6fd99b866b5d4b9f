import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { type DiskMode, isDiskMode, runSimulation } from "../../src/sim/index.js";

interface RegressionSeed {
  readonly seed: number;
  readonly nodes: number;
  /** The disk model the seed failed in (seeds found before "wal" existed ran in "memory"). */
  readonly disk: DiskMode;
  /** Membership changes among the faults (--membership); absent means off. */
  readonly membership?: boolean;
  readonly note: string;
}

// Compiled to dist/test/sim; the list stays in the source tree.
const seeds = JSON.parse(
  readFileSync(new URL("../../../test/sim/regression-seeds.json", import.meta.url), "utf8"),
) as RegressionSeed[];

test("every seed that ever failed passes now", { timeout: 60_000 }, async () => {
  assert.ok(seeds.length > 0);
  for (const { seed, nodes, disk, membership, note } of seeds) {
    assert.ok(isDiskMode(disk), `seed ${seed}: disk ${disk}`);
    const r = await runSimulation({ seed, nodes, diskMode: disk, membership: membership === true });
    assert.ok(r.ok, `seed ${seed} (${note}): ${r.violation?.message}`);
  }
});
