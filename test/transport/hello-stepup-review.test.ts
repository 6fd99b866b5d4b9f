// Review of the one-step HELLO fallback (transport/peer-link.ts): a link that stepped down because a
// connection closed unanswered must step back up once the peer's own HELLO says the newest version,
// also when that HELLO comes while the link waits out its reconnect backoff (peerIsUp then dials at
// once). Otherwise it dials with the older version and keeps it for as long as that connection lives:
// no forwarded runs to that peer (4), or no liveness acks at all (3).
import assert from "node:assert/strict";
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { test } from "node:test";
import type { Message } from "../../src/raft/types.js";
import { FRAME_HELLO } from "../../src/transport/frame.js";
import { PROTOCOL_VERSION, type TransportLimits } from "../../src/transport/index.js";
import { acceptingNode, dialingNode, host, sleep, waitFor } from "./link-helpers.js";

const linkSilenceMsMax = 400;
// A long backoff, so the peer's HELLO surely comes while the link waits to dial again.
const limits: Partial<TransportLimits> = {
  linkSilenceMsMax,
  linkAckDelayMs: 20,
  reconnectMinMs: 1500,
  reconnectMaxMs: 1500,
};

const hb = (from: number, to: number): Message => ({
  type: "heartbeat",
  from,
  to,
  term: 1,
  commit: 0,
  readSeq: 1,
});

test("a link that fell back, told the peer's newest HELLO during its backoff, dials with the newest version", {
  timeout: 20_000,
}, async () => {
  const receiver = await acceptingNode(2, 1, limits);
  const versions: number[] = [];
  const sockets: Socket[] = [];
  let glitches = 1;
  // Node 1 dials node 2 through this front, which closes the first connection on its HELLO unanswered.
  const front = createServer((client) => {
    client.on("error", () => {});
    sockets.push(client);
    const glitch = glitches-- > 0;
    client.once("data", (chunk: Buffer) => {
      if (chunk[4] === FRAME_HELLO) versions.push(chunk[5]!);
      if (glitch) client.destroy();
    });
    if (glitch) return;
    const upstream = tcpConnect(receiver.address());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => front.listen(0, host, r));
  const a = front.address();
  assert.ok(a !== null && typeof a === "object");
  const sender = await dialingNode(1, 2, { host, port: a.port }, limits);
  try {
    await waitFor("the glitched connection", () => versions.length >= 1);
    await waitFor("node 1's link down", () => !sender.stats().peers.get(2)!.connected);
    assert.deepEqual(versions, [PROTOCOL_VERSION]);
    // Node 2 dials node 1 now, within node 1's backoff: its HELLO says PROTOCOL_VERSION.
    receiver.addPeer(1, sender.address());
    receiver.send([hb(2, 1)]);
    await waitFor("node 1's link up again", () => sender.stats().peers.get(2)!.connected);
    await sleep(4 * linkSilenceMsMax);
    assert.equal(
      versions.at(-1),
      PROTOCOL_VERSION,
      `HELLO versions ${versions.join(",")}: the link stayed on an older version though the peer said ${PROTOCOL_VERSION}`,
    );
  } finally {
    for (const s of sockets) s.destroy();
    front.close();
    await Promise.all([sender.close(), receiver.close()]);
  }
});
