// dialTimeoutMs bounds the wait for a dial's SYN to be answered (a SYN lost in a cut is retransmitted
// only after 1 s). Neither a slow lookup of a peer's host name nor this process standing still while
// the answer arrives is a lost SYN: neither may drop the dial, or keep the link from ever connecting.
import assert from "node:assert/strict";
import dns from "node:dns";
import { test } from "node:test";
import { acceptingNode, dialingNode, waitFor } from "./link-helpers.js";

const connected = (sender: Awaited<ReturnType<typeof dialingNode>>) => sender.stats().peers.get(2)!.connected;

test("a peer whose host name takes longer than dialTimeoutMs to look up is still connected to", {
  timeout: 15_000,
}, async () => {
  const limits = { dialTimeoutMs: 200, connectTimeoutMs: 1000, reconnectMaxMs: 200 };
  const lookupDelayMs = 400;
  const receiver = await acceptingNode(2, 1, limits);
  const lookup = dns.lookup;
  let lookups = 0;
  // A slow resolver: every answer comes lookupDelayMs late.
  (dns as { lookup: unknown }).lookup = (...args: unknown[]) => {
    lookups++;
    setTimeout(() => (lookup as (...a: unknown[]) => void)(...args), lookupDelayMs);
  };
  const sender = await dialingNode(1, 2, { host: "localhost", port: receiver.address().port }, limits);
  try {
    await waitFor(`the link up (${lookups} lookups so far)`, () => connected(sender));
  } finally {
    dns.lookup = lookup;
    await Promise.all([sender.close(), receiver.close()]);
  }
});

test("a dial answered while this process stood still (a long GC) is not taken for a lost SYN", {
  timeout: 15_000,
}, async () => {
  const limits = { dialTimeoutMs: 100, connectTimeoutMs: 1000, reconnectMaxMs: 200 };
  const receiver = await acceptingNode(2, 1, limits);
  const sender = await dialingNode(1, 2, receiver.address(), limits);
  try {
    // The kernel answers the SYN meanwhile; the dial timer and the connect event wait unrun.
    const end = Date.now() + 3 * limits.dialTimeoutMs;
    while (Date.now() < end) {
      // stand still
    }
    await waitFor("the link up", () => connected(sender));
    assert.equal(sender.stats().peers.get(2)!.reconnects, 0, "the answered dial was dropped and redialled");
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});
