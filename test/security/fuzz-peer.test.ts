// Hostile bytes on a real peer listener (TcpTransport on port 0): random streams, handshakes of other
// clusters and unknown members, mutated handshakes. No message reaches Raft unless the stream opened
// with this cluster's handshake from a known member, every bad stream is closed, the process stays up,
// and a real peer still gets through afterwards. Then peer mTLS: members with certificates from the CA
// talk; a process without one, or with one from another CA, is closed before a frame is read.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { certFiles, makeDevCerts } from "../../src/cli/certs.js";
import type { Message } from "../../src/raft/types.js";
import { decodeFrame, encodeHelloFrame } from "../../src/transport/codec.js";
import {
  encodeMessageFrame,
  FrameDecoder,
  FrameError,
  type PeerTls,
  TcpTransport,
} from "../../src/transport/index.js";
import fc from "../fast-check.js";

export const PEER_RUNS = 300;

const clusterId = "fuzz-cluster";
const host = "127.0.0.1";
const heartbeat = (from: number, to: number, term: number): Uint8Array =>
  encodeMessageFrame({ type: "heartbeat", from, to, term, commit: 0, readSeq: 0 });

/** Whether `bytes` open with the handshake that node 1 accepts (this cluster, from member 2, to 1). */
function opensWithValidHello(bytes: Uint8Array): boolean {
  try {
    const [first] = new FrameDecoder(4096).push(bytes);
    if (first === undefined) return false;
    const f = decodeFrame(first);
    return f.kind === "hello" && f.hello.clusterId === clusterId && f.hello.from === 2 && f.hello.to === 1;
  } catch (err) {
    if (err instanceof FrameError) return false;
    throw err;
  }
}

/** Waits for `cond`; on time-out the error says what was awaited and, from `state`, where it stands. */
async function waitFor(
  what: string,
  cond: () => boolean,
  timeoutMs = 5000,
  state: () => string = () => "",
): Promise<void> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out after ${Date.now() - started} ms waiting for ${what}${state()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The warnings a transport logged, each kind once with its count: why its links fail, if they do. */
function warnings(name: string, since: number) {
  const seen = new Map<string, { first: string; count: number }>();
  return {
    logger: {
      warn: (obj: object, msg: string) => {
        const w = seen.get(msg) ?? {
          first: `first at +${Date.now() - since} ms ${JSON.stringify(obj)}`,
          count: 0,
        };
        w.count++;
        seen.set(msg, w);
      },
    },
    lines: () => [...seen].map(([msg, w]) => `${name}: ${msg} x${w.count}, ${w.first}`),
  };
}

function transport(
  id: number,
  received: Message[],
  tls?: PeerTls,
  peers = new Map<number, { host: string; port: number }>(),
  logger?: { warn(obj: object, msg: string): void },
) {
  return new TcpTransport({
    id,
    clusterId,
    listen: { host, port: 0 },
    peers,
    onMessage: (m) => received.push(m),
    limits: { helloTimeoutMs: 1000, reconnectMinMs: 20, reconnectMaxMs: 100 },
    ...(tls === undefined ? {} : { tls }),
    ...(logger === undefined ? {} : { logger }),
  });
}

/** One line of a transport's state for a failure message: its link to `peer` and its TLS refusals. */
function linkState(name: string, t: TcpTransport, peer: number): string {
  const s = t.stats();
  const p = s.peers.get(peer);
  const link =
    p === undefined
      ? "no link"
      : `connected ${p.connected}, sent ${p.messagesSent}, received ${p.messagesReceived}, ` +
        `queued ${p.queueMessages}, reconnects ${p.reconnects}, refusals ${p.refusals}`;
  return `${name} -> ${peer}: ${link}; TLS handshakes refused ${s.tlsHandshakesRefused}`;
}

describe("fuzz: peer listener", { timeout: 120_000 }, () => {
  const received: Message[] = [];
  // Member 2 exists (at a port nobody listens on), so its handshake is the one accepted.
  const node = transport(1, received, undefined, new Map([[2, { host, port: 1 }]]));
  before(() => node.start());
  after(() => node.close());

  test(`${PEER_RUNS} hostile streams: nothing reaches Raft without a valid handshake`, async () => {
    const port = node.address().port;
    const valid = Buffer.concat([encodeHelloFrame({ clusterId, from: 2, to: 1 }), heartbeat(2, 1, 7)]);
    const stream = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc
        .record({ clusterId: fc.string({ maxLength: 30 }), from: fc.nat({ max: 9 }), to: fc.nat({ max: 9 }) })
        .map((h) => Buffer.concat([encodeHelloFrame(h), heartbeat(h.from, h.to, 9)])),
      fc
        .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
        .map(([edits]) => {
          const out = Buffer.from(valid);
          for (const [at, v] of edits) out[at % out.length] = v;
          return out;
        }),
      fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
    );
    await fc.assert(
      fc.asyncProperty(stream, async (bytes) => {
        const before = received.length;
        await new Promise<void>((resolve, reject) => {
          const s = connect({ host, port });
          const timer = setTimeout(() => {
            s.destroy();
            reject(new Error("the listener kept a hostile stream open"));
          }, 5000);
          s.on("error", () => {});
          // Read what the node answers (REFUSE): a client that never reads would never see the close.
          s.resume();
          s.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
          s.end(bytes);
        });
        if (!opensWithValidHello(bytes)) assert.equal(received.length, before, "a message got through");
      }),
      { numRuns: PEER_RUNS },
    );
    // Still serving: the real handshake and a message get through.
    const before = received.length;
    const s = connect({ host, port }, () => s.write(valid));
    s.on("error", () => {});
    await waitFor("a real peer's message", () => received.length > before);
    s.destroy();
    assert.ok(node.stats().framesMalformed + node.stats().handshakesRefused > 0);
  });
});

