// The node derives its peer links' liveness limits from its Raft timing (linkSilenceMsMax: 10 of the
// longest election timeouts). Every timing the flags accept must give limits the transport accepts:
// a fast LAN setting (--tick-ms 1 --election-ticks 10) must not make the node refuse to start.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pino } from "pino";
import { nodeDefaults, RaftNode } from "../../src/node/index.js";

const dir = mkdtempSync(join(tmpdir(), "raftstack-link-timing-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const peerUrl = (port: number) => `http://127.0.0.1:${port}`;

for (const [tickMs, electionTicks] of [
  [1, 10],
  [1, 2],
  [3, 5],
] as const) {
  test(`a node with --tick-ms ${tickMs} --election-ticks ${electionTicks} opens`, async () => {
    // Ports are never bound: open() builds the node without listening.
    const node = await RaftNode.open(
      {
        ...nodeDefaults,
        id: 1,
        members: [1, 2, 3].map((id) => ({ id, peerUrl: peerUrl(20000 + 10 * id) })),
        join: false,
        listenPeerUrl: peerUrl(20010),
        listenClient: { host: "127.0.0.1", port: 0 },
        advertiseClientUrl: "http://127.0.0.1:0",
        portSources: { client: "--port", peer: "--cluster", resp: "--resp-port" },
        dataDir: join(dir, `t${tickMs}-e${electionTicks}`),
        logLevel: "silent",
        tickMs,
        electionTicks,
        heartbeatTicks: 1,
      },
      { logger: pino({ level: "silent" }) },
    );
    await node.close();
    assert.ok(true);
  });
}
