import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation } from "../../src/sim/index.js";
import { assertSeedsPass } from "./helpers.js";

// Seeds 1..300 on 3 nodes, each ≥ 30 s of virtual time with partitions, crashes and pauses.
test("300 seeds on 3 nodes: no safety, liveness or linearizability violation", { timeout: 240_000 }, () => {
  const results = assertSeedsPass(1, 300, { nodes: 3 });
  for (const r of results) assert.ok(r.stats.virtualMs >= 30_000);
  // The runs must actually inject faults and do work, or passing proves nothing.
  assert.ok(results.reduce((n, r) => n + r.stats.crashes, 0) > 300);
  assert.ok(results.reduce((n, r) => n + r.stats.partitions, 0) > 3000);
  assert.ok(results.reduce((n, r) => n + r.stats.okOps, 0) > 30_000);
  const checked = results.filter((r) => r.linearizability === "ok").length;
  assert.ok(checked >= 285, `linearizability proven for only ${checked} of 300 histories`);
});

test("a seed reproduces its run exactly (same trace hash), another seed differs", { timeout: 30_000 }, () => {
  const a = runSimulation({ seed: 42, nodes: 3 });
  const b = runSimulation({ seed: 42, nodes: 3 });
  const c = runSimulation({ seed: 43, nodes: 3 });
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.stats, b.stats);
  assert.notEqual(a.traceHash, c.traceHash);
});
