// A peer connection cut silently (packets dropped: no reset, no FIN) is found dead within
// linkSilenceMsMax, reset, its stale queue dropped, and redialled after the heal; a slow but healthy
// link, a peer of protocol 3 and a peer that accepts but never reads are handled without harm.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { certFiles, makeDevCerts } from "../../src/cli/certs.js";
import type { Message } from "../../src/raft/types.js";
import { decodeFrame, FrameDecoder } from "../../src/transport/codec.js";
import { FRAME_HELLO } from "../../src/transport/frame.js";
import {
  type PeerStats,
  type PeerTls,
  TcpTransport,
  type TransportLimits,
} from "../../src/transport/index.js";
import { SilenceWatch } from "../../src/transport/link-liveness.js";
import { BlackHoleProxy, type ProxyShape } from "./black-hole-proxy.js";
import { clusterId, host, sleep, waitFor } from "./link-helpers.js";

const linkSilenceMsMax = 400;
const limits: Partial<TransportLimits> = { linkSilenceMsMax, linkAckDelayMs: 20, reconnectMaxMs: 200 };
/** How long detection may take: the silence, one check period, and room for a loaded machine. */
const detectMsMax = linkSilenceMsMax * 1.25 + 1000;

const hb = (readSeq: number): Message => ({ type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, readSeq });

interface Pair {
  readonly sender: TcpTransport;
  readonly receiver: TcpTransport;
  readonly proxy: BlackHoleProxy;
  readonly received: Message[];
  readonly warnings: string[];
  readonly infos: string[];
  stats(): PeerStats;
  close(): Promise<void>;
}

/** Node 1 sends to node 2 through a proxy; node 2 listens directly. */
async function pairThroughProxy(shape: ProxyShape = {}, tls?: PeerTls): Promise<Pair> {
  const received: Message[] = [];
  const warnings: string[] = [];
  const infos: string[] = [];
  const common = { clusterId, limits, ...(tls === undefined ? {} : { tls }) };
  const receiver = new TcpTransport({
    ...common,
    id: 2,
    listen: { host, port: 0 },
    onMessage: (m) => received.push(m),
  });
  await receiver.start();
  const proxy = new BlackHoleProxy(receiver.address(), shape);
  const port = await proxy.start();
  const sender = new TcpTransport({
    ...common,
    id: 1,
    listen: { host, port: 0 },
    onMessage() {},
    logger: { warn: (_obj, msg) => warnings.push(msg), info: (_obj, msg) => infos.push(msg) },
    peers: new Map([[2, { host, port }]]),
  });
  await sender.start();
  receiver.addPeer(1, sender.address());
  return {
    sender,
    receiver,
    proxy,
    received,
    warnings,
    infos,
    stats: () => sender.stats().peers.get(2)!,
    async close() {
      proxy.close();
      await Promise.all([sender.close(), receiver.close()]);
    },
  };
}

/** Node 1, started, with node 2 at `server` (a stand-in peer), which it makes listen on a free port. */
async function senderTo(server: Server): Promise<{ sender: TcpTransport; warnings: string[] }> {
  await new Promise<void>((r) => server.listen(0, host, r));
  const a = server.address();
  assert.ok(a !== null && typeof a === "object");
  const warnings: string[] = [];
  const sender = new TcpTransport({
    id: 1,
    clusterId,
    limits,
    listen: { host, port: 0 },
    onMessage() {},
    logger: { warn: (_obj, msg) => warnings.push(msg) },
    peers: new Map([[2, { host, port: a.port }]]),
  });
  await sender.start();
  return { sender, warnings };
}

/** Sends a heartbeat every `everyMs` until stopped; its readSeq numbers them from 1. */
function heartbeats(t: TcpTransport, everyMs: number): { seq(): number; stop(): void } {
  let seq = 0;
  const timer = setInterval(() => t.send([hb(++seq)]), everyMs);
  return { seq: () => seq, stop: () => clearInterval(timer) };
}

const seqs = (msgs: readonly Message[]) => msgs.map((m) => (m.type === "heartbeat" ? m.readSeq : -1));

