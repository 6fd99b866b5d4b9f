// Review of pop?wait= on a stack id this node's state lacks (server/blocking.ts, idStackMissing).
import assert from "node:assert/strict";
import { test } from "node:test";
import { BlockingPops, type StackService } from "../../src/server/index.js";
import { type Outcome, StackMachine } from "../../src/stack/index.js";

/**
 * A follower behind the leader: stack 5 exists there (empty), not yet here. Each pop it forwards comes
 * back stack_empty.
 */
function laggingFollower() {
  const local = new StackMachine();
  let proposals = 0;
  const service = {
    onApplied: () => () => {},
    read: async <T>(fn: (m: StackMachine) => T) => fn(local),
    propose: async (): Promise<Outcome> => {
      proposals++;
      await new Promise((r) => setTimeout(r, 1));
      return { ok: false, code: "stack_empty" } as Outcome;
    },
  } as unknown as StackService;
  return { service, proposals: () => proposals };
}

test("a waiter on an id missing here proposes once, not in a loop while the leader answers stack_empty", {
  timeout: 10_000,
}, async () => {
  const f = laggingFollower();
  const pops = new BlockingPops(f.service);
  try {
    const outcome = await pops.wait({ type: "bpopId", id: 5, atMs: 0 }, 300);
    assert.equal(outcome, undefined, "the deadline passes with nothing popped");
    // Before the fix: one replicated pop per round trip for the whole wait (hundreds here).
    assert.ok(f.proposals() <= 2, `${f.proposals()} pops proposed for one waiter`);
  } finally {
    pops.close();
  }
});
