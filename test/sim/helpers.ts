import assert from "node:assert/strict";
import { runSimulation, type SimOptions, type SimResult } from "../../src/sim/index.js";

/** Runs seeds [from, to] and fails with the first violation's seed, invariant and trace tail. */
export function assertSeedsPass(
  from: number,
  to: number,
  extra: Omit<SimOptions, "seed"> = {},
): Promise<SimResult[]> {
  return assertEachPasses(
    Array.from({ length: to - from + 1 }, (_, i) => from + i),
    extra,
  );
}

/** Runs each seed and fails with the first violation's seed, invariant and trace tail. */
export async function assertEachPasses(
  seeds: readonly number[],
  extra: Omit<SimOptions, "seed"> = {},
): Promise<SimResult[]> {
  const results: SimResult[] = [];
  for (const seed of seeds) {
    const r = await runSimulation({ ...extra, seed });
    results.push(r);
    if (!r.ok) {
      assert.fail(
        `seed ${seed} (${extra.nodes ?? 3} nodes, disk ${r.params.diskMode}) violated ${r.violation?.invariant}:\n` +
          `${r.violation?.message}\ntrace tail:\n${r.traceTail.slice(-60).join("\n")}`,
      );
    }
  }
  return results;
}

/** Sum of one numeric stat over runs. */
export function total(
  results: readonly SimResult[],
  stat: Exclude<keyof SimResult["stats"], "membership">,
): number {
  return results.reduce((n, r) => n + r.stats[stat], 0);
}
