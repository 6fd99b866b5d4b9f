import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation } from "../../src/sim/index.js";
import { assertSeedsPass, total } from "./helpers.js";

// A separate file so the runner spreads the seed sweep over two processes.
test("200 seeds on 5 nodes: no safety, liveness or linearizability violation", {
  // Minutes on a loaded 2-core machine; a bound, not a speed target.
  timeout: 480_000,
}, async () => {
  const results = await assertSeedsPass(1, 200, { nodes: 5 });
  assert.ok(total(results, "crashes") > 200);
  const checked = results.filter((r) => r.linearizability === "ok").length;
  assert.ok(checked >= 190, `linearizability proven for only ${checked} of 200 histories`);
});

test("5-node runs are deterministic too, in both disk modes", { timeout: 30_000 }, async () => {
  for (const seed of [7, 8]) {
    const a = await runSimulation({ seed, nodes: 5 });
    const b = await runSimulation({ seed, nodes: 5 });
    assert.equal(a.traceHash, b.traceHash, `seed ${seed} (${a.params.diskMode})`);
  }
});