describe("link liveness", () => {
  test("a cut link is dead within linkSilenceMsMax, its stale queue (a TimeoutNow too) never arrives, and it redials after the heal", {
    timeout: 30_000,
  }, async () => {
    const p = await pairThroughProxy();
    const beats = heartbeats(p.sender, 10);
    try {
      await waitFor("a connection and heartbeats", () => p.stats().connected && p.received.length > 5);
      const cutSeq = beats.seq();
      const cutAt = performance.now();
      p.proxy.cutOff();
      await waitFor("the link to be found dead", () => !p.stats().connected, detectMsMax);
      const detectedMs = Math.round(performance.now() - cutAt);
      console.log(`# the cut was detected after ${detectedMs} ms (linkSilenceMsMax ${linkSilenceMsMax})`);
      assert.ok(detectedMs >= linkSilenceMsMax, "not before the silence limit");
      // The leader abandons a transfer after an election timeout; delivered at the heal, a TimeoutNow
      // makes its target campaign (skipping the pre-vote) and depose a healthy leader.
      p.sender.send([{ type: "timeoutNow", from: 1, to: 2, term: 1 }]);
      // The cut lasts: redials fail (refused here), the link stays down, one reset and one warning.
      await sleep(3 * linkSilenceMsMax);
      assert.equal(p.stats().connected, false, "down during the cut");
      assert.equal(p.stats().silenceResets, 1, "one silence reset, not one per redial");
      assert.ok(p.stats().reconnects >= 2, "it kept redialling");
      assert.deepEqual(p.warnings, ["peer connection lost"], "warned once");
      assert.deepEqual(p.infos, [], "not restored while cut");
      assert.ok(p.stats().queueMessages === 0, "nothing stale queued while down");
      const healSeq = beats.seq();
      await p.proxy.heal();
      await waitFor("heartbeats sent after the heal", () => seqs(p.received).some((s) => s > healSeq));
      const stale = seqs(p.received).filter((s) => s > cutSeq && s <= healSeq);
      assert.deepEqual(stale, [], "no heartbeat written or queued during the cut reached the peer");
      assert.deepEqual(
        p.received.filter((m) => m.type === "timeoutNow"),
        [],
        "no TimeoutNow sent during the cut reached the peer",
      );
      assert.equal(p.stats().connected, true);
      await waitFor("the end of the outage logged", () => p.infos.length > 0);
      assert.deepEqual(p.infos, ["peer connection restored"], "logged once, with the outage's length");
    } finally {
      beats.stop();
      await p.close();
    }
  });

  test("an idle link to a vanished peer is found dead too (probes)", { timeout: 15_000 }, async () => {
    const p = await pairThroughProxy();
    try {
      await waitFor("a connection", () => p.stats().connected);
      p.proxy.cutOff();
      await waitFor(
        "the idle link to be found dead",
        () => !p.stats().connected,
        detectMsMax + linkSilenceMsMax,
      );
      assert.equal(p.stats().silenceResets, 1);
    } finally {
      await p.close();
    }
  });

  test("a slow but healthy link (100 ms each way, 2 MB/s) carrying a 1 MB snapshot is never reset", {
    timeout: 30_000,
  }, async () => {
    const p = await pairThroughProxy({ delayMs: 100, bytesPerSecond: 2 * 1024 * 1024 });
    const beats = heartbeats(p.sender, 10);
    try {
      await waitFor("a connection", () => p.stats().connected);
      const data = new Uint8Array(1024 * 1024).fill(7);
      const meta = { index: 10, term: 1, config: { voters: [1, 2], learners: [] } };
      p.sender.send([{ type: "snap", from: 1, to: 2, term: 1, snapshot: { meta, data } }]);
      await waitFor("the snapshot", () => p.received.some((m) => m.type === "snap"), 20_000);
      await sleep(2 * linkSilenceMsMax);
      assert.equal(p.stats().silenceResets, 0, "never reset");
      assert.equal(p.stats().reconnects, 0, "never redialled");
      assert.ok(p.received.length > 50, `${p.received.length} messages arrived`);
    } finally {
      beats.stop();
      await p.close();
    }
  });

  test("over peer mTLS a cut link is found dead and redialled after the heal", {
    timeout: 30_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftstack-liveness-"));
    makeDevCerts({ dir, nodes: 1 });
    const f = certFiles(dir);
    const tls = { cert: readFileSync(f.node(1)), key: readFileSync(f.nodeKey(1)), ca: readFileSync(f.ca) };
    const p = await pairThroughProxy({}, tls);
    const beats = heartbeats(p.sender, 10);
    try {
      await waitFor("a connection", () => p.stats().connected && p.received.length > 0);
      p.proxy.cutOff();
      await waitFor("the link to be found dead", () => !p.stats().connected, detectMsMax);
      assert.equal(p.stats().silenceResets, 1);
      const healSeq = beats.seq();
      await p.proxy.heal();
      await waitFor("heartbeats after the heal", () => seqs(p.received).some((s) => s > healSeq));
    } finally {
      beats.stop();
      await p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a peer that accepts but never reads (a stopped process) is reset again and again, warned of once", {
    timeout: 15_000,
  }, async () => {
    const held: Socket[] = [];
    const stopped = createServer((s) => {
      s.pause();
      s.on("error", () => {});
      held.push(s);
    });
    const { sender, warnings } = await senderTo(stopped);
    const beats = heartbeats(sender, 10);
    try {
      await waitFor("three resets", () => sender.stats().peers.get(2)!.silenceResets >= 3, 6 * detectMsMax);
      assert.deepEqual(warnings, ["peer connection lost"], "one warning for the whole stop");
    } finally {
      beats.stop();
      await sender.close();
      for (const s of held) s.destroy();
      stopped.close();
    }
  });

  test("a peer of protocol 3 (never acknowledges) keeps a healthy link, never reset", {
    timeout: 15_000,
  }, async () => {
    // Protocol 3: a HELLO of another version closes the connection unanswered; nothing is ever sent back.
    const versions: number[] = [];
    let heartbeatsRead = 0;
    const old = createServer((s) => {
      const decoder = new FrameDecoder(1 << 20);
      s.on("error", () => {});
      s.on("data", (chunk: Buffer) => {
        for (const payload of decoder.push(chunk)) {
          if (payload[0] === FRAME_HELLO) {
            versions.push(payload[1]!);
            if (payload[1] !== 3) s.destroy();
          } else if (decodeFrame(payload).kind === "message") heartbeatsRead++;
          else s.destroy();
        }
      });
    });
    const { sender } = await senderTo(old);
    const beats = heartbeats(sender, 10);
    try {
      await waitFor("heartbeats read by the old peer", () => heartbeatsRead > 10);
      const readBefore = heartbeatsRead;
      await sleep(4 * linkSilenceMsMax);
      const s = sender.stats().peers.get(2)!;
      // One step down per refusal (a build of 4 would take the second HELLO).
      assert.deepEqual(versions, [5, 4, 3], "HELLO 5 and 4, refused; then 3 for good");
      assert.equal(s.silenceResets, 0);
      assert.equal(s.reconnects, 2, "only the refused HELLO 5 and 4");
      assert.ok(heartbeatsRead > readBefore + 50, "the link kept carrying heartbeats");
    } finally {
      beats.stop();
      await sender.close();
      old.close();
    }
  });
});

describe("silence watch", () => {
  test("dead only after written bytes wait linkSilenceMsMax with no acknowledgement progress", () => {
    let now = 0;
    const w = new SilenceWatch(100, () => now);
    const at = (ms: number) => {
      now = ms;
      return w.check();
    };
    assert.equal(at(25), "probe", "idle: ask for an ack");
    w.wrote(10);
    assert.equal(at(50), "alive");
    assert.equal(at(75), "alive");
    assert.equal(at(99), "alive");
    w.ack(4); // progress: the clock restarts
    assert.equal(at(125), "alive");
    assert.equal(at(150), "alive");
    assert.equal(at(175), "alive");
    assert.equal(at(198), "alive");
    assert.equal(at(199), "dead");
    w.ack(10);
    assert.equal(w.check(), "probe", "all acknowledged, nothing written since the last check");
    assert.throws(() => w.ack(11), /ack of 11 bytes/);
    assert.throws(() => w.ack(3), /ack of 3 bytes/);
  });

  test("a check that comes late (this process stalled, acks may wait unread) restarts the clock", () => {
    let now = 0;
    const w = new SilenceWatch(100, () => now);
    w.wrote(10);
    now = 25;
    assert.equal(w.check(), "alive");
    now = 400; // stalled 375 ms: more than two check periods
    assert.equal(w.check(), "alive", "not dead on the first check after a stall");
    for (now = 425; now < 500; now += 25) assert.equal(w.check(), "alive");
    assert.equal(w.check(), "dead", "dead once the silence lasts linkSilenceMsMax after the stall");
  });
});
