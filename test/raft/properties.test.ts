import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeId } from "../../src/raft/index.js";
import fc from "../fast-check.js";
import { assertLogMatching, assertStateMachineSafety, Cluster } from "./harness.js";

type Action =
  | { kind: "tick"; node: number }
  | { kind: "propose"; node: number }
  | { kind: "deliver"; pick: number; duplicate: boolean }
  | { kind: "drop"; pick: number }
  | { kind: "crash"; node: number }
  | { kind: "restart"; node: number };

const action = (size: number): fc.Arbitrary<Action> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("tick" as const), node: fc.nat(size - 1) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("propose" as const), node: fc.nat(size - 1) }) },
    {
      weight: 10,
      arbitrary: fc.record({
        kind: fc.constant("deliver" as const),
        pick: fc.nat(),
        duplicate: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("drop" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), node: fc.nat(size - 1) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), node: fc.nat(size - 1) }) },
  );

/** Runs a schedule in which messages are delivered in any order, dropped or duplicated. */
function run(size: number, seed: number, actions: readonly Action[]): void {
  const c = new Cluster(size, { seed, electionTicks: 4 });
  const leaderOfTerm = new Map<number, NodeId>();
  let proposals = 0;
  for (const a of actions) {
    switch (a.kind) {
      case "tick":
        c.tick(a.node + 1);
        break;
      case "propose":
        if (c.node(a.node + 1).up) c.raft(a.node + 1).propose([new TextEncoder().encode(`p${proposals++}`)]);
        break;
      case "deliver": {
        const m = c.queue[a.pick % Math.max(1, c.queue.length)];
        if (!m) break;
        if (!a.duplicate) c.queue.splice(c.queue.indexOf(m), 1);
        if (c.canDeliver(m)) c.raft(m.to).step(m);
        break;
      }
      case "drop":
        if (c.queue.length > 0) c.queue.splice(a.pick % c.queue.length, 1);
        break;
      case "crash":
        c.crash(a.node + 1);
        break;
      case "restart":
        if (!c.node(a.node + 1).up) c.restart(a.node + 1);
        break;
    }
    c.processAll();
    for (const id of c.leaders()) {
      const term = c.raft(id).term;
      const known = leaderOfTerm.get(term);
      assert.ok(
        known === undefined || known === id,
        `§5.2 Election Safety: ${known} and ${id} both lead term ${term}`,
      );
      leaderOfTerm.set(term, id);
    }
  }
  assertLogMatching(c);
  assertStateMachineSafety(c);
}

test("§5.2 Election Safety, §5.3 Log Matching, §5.4.3 State Machine Safety hold for random drop/reorder/duplicate schedules", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 5 }),
      fc.nat(),
      fc.array(action(5), { minLength: 50, maxLength: 400, size: "max" }),
      (size, seed, actions) => {
        run(
          size,
          seed,
          actions.map((a) => ("node" in a ? { ...a, node: a.node % size } : a)),
        );
      },
    ),
    { numRuns: 300, seed: 20261126 },
  );
});

test("the property test notices a broken rule: granting two votes per term breaks Election Safety", () => {
  let caught = false;
  for (let seed = 0; seed < 300 && !caught; seed++) {
    const c = new Cluster(3, {
      seed,
      electionTicks: 4,
      preVote: false,
      checkQuorum: false,
      mutations: { grantTwoVotesPerTerm: true },
    });
    const leaderOfTerm = new Map<number, NodeId>();
    try {
      for (let step = 0; step < 200 && !caught; step++) {
        for (const id of c.ids) c.tick(id);
        c.processAll();
        c.queue.reverse(); // reorder so competing candidates' requests interleave
        c.deliver();
        c.processAll();
        for (const id of c.leaders()) {
          const known = leaderOfTerm.get(c.raft(id).term);
          if (known !== undefined && known !== id) caught = true;
          leaderOfTerm.set(c.raft(id).term, id);
        }
      }
    } catch {
      caught = true; // the core's own two-leaders invariant fired
    }
  }
  assert.ok(caught);
});
