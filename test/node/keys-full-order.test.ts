// Review of commit 0898e38 (since replaced): a follower's write refused idempotency_keys_full under its
// node-made key was sent again without one, once the refusal came back. A later write of the same pipeline, sent before
// that answer came back, may meanwhile find a slot (keys age out all the time under sustained load) and
// be applied first: the connection's writes land out of request order (docs/resp.md "Pipelining":
// requests are taken in order; a run enters the log in order). Not a loss nor a duplicate, but a
// pipeline's order broken on the normal path, where before a write was only refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeError } from "../../src/node/index.js";
import type { Outcome } from "../../src/stack/index.js";
import type { ForwardResult } from "../../src/transport/index.js";
import { asciiRun } from "./runs.js";
import { followerKeyTaken } from "./three-drivers.js";

test("two pipelined LPUSH through a follower are applied in request order while the table frees up", {
  timeout: 30_000,
}, async () => {
  // The follower's first write takes the table's one slot, for 3 s of the replicated clock (which
  // follows the entries: the leader's own writes, a second apart).
  const { clock, drivers, leader, follower, leaderRequests } = await followerKeyTaken({
    sessionsMax: 1,
    sessionRetentionMs: 3000,
  });
  for (let i = 0; i < 2; i++) {
    leaderRequests.propose({ type: "lpush", label: "t", items: [`${i}`], atMs: 0 });
    await clock.advance(1000);
  }
  // One connection pipelines LPUSH s a, then LPUSH s b. Under 0898e38 a was refused keys_full (x's key
  // is still kept), that answer slow to come back to the follower. Now the follower's replica is full:
  // a goes without a key from the start, and is applied (its answer is held all the same).
  const held: ForwardResult[] = [];
  const result = follower.result.bind(follower);
  follower.result = (f, r) => {
    if (held.length === 0) held.push(r);
    else result(f, r);
  };
  const answers = new Map<string, Outcome | string>();
  const reply = (item: string) => ({
    resolveAt: (_i: number, o: Outcome) => answers.set(item, o),
    rejectAt: (_i: number, e: Error) => answers.set(item, (e as NodeError).code),
  });
  follower.submitRun(asciiRun([["s", "a"]]), reply("a"));
  await clock.advance(20);
  assert.equal(held.length, 1, "a's answer is on its way");
  // x's key ages out; b is sent (the pipeline goes on) and finds the slot.
  leaderRequests.propose({ type: "lpush", label: "t", items: ["2"], atMs: 0 });
  await clock.advance(1000);
  follower.submitRun(asciiRun([["s", "b"]]), reply("b"));
  await clock.advance(20);
  // a's answer arrives (under 0898e38 a refusal, and a was then sent again without a key).
  follower.result = result;
  for (const r of held) result(leader.id, r);
  await clock.advance(100);
  assert.equal(answers.size, 2, "both answered");
  // Refusing a (as before 0898e38) or applying it first keeps the order; applying it after b does not.
  for (const d of drivers.values()) {
    const s = d.machine.range("s", 0, -1) ?? [];
    assert.ok(
      !s.includes("a") || s.indexOf("a") > s.indexOf("b"),
      `node ${d.id}: ${JSON.stringify(s)}, a pushed after b`,
    );
  }
});
