import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runSimulation } from "../../src/sim/index.js";

interface RegressionSeed {
  readonly seed: number;
  readonly nodes: number;
  readonly note: string;
}

// Compiled to dist/test/sim; the list stays in the source tree.
const seeds = JSON.parse(
  readFileSync(new URL("../../../test/sim/regression-seeds.json", import.meta.url), "utf8"),
) as RegressionSeed[];

test("every seed that ever failed passes now", { timeout: 60_000 }, () => {
  assert.ok(seeds.length > 0);
  for (const { seed, nodes, note } of seeds) {
    const r = runSimulation({ seed, nodes });
    assert.ok(r.ok, `seed ${seed} (${note}): ${r.violation?.invariant}: ${r.violation?.message}`);
  }
});
