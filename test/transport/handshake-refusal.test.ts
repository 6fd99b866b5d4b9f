// A peer of another cluster (another --cluster-token) is refused, and both sides' logs say what to fix:
// a newcomer saw only "cluster id mismatch: <hex>" and no hint.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Message, NodeId } from "../../src/raft/types.js";
import { TcpTransport } from "../../src/transport/index.js";
import { host, sleep, waitFor } from "./link-helpers.js";

interface Logged {
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

async function node(id: NodeId, clusterId: string): Promise<{ t: TcpTransport; logged: Logged[] }> {
  const logged: Logged[] = [];
  const t = new TcpTransport({
    id,
    clusterId,
    listen: { host, port: 0 },
    onMessage: () => {},
    logger: { warn: (fields, msg) => logged.push({ msg, fields: fields as Record<string, unknown> }) },
    // Warn of an unreachable peer at once, not after the start's grace period.
    limits: { startQuietMs: 0 },
  });
  await t.start();
  return { t, logged };
}

const hb = (readSeq: number): Message => ({ type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, readSeq });

test("a peer of another cluster is refused; both sides log the two ids and the --cluster-token hint", {
  timeout: 15_000,
}, async () => {
  const a = await node(1, "aaaa000011112222");
  const b = await node(2, "bbbb333344445555");
  a.t.addPeer(2, b.t.address());
  b.t.addPeer(1, a.t.address());
  try {
    const timer = setInterval(() => a.t.send([hb(1)]), 5);
    try {
      await waitFor("a refusal", () => (a.t.stats().peers.get(2)?.refusals ?? 0) >= 2);
      await waitFor("the dialer's warning", () => a.logged.length > 0);
    } finally {
      clearInterval(timer);
    }
    await sleep(10);
    assert.ok(b.t.stats().handshakesRefused >= 2);
    const reason =
      "cluster id mismatch: node 1 has aaaa000011112222, node 2 has bbbb333344445555; " +
      "the nodes' --cluster-token values must match";
    const refused = b.logged.find((l) => l.msg === "peer handshake refused");
    assert.equal(refused?.fields["reason"], reason, "the refusing node");
    const lost = a.logged.find((l) => l.msg === "peer connection lost");
    assert.equal(lost?.fields["err"], `refused: ${reason}`, "the refused node");
  } finally {
    await Promise.all([a.t.close(), b.t.close()]);
  }
});
