import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation } from "../../src/sim/index.js";
import { assertSeedsPass } from "./helpers.js";

// A separate file so the runner spreads the seed sweep over two processes.
test("200 seeds on 5 nodes: no safety, liveness or linearizability violation", { timeout: 240_000 }, () => {
  const results = assertSeedsPass(1, 200, { nodes: 5 });
  assert.ok(results.reduce((n, r) => n + r.stats.crashes, 0) > 200);
  const checked = results.filter((r) => r.linearizability === "ok").length;
  assert.ok(checked >= 190, `linearizability proven for only ${checked} of 200 histories`);
});

test("5-node runs are deterministic too", { timeout: 30_000 }, () => {
  assert.equal(
    runSimulation({ seed: 7, nodes: 5 }).traceHash,
    runSimulation({ seed: 7, nodes: 5 }).traceHash,
  );
});
