import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation } from "../../src/sim/index.js";
import { assertSeedsPass, total } from "./helpers.js";

// With 2-5 clients the leader rarely holds two writes in one turn; 24 clients make it batch them into
// one entry (stack/batch.ts) under the same faults, and the checks (linearizability, exactly-once per
// key and per pushed value, the same outcomes on every replica) must still hold.
test("10 seeds with 24 clients: batched entries commit, no safety or linearizability violation", {
  timeout: 300_000,
}, async () => {
  const results = await assertSeedsPass(1, 10, { nodes: 3, clients: 24 });
  // Passing proves nothing unless batches were actually committed and checked.
  assert.ok(total(results, "batchEntries") > 40, `only ${total(results, "batchEntries")} batch entries`);
  const checked = results.filter((r) => r.linearizability === "ok").length;
  assert.ok(checked >= 9, `linearizability proven for only ${checked} of 10 histories`);
});

test("a retry applied twice is still caught when the retries travel in batches", {
  timeout: 120_000,
}, async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = await runSimulation({ seed, nodes: 3, clients: 24, mutation: "applyRetriesTwice" });
    if (!r.ok) {
      assert.notEqual(r.violation?.invariant, "exception", r.violation?.message);
      return;
    }
  }
  assert.fail("applyRetriesTwice went unnoticed for 20 seeds with 24 clients");
});
