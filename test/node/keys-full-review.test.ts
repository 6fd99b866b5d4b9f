// Review of commit 0898e38 (a follower's node-made key refused idempotency_keys_full: the write is sent
// again without a key). Its safety argument: a keys_full answer for key K proves no EARLIER attempt with
// K was applied, nor can be later (a later leader's log holds an older leader's entry only before its
// own). But an attempt need not be in any log yet: a forward frame can still be on its way (the kernel
// buffers what a cut link writes and delivers it at the heal, transport/link-liveness.ts), and the leader
// that reads it then proposes it in its CURRENT term. Its key was never recorded (refused), so it applies.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeError } from "../../src/node/index.js";
import type { ForwardRequest, ForwardResult } from "../../src/transport/index.js";
import { asciiRun } from "./runs.js";
import { followerKeyTaken, leaderOf } from "./three-drivers.js";

for (const how of ["a command", "a run, then per command to a leader of protocol 4"] as const) {
  test(`a forwarded attempt still on its way when keys_full comes back is not applied a second time (${how})`, {
    timeout: 30_000,
  }, async () => {
    // The follower's first keyless write takes one of the table's two slots (until it ages out, 3 s from
    // now); the follower's replica is not yet 90 % full, so the next write goes with a key of its own too.
    const nodes = await followerKeyTaken({ sessionsMax: 2, sessionRetentionMs: 3000 });
    const { clock, drivers, requests, net, leader: first, from, other: next, follower } = nodes;
    const { leaderRequests: firstRequests } = nodes;
    // The next write's frame to the first leader is held on the way (a cut link follower -> leader).
    const held: { request: ForwardRequest; respond: (r: ForwardResult) => void }[] = [];
    const receive = firstRequests.receive.bind(firstRequests);
    firstRequests.receive = (f, request, respond) => {
      if (f === from) held.push({ request, respond });
      else receive(f, request, respond);
    };
    let answer: string | undefined;
    const told = (code: string) => {
      answer = code;
    };
    if (how === "a command") {
      follower.propose({ type: "lpush", label: "s", items: ["w"], atMs: 0 }).then(
        (o) => told(o.ok ? "ok" : o.code),
        (e: NodeError) => told(e.code),
      );
    } else {
      follower.submitRun(asciiRun([["s", "w"]]), {
        resolveAt: (_i, o) => told(o.ok ? "ok" : o.code),
        rejectAt: (_i, e) => told((e as NodeError).code),
      });
      // The next leader is of protocol 4: the run goes to it command by command, under the run's keys.
      net.versions.set(next, 4);
    }
    await clock.advance(20);
    assert.equal(held.length, 1, "the first attempt is on its way");
    // A client's own keyed write takes the last slot: the resend below is refused keys_full.
    void firstRequests.propose({ type: "lpush", label: "t", items: ["fill"], key: "client-fill", atMs: 0 });
    await clock.advance(50);
    // Leadership moves; the follower sends the write again (same key) to the new leader: table full,
    // refused keys_full (since 0898e38: then sent again without a key, and applied).
    assert.ok(first.transferLeadership(next));
    await clock.advance(1000);
    assert.equal(leaderOf(drivers).id, next);
    // The first key ages out (the replicated clock follows the entries: others' writes, a second apart);
    // leadership comes back to the first leader, and the held frame arrives.
    for (let i = 0; i < 4; i++) {
      requests.get(next)?.propose({ type: "lpush", label: "t", items: [`${i}`], atMs: 0 });
      await clock.advance(1000);
    }
    assert.ok(answer !== undefined, "the client was answered");
    assert.ok(drivers.get(next)?.transferLeadership(first.id));
    await clock.advance(1000);
    assert.equal(leaderOf(drivers).id, first.id);
    firstRequests.receive = receive;
    for (const h of held) receive(from, h.request, h.respond);
    await clock.advance(500);
    // The client's answer must stay true: acknowledged, w is there once; refused, never; unknown, at most once.
    const most = answer === "ok" || answer === "timeout" ? 1 : 0;
    const least = answer === "ok" ? 1 : 0;
    for (const d of drivers.values()) {
      const ws = (d.machine.range("s", 0, -1) ?? []).filter((item) => item === "w").length;
      assert.ok(
        ws >= least && ws <= most,
        `node ${d.id}: w applied ${ws} times, yet the client was answered ${answer}`,
      );
    }
  });
}
