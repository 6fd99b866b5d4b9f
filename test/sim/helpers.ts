import assert from "node:assert/strict";
import { runSimulation, type SimOptions, type SimResult } from "../../src/sim/index.js";

/** Runs seeds [from, to] and fails with the first violation's seed, invariant and trace tail. */
export function assertSeedsPass(from: number, to: number, extra: Omit<SimOptions, "seed"> = {}): SimResult[] {
  const results: SimResult[] = [];
  for (let seed = from; seed <= to; seed++) {
    const r = runSimulation({ ...extra, seed });
    results.push(r);
    if (!r.ok) {
      assert.fail(
        `seed ${seed} (${extra.nodes ?? 3} nodes) violated ${r.violation?.invariant}:\n${r.violation?.message}\n` +
          `trace tail:\n${r.traceTail.slice(-60).join("\n")}`,
      );
    }
  }
  return results;
}
