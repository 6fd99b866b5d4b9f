import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { type DiskMode, isDiskMode, runSimulation } from "../../src/sim/index.js";
import { awaitingCoreFix } from "./helpers.js";

interface RegressionSeed {
  readonly seed: number;
  readonly nodes: number;
  /** The disk model the seed failed in (seeds found before "wal" existed ran in "memory"). */
  readonly disk: DiskMode;
  readonly note: string;
  /** Set while the fix is on another branch: the seed runs as a todo test (reported, not failing). */
  readonly pendingFix?: string;
}

// Compiled to dist/test/sim; the list stays in the source tree.
const seeds = JSON.parse(
  readFileSync(new URL("../../../test/sim/regression-seeds.json", import.meta.url), "utf8"),
) as RegressionSeed[];

test("every seed that ever failed passes now", { timeout: 60_000 }, async () => {
  const fixed = seeds.filter((s) => s.pendingFix === undefined);
  assert.ok(fixed.length > 0);
  for (const { seed, nodes, disk, note } of fixed) {
    assert.ok(isDiskMode(disk), `seed ${seed}: disk ${disk}`);
    const r = await runSimulation({ seed, nodes, diskMode: disk, ...awaitingCoreFix });
    assert.ok(r.ok, `seed ${seed} (${note}): ${r.violation?.message}`);
  }
});

for (const { seed, nodes, disk, note, pendingFix } of seeds) {
  if (pendingFix === undefined) continue;
  test(`regression seed ${seed} (${nodes} nodes, ${disk})`, {
    todo: `until ${pendingFix}`,
    timeout: 60_000,
  }, async () => {
    const r = await runSimulation({ seed, nodes, diskMode: disk });
    assert.ok(r.ok, `seed ${seed} (${note}): ${r.violation?.message}`);
  });
}
