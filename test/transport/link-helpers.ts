// Shared by the peer-link tests: waiting, and a node that accepts a peer without dialling it.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { Message } from "../../src/raft/types.js";
import { TcpTransport, type TransportLimits } from "../../src/transport/index.js";

export const host = "127.0.0.1";
export const clusterId = "test-cluster";

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
