// The trace viewer's recorder watches a run without changing it (same trace hash with and without it),
// stays within its bounds, and captures what the page draws: faults, roles, indexes, the violation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation, TraceRecorder } from "../../src/sim/index.js";

test("recording changes nothing in the run and keeps to its limits", { timeout: 120_000 }, async () => {
  for (const options of [
    { seed: 2, nodes: 3 },
    { seed: 7, nodes: 5, diskMode: "wal" as const },
  ]) {
    const plain = await runSimulation(options);
    const recorder = new TraceRecorder({ ...new TraceRecorder().limits, messagesPerSecondMax: 50 });
    const recorded = await runSimulation({ ...options, recorder });
    assert.equal(recorded.traceHash, plain.traceHash, `seed ${options.seed}: same run`);
    const r = recorder.recording;
    assert.deepEqual(
      r.nodes,
      Array.from({ length: options.nodes }, (_, i) => i + 1),
    );
    assert.equal(r.marks.filter((m) => m[1] === "crash").length, plain.stats.crashes);
    assert.equal(r.marks.filter((m) => m[1] === "pause").length, plain.stats.pauses);
    // Messages: at most 50 drawn per virtual second, every delivery counted.
    const perSecond = new Map<number, number>();
    for (const m of r.messages)
      perSecond.set(Math.floor(m[1]! / 1000), (perSecond.get(Math.floor(m[1]! / 1000)) ?? 0) + 1);
    assert.ok(Math.max(...perSecond.values()) <= 50);
    assert.equal(
      r.delivered.counts.reduce((a, b) => a + b, 0),
      r.messages.length + r.leftOut.messages,
    );
    assert.ok(
      r.states.some((s) => s[3] === 3),
      "a leader recorded",
    );
    for (const commits of r.samples.commit) assert.equal(commits.length, r.samples.t.length);
    assert.equal(r.violation, undefined);
  }
});

test("a violation is recorded with the roles that caused it", { timeout: 60_000 }, async () => {
  const recorder = new TraceRecorder();
  const r = await runSimulation({ seed: 1, nodes: 3, mutation: "grantTwoVotesPerTerm", recorder });
  assert.equal(r.violation?.invariant, "election safety");
  const v = recorder.recording.violation;
  assert.ok(v !== undefined && v.invariant === "election safety");
  const [, a, b, term] = /nodes (\d+) and (\d+) both led term (\d+)/.exec(v.message) ?? [];
  for (const node of [a, b]) {
    assert.ok(
      recorder.recording.states.some((s) => s[1] === Number(node) && s[3] === 3 && s[4] === Number(term)),
      `node ${node} recorded as leader of term ${term}`,
    );
  }
});
