// dialTimeoutMs bounds the wait for a dial's SYN to be answered (a SYN lost in a cut is retransmitted
// only after 1 s). A peer addressed by host name is looked up first; a lookup slower than
// dialTimeoutMs (a loaded resolver) is no lost SYN, and must not keep the link from ever connecting.
import assert from "node:assert/strict";
import dns from "node:dns";
import { createServer } from "node:net";
import { test } from "node:test";
import type { Message } from "../../src/raft/types.js";
import { TcpTransport } from "../../src/transport/index.js";

const host = "127.0.0.1";
const clusterId = "test-cluster";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a peer whose host name takes longer than dialTimeoutMs to look up is still connected to", {
  timeout: 15_000,
}, async () => {
  const limits = { dialTimeoutMs: 200, connectTimeoutMs: 1000, reconnectMaxMs: 200 };
  const lookupDelayMs = 400;
  // Node 2 accepts node 1 but never dials it (node 1's address there is a port nobody listens on).
  const nowhere = createServer();
  await new Promise<void>((r) => nowhere.listen(0, host, r));
  const unused = nowhere.address();
  assert.ok(unused !== null && typeof unused === "object");
  await new Promise<void>((r) => nowhere.close(() => r()));
  const received: Message[] = [];
  const receiver = new TcpTransport({
    id: 2,
    clusterId,
    limits,
    listen: { host, port: 0 },
    onMessage: (m) => received.push(m),
    peers: new Map([[1, { host, port: unused.port }]]),
  });
  await receiver.start();
  const lookup = dns.lookup;
  let lookups = 0;
  // A slow resolver: every answer comes lookupDelayMs late.
  (dns as { lookup: unknown }).lookup = (...args: unknown[]) => {
    lookups++;
    setTimeout(() => (lookup as (...a: unknown[]) => void)(...args), lookupDelayMs);
  };
  const sender = new TcpTransport({
    id: 1,
    clusterId,
    limits,
    listen: { host, port: 0 },
    onMessage() {},
    peers: new Map([[2, { host: "localhost", port: receiver.address().port }]]),
  });
  try {
    await sender.start();
    const deadline = Date.now() + 5000;
    while (!sender.stats().peers.get(2)!.connected && Date.now() < deadline) await sleep(10);
    assert.ok(sender.stats().peers.get(2)!.connected, `never connected after ${lookups} lookups`);
  } finally {
    dns.lookup = lookup;
    await Promise.all([sender.close(), receiver.close()]);
  }
});

test("a dial answered while this process stood still (a long GC) is not taken for a lost SYN", {
  timeout: 15_000,
}, async () => {
  const limits = { dialTimeoutMs: 100, connectTimeoutMs: 1000, reconnectMaxMs: 200 };
  const nowhere = createServer();
  await new Promise<void>((r) => nowhere.listen(0, host, r));
  const unused = nowhere.address();
  assert.ok(unused !== null && typeof unused === "object");
  await new Promise<void>((r) => nowhere.close(() => r()));
  const receiver = new TcpTransport({
    id: 2,
    clusterId,
    limits,
    listen: { host, port: 0 },
    onMessage() {},
    peers: new Map([[1, { host, port: unused.port }]]),
  });
  await receiver.start();
  const sender = new TcpTransport({
    id: 1,
    clusterId,
    limits,
    listen: { host, port: 0 },
    onMessage() {},
    peers: new Map([[2, receiver.address()]]),
  });
  try {
    await sender.start(); // dials node 2
    // The kernel answers the SYN meanwhile; the dial timer and the connect event wait unrun.
    const end = Date.now() + 3 * limits.dialTimeoutMs;
    while (Date.now() < end) {
      // stand still
    }
    const deadline = Date.now() + 5000;
    while (!sender.stats().peers.get(2)!.connected && Date.now() < deadline) await sleep(10);
    assert.equal(sender.stats().peers.get(2)!.reconnects, 0, "the answered dial was dropped and redialled");
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});
