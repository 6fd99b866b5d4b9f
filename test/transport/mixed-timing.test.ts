// Nodes of one cluster may run different Raft timings (a rolling change of --tick-ms), so their
// linkSilenceMsMax differ. An idle link (between two followers) carries only its sender's probes,
// one per quarter of the sender's linkSilenceMsMax: the receiver must not take that quiet for a dead
// sender and close a healthy connection again and again.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { TcpTransport } from "../../src/transport/index.js";

const host = "127.0.0.1";
const clusterId = "test-cluster";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("an idle link from a node of 10x slower timing is not closed by its receiver", {
  timeout: 15_000,
}, async () => {
  // Node 2 accepts node 1 but never dials it (node 1's address there is a port nobody listens on).
  const nowhere = createServer();
  await new Promise<void>((r) => nowhere.listen(0, host, r));
  const unused = nowhere.address();
  assert.ok(unused !== null && typeof unused === "object");
  await new Promise<void>((r) => nowhere.close(() => r()));
  const receiver = new TcpTransport({
    id: 2,
    clusterId,
    limits: { linkSilenceMsMax: 300, linkAckDelayMs: 20 },
    listen: { host, port: 0 },
    onMessage() {},
    peers: new Map([[1, { host, port: unused.port }]]),
  });
  await receiver.start();
  const sender = new TcpTransport({
    id: 1,
    clusterId,
    limits: { linkSilenceMsMax: 3000, linkAckDelayMs: 20, reconnectMaxMs: 200 },
    listen: { host, port: 0 },
    onMessage() {},
    peers: new Map([[2, receiver.address()]]),
  });
  try {
    await sender.start();
    const deadline = Date.now() + 5000;
    while (!sender.stats().peers.get(2)!.connected && Date.now() < deadline) await sleep(10);
    await sleep(4000);
    const s = sender.stats().peers.get(2)!;
    assert.equal(s.reconnects, 0, `the idle link was closed ${s.reconnects} times`);
    assert.equal(s.connected, true);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});
