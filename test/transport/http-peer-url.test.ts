// A peer URL that names an HTTP port (`raftstack member add <a node's client URL>` was accepted): the
// dialler's HELLO got "HTTP/1.1 400" back, read as a frame of 1213486160 bytes, and the leader's log said
// only that while the member could never catch up. Both sides now say HTTP, and the dialler says it once.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import type { Message } from "../../src/raft/types.js";
import { TcpTransport } from "../../src/transport/index.js";
import { host, waitFor } from "./link-helpers.js";

interface Logged {
  readonly msg: string;
  readonly err: string;
}

function transport(logged: Logged[]): TcpTransport {
  return new TcpTransport({
    id: 1,
    clusterId: "c",
    listen: { host, port: 0 },
    onMessage: () => {},
    logger: { warn: (fields, msg) => logged.push({ msg, err: String((fields as { err?: unknown }).err) }) },
    limits: { startQuietMs: 0, reconnectMinMs: 5, reconnectMaxMs: 10 },
  });
}

const hb: Message = { type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, readSeq: 1 };

test("a peer URL that answers HTTP is warned of once, as HTTP; an HTTP request on a peer port too", {
  timeout: 15_000,
}, async () => {
  // Node's own answer to bytes that are no HTTP request; a node's client listener answers the same (guard.ts).
  const http = createServer((_req, res) => res.end());
  await new Promise<void>((r) => http.listen(0, host, r));
  const address = http.address();
  assert.ok(address !== null && typeof address === "object");
  const logged: Logged[] = [];
  const t = transport(logged);
  await t.start();
  t.addPeer(2, { host, port: address.port });
  const timer = setInterval(() => t.send([hb]), 2);
  try {
    await waitFor("ten reconnects", () => (t.stats().peers.get(2)?.reconnects ?? 0) >= 10, 10_000);
    clearInterval(timer);
    assert.deepEqual(logged, [
      {
        msg: "peer connection lost",
        err: "the peer answered in HTTP, not the peer protocol: a client (HTTP) port as its peer URL?",
      },
    ]);
    logged.length = 0;
    const peerPort = t.address().port;
    await fetch(`http://${host}:${peerPort}/v1/members`).catch(() => undefined);
    await waitFor("the receiver's warning", () => logged.length > 0);
    assert.deepEqual(logged, [
      {
        msg: "malformed frame",
        err: "an HTTP request on the peer port: a client URL that names a peer port?",
      },
    ]);
  } finally {
    clearInterval(timer);
    await t.close();
    await new Promise<void>((r) => http.close(() => r()));
  }
});
