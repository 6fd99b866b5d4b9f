// Shared by the peer-link tests: waiting, a node that accepts a peer without dialling it, and a pair
// dialling through a front that can close a connection on its HELLO.
import assert from "node:assert/strict";
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import type { Message } from "../../src/raft/types.js";
import { FRAME_HELLO } from "../../src/transport/frame.js";
import { TcpTransport, type TransportLimits } from "../../src/transport/index.js";

export const host = "127.0.0.1";
export const clusterId = "test-cluster";

/** A heartbeat of term 1 from `from` to `to`. */
export const heartbeat = (from: number, to: number): Message => ({
  type: "heartbeat",
  from,
  to,
  term: 1,
  commit: 0,
  readSeq: 1,
});

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A port nobody listens on (bound once, then closed). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, host, r));
  const a = server.address();
  assert.ok(a !== null && typeof a === "object");
  await new Promise<void>((r) => server.close(() => r()));
  return a.port;
}

/**
 * Node `id`, started, that accepts node `peer` but does not reach it: its address there is a port
 * nobody listens on, until addPeer gives the real one.
 */
export async function acceptingNode(
  id: number,
  peer: number,
  limits: Partial<TransportLimits>,
  onMessage: (m: Message) => void = () => {},
): Promise<TcpTransport> {
  return dialingNode(id, peer, { host, port: await unusedPort() }, limits, onMessage);
}

/** Node `id`, started, with one peer, `peer` at `address`, which it dials at once. */
export async function dialingNode(
  id: number,
  peer: number,
  address: { readonly host: string; readonly port: number },
  limits: Partial<TransportLimits>,
  onMessage: (m: Message) => void = () => {},
): Promise<TcpTransport> {
  const node = new TcpTransport({
    id,
    clusterId,
    limits,
    listen: { host, port: 0 },
    onMessage,
    peers: new Map([[peer, address]]),
  });
  await node.start();
  return node;
}

/**
 * Node 1 dials node 2 (a real transport of this build) through a front that records each connection's
 * HELLO version and, when `glitchNext` is set (or `glitchFirst`, for the first connection), closes the
 * next connection on its HELLO without a word.
 */
export async function glitchyPair(limits: Partial<TransportLimits>, glitchFirst = false) {
  // Node 2 knows node 1 (accepts its HELLO) but dials it only once re-addressed (addPeer) to node 1's
  // real address: until then node 1 has not heard from node 2.
  const receiver = await acceptingNode(2, 1, limits);
  const versions: number[] = [];
  const sockets: Socket[] = [];
  const fromReceiver: Message[] = [];
  let glitchNext = glitchFirst;
  const front = createServer((client) => {
    client.on("error", () => {});
    sockets.push(client);
    const glitch = glitchNext;
    glitchNext = false;
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
  const sender = await dialingNode(1, 2, { host, port: a.port }, limits, (m) => fromReceiver.push(m));
  return {
    sender,
    receiver,
    versions,
    fromReceiver,
    glitchNext() {
      glitchNext = true;
    },
    /** Drops the current connection through the front (a network blip the sender notices). */
    dropCurrent() {
      sockets.at(-1)?.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      front.close();
      await Promise.all([sender.close(), receiver.close()]);
    },
  };
}
