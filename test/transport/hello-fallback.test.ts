// A sender falls back one HELLO version (down to 3) when a peer closes a connection unanswered (an
// older build does). A peer of the newest protocol that closes one connection that way (killed or
// crashed just after accepting it) must not leave the link on an older one for good: a connection of
// protocol 3 is never acknowledged, so a silent cut of it would go unnoticed again for TCP's minutes,
// and one of 4 would not tell a follower that the leader reads a forwarded run (protocol 5).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PROTOCOL_VERSION, type TransportLimits } from "../../src/transport/index.js";
import { glitchyPair, heartbeat as hb, sleep, waitFor } from "./link-helpers.js";

const linkSilenceMsMax = 400;
const ackDelayMs = 20;
const limits: Partial<TransportLimits> = {
  linkSilenceMsMax,
  linkAckDelayMs: ackDelayMs,
  reconnectMaxMs: 200,
};

describe("HELLO fallback", () => {
  test("a peer known to speak the newest version that closes one connection unanswered keeps getting it", {
    timeout: 15_000,
  }, async () => {
    const p = await glitchyPair(limits);
    try {
      // Node 2 dials node 1 directly: node 1 reads node 2's own HELLO of PROTOCOL_VERSION.
      p.receiver.addPeer(1, p.sender.address());
      p.receiver.send([hb(2, 1)]);
      await waitFor("node 2's connection to node 1", () => p.fromReceiver.length > 0);
      await waitFor(
        "node 1's link up",
        () => p.sender.stats().peers.get(2)!.connected && p.versions.length === 1,
      );
      await sleep(10 * ackDelayMs); // acknowledged: its close is no sign of an old peer
      p.glitchNext();
      p.dropCurrent();
      await waitFor("a connection after the glitch", () => p.versions.length >= 3);
      await sleep(4 * linkSilenceMsMax);
      assert.equal(
        p.versions.at(-1),
        PROTOCOL_VERSION,
        `HELLO versions ${p.versions.join(",")}: the link stayed on an older version`,
      );
    } finally {
      await p.close();
    }
  });

  test("a link that fell back goes back to the newest version once the peer's own HELLO says it", {
    timeout: 15_000,
  }, async () => {
    const p = await glitchyPair(limits);
    try {
      // The first connection is closed unanswered before node 1 knows anything of node 2.
      p.glitchNext();
      await waitFor("the fallback connection", () => p.versions.length >= 2);
      // One step down (a build of 4 keeps its liveness acks), not straight to 3.
      assert.deepEqual(p.versions, [PROTOCOL_VERSION, PROTOCOL_VERSION - 1]);
      await waitFor("node 1's link up", () => p.sender.stats().peers.get(2)!.connected);
      // Now node 2 (restarted) dials node 1: its HELLO says PROTOCOL_VERSION.
      p.receiver.addPeer(1, p.sender.address());
      p.receiver.send([hb(2, 1)]);
      await waitFor("node 2's connection to node 1", () => p.fromReceiver.length > 0);
      await waitFor(
        "a connection of the newest protocol again",
        () => p.versions.at(-1) === PROTOCOL_VERSION,
      );
      await sleep(4 * linkSilenceMsMax);
      assert.equal(p.versions.at(-1), PROTOCOL_VERSION, `HELLO versions ${p.versions.join(",")}`);
      assert.ok(p.sender.stats().peers.get(2)!.connected);
    } finally {
      await p.close();
    }
  });
});
