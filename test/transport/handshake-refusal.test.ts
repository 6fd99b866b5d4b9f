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

test("a dialler refused again and again is warned of once per reason, not once per dial", {
  timeout: 15_000,
}, async () => {
  // A newcomer saw 27 "addressed to node 11, this is 1" warnings a second (node 11 added on node 1's peer
  // URL) and 9 "cluster id mismatch" a second per member (a wrong --cluster-token). Redials come fast here.
  const limits = { startQuietMs: 0, reconnectMinMs: 5, reconnectMaxMs: 10 };
  const logged: Logged[] = [];
  const logger = { warn: (fields: object, msg: string) => logged.push({ msg, fields: fields as never }) };
  const b = new TcpTransport({
    id: 1,
    clusterId: "c1",
    listen: { host, port: 0 },
    onMessage: () => {},
    logger,
    limits,
  });
  await b.start();
  const others = new TcpTransport({
    id: 2,
    clusterId: "c2",
    listen: { host, port: 0 },
    onMessage: () => {},
    limits,
  });
  const own = new TcpTransport({
    id: 3,
    clusterId: "c1",
    listen: { host, port: 0 },
    onMessage: () => {},
    limits,
  });
  await Promise.all([others.start(), own.start()]);
  others.addPeer(1, b.address());
  own.addPeer(11, b.address());
  const timer = setInterval(() => {
    others.send([hb(1)]);
    own.send([{ ...hb(1), from: 3, to: 11 }]);
  }, 2);
  try {
    const refusals = () =>
      [others.stats().peers.get(1), own.stats().peers.get(11)].map((p) => p?.refusals ?? 0);
    await waitFor("ten refusals of each", () => refusals().every((n) => n >= 10), 10_000);
    clearInterval(timer);
    const reasons = logged
      .filter((l) => l.msg === "peer handshake refused")
      .map((l) => String(l.fields["reason"]));
    assert.equal(reasons.filter((r) => r.startsWith("cluster id mismatch")).length, 1, reasons.join("\n"));
    assert.equal(
      reasons.filter((r) => r === "addressed to node 11, this is 1").length,
      1,
      reasons.join("\n"),
    );
    assert.ok(b.stats().handshakesRefused >= 20, "every refusal is still counted");
  } finally {
    clearInterval(timer);
    await Promise.all([b.close(), others.close(), own.close()]);
  }
});

test("`peer connection restored` waits for an accepted HELLO: a refusal is no restoration", {
  timeout: 15_000,
}, async () => {
  // A trial's log said "peer connection restored" after every refused redial of a node not yet known to
  // its peer: the REFUSE frame was the first thing heard on the connection.
  const logged: Logged[] = [];
  const push = (level: string) => (fields: object, msg: string) =>
    logged.push({ msg: `${level} ${msg}`, fields: fields as Record<string, unknown> });
  const b = new TcpTransport({ id: 2, clusterId: "c", listen: { host, port: 0 }, onMessage: () => {} });
  await b.start();
  const a = new TcpTransport({
    id: 1,
    clusterId: "c",
    listen: { host, port: 0 },
    onMessage: () => {},
    logger: { warn: push("warn"), info: push("info") },
    limits: { startQuietMs: 0, reconnectMinMs: 5, reconnectMaxMs: 20 },
    peers: new Map([[2, b.address()]]),
  });
  await a.start();
  try {
    // Node 2 does not know node 1 yet: each HELLO is refused ("unknown node 1").
    await waitFor("refusals", () => (a.stats().peers.get(2)?.refusals ?? 0) >= 5);
    const msgs = () => logged.map((l) => l.msg);
    assert.ok(msgs().includes("warn peer connection lost"), msgs().join("\n"));
    assert.ok(!msgs().includes("info peer connection restored"), msgs().join("\n"));
    // Now it does: the next HELLO is accepted, and that ends the outage.
    b.addPeer(1, a.address());
    await waitFor("the outage's end", () => msgs().includes("info peer connection restored"));
    assert.equal(msgs().filter((m) => m === "info peer connection restored").length, 1, msgs().join("\n"));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
