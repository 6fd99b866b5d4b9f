// Review of the one-step HELLO fallback (transport/peer-link.ts): a link that stepped down because a
// connection closed unanswered must step back up once the peer's own HELLO says the newest version,
// also when that HELLO comes while the link waits out its reconnect backoff (peerIsUp then dials at
// once). Otherwise it dials with the older version and keeps it for as long as that connection lives:
// no forwarded runs to that peer (4), or no liveness acks at all (3).
import assert from "node:assert/strict";
import { test } from "node:test";
import { PROTOCOL_VERSION, type TransportLimits } from "../../src/transport/index.js";
import { glitchyPair, heartbeat as hb, sleep, waitFor } from "./link-helpers.js";

const linkSilenceMsMax = 400;
// A long backoff, so the peer's HELLO surely comes while the link waits to dial again.
const limits: Partial<TransportLimits> = {
  linkSilenceMsMax,
  linkAckDelayMs: 20,
  reconnectMinMs: 1500,
  reconnectMaxMs: 1500,
};

test("a link that fell back, told the peer's newest HELLO during its backoff, dials with the newest version", {
  timeout: 20_000,
}, async () => {
  // Node 1 dials node 2 through a front that closes the first connection on its HELLO unanswered.
  const p = await glitchyPair(limits, true);
  try {
    await waitFor("the glitched connection", () => p.versions.length >= 1);
    await waitFor("node 1's link down", () => !p.sender.stats().peers.get(2)!.connected);
    assert.deepEqual(p.versions, [PROTOCOL_VERSION]);
    // Node 2 dials node 1 now, within node 1's backoff: its HELLO says PROTOCOL_VERSION.
    p.receiver.addPeer(1, p.sender.address());
    p.receiver.send([hb(2, 1)]);
    await waitFor("node 1's link up again", () => p.sender.stats().peers.get(2)!.connected);
    await sleep(4 * linkSilenceMsMax);
    assert.equal(
      p.versions.at(-1),
      PROTOCOL_VERSION,
      `HELLO versions ${p.versions.join(",")}: the link stayed on an older version though the peer said ${PROTOCOL_VERSION}`,
    );
  } finally {
    await p.close();
  }
});
