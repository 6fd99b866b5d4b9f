// A follower that blocks for longer than linkSilenceMsMax while it applies a received snapshot (a
// synchronous restore of a large state) loses its leader's connection, as a stopped process does. It
// must then catch up: the snapshot counts as sent (its SNAP_DONE went out before the stall), it is not
// sent again, and the link comes back without resetting again and again.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Message } from "../../src/raft/types.js";
import { TcpTransport } from "../../src/transport/index.js";
import { clusterId, host, sleep, waitFor } from "./link-helpers.js";

const linkSilenceMsMax = 400;

test("a follower stalled 3 x linkSilenceMsMax applying a 4 MB snapshot catches up without a reset loop", {
  timeout: 30_000,
}, async () => {
  const received: Message[] = [];
  const snapshotsSent: boolean[] = [];
  const sender = new TcpTransport({
    id: 1,
    clusterId,
    limits: { linkSilenceMsMax, linkAckDelayMs: 20, reconnectMaxMs: 200 },
    listen: { host, port: 0 },
    onMessage: (m) => received.push(m),
    onSnapshotSent: (_peer, ok) => snapshotsSent.push(ok),
  });
  await sender.start();
  const script = fileURLToPath(new URL("./stalling-peer.js", import.meta.url));
  const stallMs = 3 * linkSilenceMsMax;
  const child = spawn(
    process.execPath,
    [script, String(sender.address().port), String(stallMs), String(linkSilenceMsMax)],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  let seq = 0;
  const beats = setInterval(
    () => sender.send([{ type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, readSeq: ++seq }]),
    10,
  );
  try {
    const [line] = (await once(child.stdout, "data")) as [Buffer];
    sender.addPeer(2, { host, port: Number(line.toString().trim()) });
    const stats = () => sender.stats().peers.get(2)!;
    await waitFor("heartbeats answered", () => received.some((m) => m.type === "heartbeatResp"));
    const data = new Uint8Array(4 * 1024 * 1024).fill(7);
    const meta = { index: 10, term: 1, config: { voters: [1, 2], learners: [] } };
    sender.send([{ type: "snap", from: 1, to: 2, term: 1, snapshot: { meta, data } }]);
    await waitFor("the snapshot applied", () => received.some((m) => m.type === "appResp"), 15_000);
    const afterApply = seq;
    await waitFor("heartbeats answered after the stall", () =>
      received.some((m) => m.type === "heartbeatResp" && m.readSeq > afterApply),
    );
    const resets = stats().silenceResets;
    await sleep(5 * linkSilenceMsMax);
    console.log(`# silence resets during the stall: ${resets}; snapshot reports: ${snapshotsSent.join(",")}`);
    assert.deepEqual(snapshotsSent, [true], "the snapshot counts as sent once, never failed");
    assert.ok(resets <= 2, `${resets} resets for one stall`);
    assert.equal(stats().silenceResets, resets, "no reset after the stall");
    assert.equal(stats().connected, true);
  } finally {
    clearInterval(beats);
    child.stdin.end();
    await once(child, "exit");
    await sender.close();
  }
});
