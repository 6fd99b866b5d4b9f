// Nodes of one cluster may run different Raft timings (a rolling change of --tick-ms), so their
// linkSilenceMsMax differ. An idle link (between two followers) carries only its sender's probes,
// one per quarter of the sender's linkSilenceMsMax: the receiver must not take that quiet for a dead
// sender and close a healthy connection again and again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { acceptingNode, dialingNode, sleep, waitFor } from "./link-helpers.js";

test("an idle link from a node of 10x slower timing is not closed by its receiver", {
  timeout: 15_000,
}, async () => {
  const receiver = await acceptingNode(2, 1, { linkSilenceMsMax: 300, linkAckDelayMs: 20 });
  const slower = { linkSilenceMsMax: 3000, linkAckDelayMs: 20, reconnectMaxMs: 200 };
  const sender = await dialingNode(1, 2, receiver.address(), slower);
  try {
    await waitFor("the link up", () => sender.stats().peers.get(2)!.connected);
    await sleep(4000);
    const s = sender.stats().peers.get(2)!;
    assert.equal(s.reconnects, 0, `the idle link was closed ${s.reconnects} times`);
    assert.equal(s.connected, true);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});
