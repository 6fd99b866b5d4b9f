import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation } from "../../src/sim/index.js";
import { assertSeedsPass, total } from "./helpers.js";

// Seeds 1..300 on 3 nodes, each ≥ 30 s of virtual time with partitions, crashes and pauses; even seeds
// run the real storage over a crashing in-memory disk ("wal"), odd ones the in-memory model.
test("300 seeds on 3 nodes: no safety, liveness or linearizability violation", {
  // Minutes on a loaded 2-core machine; a bound, not a speed target.
  timeout: 480_000,
}, async () => {
  const results = await assertSeedsPass(1, 300, { nodes: 3 });
  for (const r of results) assert.ok(r.stats.virtualMs >= 30_000);
  // The runs must actually inject faults and do work, or passing proves nothing.
  assert.ok(total(results, "crashes") > 300);
  assert.ok(total(results, "partitions") > 3000);
  assert.ok(total(results, "okOps") > 30_000);
  const checked = results.filter((r) => r.linearizability === "ok").length;
  assert.ok(checked >= 285, `linearizability proven for only ${checked} of 300 histories`);
  const wal = results.filter((r) => r.params.diskMode === "wal");
  assert.equal(wal.length, 150);
  assert.ok(total(wal, "powerCuts") > 150);
});

test("a seed reproduces its run exactly (same trace hash), another seed differs", {
  timeout: 30_000,
}, async () => {
  const a = await runSimulation({ seed: 42, nodes: 3 });
  const b = await runSimulation({ seed: 42, nodes: 3 });
  const c = await runSimulation({ seed: 43, nodes: 3 });
  assert.equal(a.params.diskMode, "wal");
  assert.equal(c.params.diskMode, "memory");
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.stats, b.stats);
  assert.notEqual(a.traceHash, c.traceHash);
});
