import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation } from "../../src/sim/index.js";
import { assertSeedsPass, total } from "./helpers.js";

// The RESP fast lane under the simulator's faults: clients pipeline runs of plain keyless LPUSH, the node
// proposes each run in one entry (Driver.proposeRun) and every replica applies them from the entry's bytes.
// Each push is checked as its own operation; after healing the stacks are popped empty, so every
// acknowledged push must show up exactly once. Short fault phases keep this to a few seconds.
const faultPhaseMs = 10_000;

test("fast lane: 6 seeds on 3 nodes, 3 on 5, 1 with 24 clients: no safety, liveness or linearizability violation", {
  timeout: 120_000,
}, async () => {
  const fastLane = true;
  const results = [
    ...(await assertSeedsPass(1, 6, { nodes: 3, fastLane, faultPhaseMs })),
    ...(await assertSeedsPass(1, 3, { nodes: 5, fastLane, faultPhaseMs })),
    // Seed 3 with 24 clients: batches of at most 2 commands, so runs meet batches they do not fit.
    ...(await assertSeedsPass(3, 3, { nodes: 3, fastLane, faultPhaseMs, clients: 24 })),
  ];
  // Passing proves nothing unless runs were acknowledged, and faults left some unanswered.
  const ok = total(results, "runPushesOk");
  assert.ok(ok > 1_000, `only ${ok} pushes of runs acknowledged`);
  assert.ok(
    total(results, "runPushes") > ok,
    "every push of every run was acknowledged: no faults hit a run",
  );
  assert.ok(total(results, "crashes") > 20, `only ${total(results, "crashes")} crashes`);
  for (const r of results) assert.equal(r.linearizability, "ok", `seed ${r.seed} (${r.params.nodes} nodes)`);
});

test("fast lane: a seed reproduces its run exactly (same trace hash)", { timeout: 30_000 }, async () => {
  const a = await runSimulation({ seed: 5, nodes: 3, fastLane: true, faultPhaseMs });
  const b = await runSimulation({ seed: 5, nodes: 3, fastLane: true, faultPhaseMs });
  assert.ok(a.stats.runPushes > 0);
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.stats, b.stats);
});
