// Issue 11 (docs/membership.md): after bootstrap the replicated configuration wins over --cluster, and a
// difference is logged with both lists (issue 9 item 3c refused the start before membership was replicated).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pino } from "pino";
import { type NodeOptions, nodeDefaults, RaftNode } from "../../src/node/index.js";
import { StackMachine } from "../../src/stack/index.js";
import { DiskStorage, NodeDisk } from "../../src/storage/index.js";

const dir = mkdtempSync(join(tmpdir(), "raftstack-membership-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A data dir whose latest snapshot (index 1) records voters 1, 2, 3. */
async function dataDirOfThree(name: string): Promise<string> {
  const dataDir = join(dir, name);
  const config = { voters: [1, 2, 3], learners: [] };
  const storage = await DiskStorage.open(new NodeDisk(), dataDir, { bootstrapConfig: config });
  await storage.save({
    hardState: { term: 1, vote: 1, commit: 1 },
    entries: [{ index: 1, term: 1, kind: "noop", data: new Uint8Array(0) }],
  });
  const machine = new StackMachine();
  machine.applyNoop(1);
  await storage.createSnapshot(1, config, machine.snapshot());
  await storage.close();
  return dataDir;
}

function options(dataDir: string, nodes: number): NodeOptions {
  // Ports are never bound: open() builds the node without listening.
  return {
    ...nodeDefaults,
    id: 1,
    members: Array.from({ length: nodes }, (_, i) => ({
      id: i + 1,
      peerUrl: `http://127.0.0.1:${20000 + 10 * i}`,
    })),
    join: false,
    listenPeerUrl: "http://127.0.0.1:20000",
    listenClient: { host: "127.0.0.1", port: 0 },
    advertiseClientUrl: "http://127.0.0.1:0",
    dataDir,
    logLevel: "silent",
  };
}

test("a node restarted with another --cluster list starts with the replicated voters and logs both lists", async () => {
  const dataDir = await dataDirOfThree("five");
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
  const node = await RaftNode.open(options(dataDir, 5), { logger });
  assert.equal(node.status().snapshotIndex, 1);
  await node.close();
  const note = lines.find((line) => line.includes("replicated configuration"));
  assert.ok(note, "no line names both lists");
  assert.match(note, /\[1, 2, 3, 4, 5\]/);
  assert.match(note, /\[1, 2, 3\]/);
});