describe("peer mTLS", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-peer-tls-"));
  makeDevCerts({ dir: join(dir, "ca"), nodes: 2 });
  makeDevCerts({ dir: join(dir, "other"), nodes: 2 });
  const tlsOf = (ca: string, id: number): PeerTls => {
    const f = certFiles(join(dir, ca));
    return { cert: readFileSync(f.node(id)), key: readFileSync(f.nodeKey(id)), ca: readFileSync(f.ca) };
  };

  test("members with CA-signed certificates exchange messages in both directions", async () => {
    const got1: Message[] = [];
    const got2: Message[] = [];
    const since = Date.now();
    const logA = warnings("node 1", since);
    const logB = warnings("node 2", since);
    const a = transport(1, got1, tlsOf("ca", 1), undefined, logA.logger);
    const b = transport(2, got2, tlsOf("ca", 2), undefined, logB.logger);
    await a.start();
    await b.start();
    try {
      a.addPeer(2, b.address());
      b.addPeer(1, a.address());
      a.send([{ type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, readSeq: 0 }]);
      b.send([{ type: "heartbeat", from: 2, to: 1, term: 1, commit: 0, readSeq: 0 }]);
      // Each message is sent once: a link that connected and then lost its connection loses it too
      // (Raft resends; this test does not), so a time-out names each link's state and last warnings.
      // The usual time is ~0.1 s (at most 0.7 s in 150 runs beside 8 busy loops on 2 cores); a time-out
      // once seen here came from a CA certificate OpenSSL could not read (fixed in cli/certs).
      await waitFor(
        "both messages",
        () => got1.length > 0 && got2.length > 0,
        15_000,
        () =>
          [
            `; node 1 got ${got1.length}, node 2 got ${got2.length}`,
            linkState("node 1", a, 2),
            linkState("node 2", b, 1),
            ...logA.lines(),
            ...logB.lines(),
          ].join("\n"),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("a connection that never finishes its TLS handshake is closed after helloTimeoutMs", async () => {
    // Before any certificate is seen, anyone who reaches the port can open one: held for Node's default
    // handshakeTimeout (120 s), inboundConnectionsMax of them would shut the members out for that long.
    const node = transport(1, [], tlsOf("ca", 1));
    await node.start();
    const { port } = node.address();
    try {
      const started = Date.now();
      const closedAfterMs = await new Promise<number | undefined>((resolve) => {
        const s = connect({ host, port });
        s.on("error", () => {});
        s.resume();
        const guard = setTimeout(() => {
          s.destroy();
          resolve(undefined);
        }, 10_000);
        s.on("close", () => {
          clearTimeout(guard);
          resolve(Date.now() - started);
        });
      });
      assert.notEqual(closedAfterMs, undefined, "a silent connection was still open after 10 s");
      await waitFor("the refusal counted", () => node.stats().tlsHandshakesRefused === 1);
    } finally {
      await node.close();
    }
  });

  test("without a CA-signed certificate a connection is closed before any frame is read", async () => {
    const got: Message[] = [];
    const node = transport(1, got, tlsOf("ca", 1), new Map([[2, { host, port: 1 }]]));
    await node.start();
    const { port } = node.address();
    const frames = Buffer.concat([encodeHelloFrame({ clusterId, from: 2, to: 1 }), heartbeat(2, 1, 1000)]);
    const attempt = (open: () => import("node:net").Socket) =>
      new Promise<void>((resolve) => {
        const s = open();
        s.on("error", () => {});
        s.resume();
        s.on("close", () => resolve());
        s.write(frames);
        setTimeout(() => s.destroy(), 2000);
      });
    try {
      await attempt(() => connect({ host, port }));
      await attempt(() => tlsConnect({ host, port, ca: tlsOf("ca", 1).ca }));
      const other = tlsOf("other", 2);
      await attempt(() =>
        tlsConnect({ host, port, ca: tlsOf("ca", 1).ca, cert: other.cert, key: other.key }),
      );
      assert.equal(got.length, 0);
      // The server counts a refusal on its tlsClientError event, which can come after the client saw the
      // close (same process): wait for the count instead of reading it at once (failed once in CI: 2 !== 3).
      await waitFor(
        "3 refused handshakes",
        () => node.stats().tlsHandshakesRefused >= 3,
        5000,
        () => `; counted ${node.stats().tlsHandshakesRefused}`,
      );
      assert.equal(node.stats().tlsHandshakesRefused, 3);
      // A rogue *peer transport* (its own certificate from another CA) cannot reach node 1 either.
      const rogue = transport(2, [], tlsOf("other", 2), new Map([[1, { host, port }]]));
      await rogue.start();
      rogue.send([{ type: "heartbeat", from: 2, to: 1, term: 1000, commit: 0, readSeq: 0 }]);
      await new Promise((r) => setTimeout(r, 500));
      await rogue.close();
      assert.equal(got.length, 0);
    } finally {
      await node.close();
    }
  });
});
