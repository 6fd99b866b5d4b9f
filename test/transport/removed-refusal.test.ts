// A member refuses the handshake of a node it knows was removed with the code "removed" (codec.ts,
// RefuseCode), which the dialler's onRemoved hears, and logs it once per id; any other unknown node (a
// learner whose addition the member has not applied yet) gets a plain refusal and redials until it is
// a peer. Before the code, a removed node that missed its removal was refused as "unknown node" for good,
// a warning per refusal, and could not tell that refusal from a learner's.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Message, NodeId } from "../../src/raft/types.js";
import { decodeFrame, encodeRefuseFrame } from "../../src/transport/codec.js";
import { FRAME_HEADER_BYTES } from "../../src/transport/frame.js";
import { TcpTransport } from "../../src/transport/index.js";
import { clusterId, host, sleep, waitFor } from "./link-helpers.js";

interface Logged {
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** A started transport of node `id`; `removed` ids are refused as such, `told` collects onRemoved. */
async function node(
  id: NodeId,
  opts: { removed?: readonly NodeId[]; onMessage?: (m: Message) => void } = {},
): Promise<{ t: TcpTransport; logged: Logged[]; told: NodeId[] }> {
  const logged: Logged[] = [];
  const told: NodeId[] = [];
  const t = new TcpTransport({
    id,
    clusterId,
    listen: { host, port: 0 },
    onMessage: opts.onMessage ?? (() => {}),
    isRemoved: (peer) => opts.removed?.includes(peer) === true,
    onRemoved: (peer) => told.push(peer),
    logger: { warn: (fields, msg) => logged.push({ msg, fields: fields as Record<string, unknown> }) },
    // Redial fast, so a test sees many refusals in little time.
    limits: { reconnectMinMs: 5, reconnectMaxMs: 20 },
  });
  await t.start();
  return { t, logged, told };
}

const hb = (readSeq: number): Message => ({ type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, readSeq });

function payload(frame: Uint8Array): Uint8Array {
  return frame.subarray(FRAME_HEADER_BYTES);
}

describe("REFUSE frames: the removed code", () => {
  test("the code travels after the reason; none (an older receiver's) or an unknown one is a plain refusal", () => {
    assert.deepEqual(decodeFrame(payload(encodeRefuseFrame("node 1 was removed", "removed"))), {
      kind: "refuse",
      reason: "node 1 was removed",
      code: "removed",
    });
    assert.deepEqual(decodeFrame(payload(encodeRefuseFrame("unknown node 1"))), {
      kind: "refuse",
      reason: "unknown node 1",
      code: undefined,
    });
    // A later build's code this one does not know.
    const unknown = Uint8Array.from([...payload(encodeRefuseFrame("later")), 200]);
    assert.deepEqual(decodeFrame(unknown), { kind: "refuse", reason: "later", code: undefined });
  });
});

describe("a member's refusal of a removed node", { timeout: 30_000 }, () => {
  test("is coded removed, reaches the dialler's onRemoved, and is logged once however often it redials", async () => {
    const member = await node(2, { removed: [1] });
    // The dialler's transport alone does not stop (the node decides): it redials, refused each time.
    const removed = await node(1);
    removed.t.addPeer(2, member.t.address());
    try {
      await waitFor("five refusals", () => (removed.t.stats().peers.get(2)?.refusals ?? 0) >= 5);
      assert.ok(removed.told.length >= 5, `onRemoved heard ${removed.told.length} times`);
      assert.ok(
        removed.told.every((by) => by === 2),
        "onRemoved names the member",
      );
      assert.ok(member.t.stats().handshakesRefused >= 5, "every refusal counted");
      const warnings = member.logged.filter((l) => l.msg === "peer handshake refused");
      assert.equal(warnings.length, 1, "one warning for the removed id");
      assert.match(String(warnings[0]?.fields["reason"]), /node 1 was removed from the cluster/);
    } finally {
      await Promise.all([member.t.close(), removed.t.close()]);
    }
  });

  test("a removed id whose link the member still holds (its goodbye in flight) is accepted", async () => {
    const received: Message[] = [];
    const member = await node(2, { removed: [1], onMessage: (m) => received.push(m) });
    const removed = await node(1);
    // The member's link to 1 retires a while after the removal (node/peer-links.ts, followMembers).
    member.t.addPeer(1, removed.t.address());
    removed.t.addPeer(2, member.t.address());
    try {
      const timer = setInterval(() => removed.t.send([hb(1)]), 5);
      try {
        await waitFor("a heartbeat through", () => received.length > 0);
      } finally {
        clearInterval(timer);
      }
      assert.deepEqual(removed.told, []);
      assert.equal(member.t.stats().handshakesRefused, 0);
    } finally {
      await Promise.all([member.t.close(), removed.t.close()]);
    }
  });

  test("an unknown node not removed (a learner not applied yet) is refused plainly, redials, and gets in once a peer", async () => {
    const received: Message[] = [];
    const member = await node(2, { onMessage: (m) => received.push(m) });
    const learner = await node(1);
    learner.t.addPeer(2, member.t.address());
    try {
      await waitFor("three refusals", () => (learner.t.stats().peers.get(2)?.refusals ?? 0) >= 3);
      assert.deepEqual(learner.told, [], "a plain refusal does not say removed");
      assert.match(
        String(member.logged.find((l) => l.msg === "peer handshake refused")?.fields["reason"]),
        /^unknown node 1$/,
      );
      // The member applies the learner's addition: the next redial gets in.
      member.t.addPeer(1, learner.t.address());
      const timer = setInterval(() => learner.t.send([hb(1)]), 5);
      try {
        await waitFor("a heartbeat through", () => received.length > 0);
      } finally {
        clearInterval(timer);
      }
      await sleep(20);
      assert.deepEqual(learner.told, []);
    } finally {
      await Promise.all([member.t.close(), learner.t.close()]);
    }
  });
});
