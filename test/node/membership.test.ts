// The member table (issue 11, item 2): replicated next to the stacks, carried in the node's snapshot
// (versioned; the pre-membership snapshot still restores), and the truth after bootstrap: a node
// restarted with another --cluster logs both lists and uses the replicated one.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, test } from "node:test";
import { pino } from "pino";
import { DecodeError, Reader } from "../../src/codec/index.js";
import {
  appSnapshotHead,
  decodeAppSnapshot,
  type NodeOptions,
  nodeDefaults,
  RaftNode,
} from "../../src/node/index.js";
import { decodeMemberContext, encodeMemberContext, MemberTable } from "../../src/node/members.js";
import { StackMachine } from "../../src/stack/index.js";
import { DiskStorage, NodeDisk } from "../../src/storage/index.js";

const dir = mkdtempSync(join(tmpdir(), "raftstack-membership-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const peerUrl = (port: number) => `http://127.0.0.1:${port}`;

/** A data dir whose latest snapshot (index 1) records voters 1, 2, 3 (and, in the node format, their addresses). */
async function dataDirOfThree(name: string, format: "old" | "node"): Promise<string> {
  const dataDir = join(dir, name);
  const config = { voters: [1, 2, 3], learners: [] };
  const storage = await DiskStorage.open(new NodeDisk(), dataDir, { bootstrapConfig: config });
  await storage.save({
    hardState: { term: 1, vote: 1, commit: 1 },
    entries: [{ index: 1, term: 1, kind: "noop", data: new Uint8Array(0) }],
  });
  const machine = new StackMachine();
  machine.applyNoop(1);
  const table = MemberTable.initial(
    [1, 2, 3].map((id) => ({ id, peerUrl: peerUrl(21000 + id), clientUrl: peerUrl(21100 + id) })),
  );
  const stacks = machine.snapshot();
  await storage.createSnapshot(
    1,
    config,
    format === "old" ? stacks : Buffer.concat([appSnapshotHead(table.encode()), stacks]),
  );
  await storage.close();
  return dataDir;
}

function options(dataDir: string, nodes: number): NodeOptions {
  // Ports are never bound: open() builds the node without listening.
  return {
    ...nodeDefaults,
    id: 1,
    members: Array.from({ length: nodes }, (_, i) => ({ id: i + 1, peerUrl: peerUrl(20000 + 10 * i) })),
    join: false,
    listenPeerUrl: peerUrl(20000),
    listenClient: { host: "127.0.0.1", port: 0 },
    advertiseClientUrl: "http://127.0.0.1:0",
    portSources: { client: "--port", peer: "--cluster", resp: "--resp-port" },
    dataDir,
    logLevel: "silent",
  };
}

/** A pino logger whose lines are kept. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

describe("member table", () => {
  test("changes, next id, encoding round trip", () => {
    const t = MemberTable.initial([
      { id: 1, peerUrl: peerUrl(7001) },
      { id: 3, peerUrl: peerUrl(7005), clientUrl: peerUrl(8003) },
    ]);
    assert.equal(t.nextMemberId, 4);
    t.apply("update", 1, encodeMemberContext({ peerUrl: peerUrl(7001), clientUrl: peerUrl(8001) }));
    t.apply("addLearner", 4, encodeMemberContext({ peerUrl: peerUrl(7007) }));
    t.apply("promote", 4, new Uint8Array(0));
    t.apply("remove", 3, new Uint8Array(0));
    assert.equal(t.nextMemberId, 5, "ids are never reused: removing 3 keeps 5 next");
    const expected = [
      { id: 1, peerUrl: peerUrl(7001), clientUrl: peerUrl(8001) },
      { id: 4, peerUrl: peerUrl(7007), clientUrl: "" },
    ];
    assert.deepEqual(t.list(), expected);
    const copy = MemberTable.decode(new Reader(t.encode()));
    assert.deepEqual(copy.list(), expected);
    assert.equal(copy.nextMemberId, 5);
    // An update carrying only the client URL keeps the peer URL.
    copy.apply("update", 4, encodeMemberContext({ clientUrl: peerUrl(8004) }));
    assert.deepEqual(copy.get(4), { peerUrl: peerUrl(7007), clientUrl: peerUrl(8004) });
    assert.deepEqual(decodeMemberContext(new Uint8Array(0)), { peerUrl: "", clientUrl: "" });
  });

  test("restored from a node snapshot; a pre-membership snapshot keeps the table", () => {
    const machine = new StackMachine();
    machine.applyNoop(1);
    const stacks = machine.snapshot();
    const t = MemberTable.initial([{ id: 2, peerUrl: peerUrl(7003) }]);
    const data = Buffer.concat([appSnapshotHead(t.encode()), stacks]);
    const restored = MemberTable.initial([{ id: 1, peerUrl: peerUrl(7001) }]);
    restored.restore(decodeAppSnapshot(data).members);
    assert.deepEqual(restored.list(), t.list());
    assert.equal(restored.nextMemberId, 3);
    restored.restore(decodeAppSnapshot(stacks).members);
    assert.deepEqual(restored.list(), t.list(), "old format: the table stays");
    assert.throws(() => restored.restore(new Uint8Array([1, 2, 1, 5, 0, 0])), DecodeError);
  });
});

describe("restart with another --cluster", () => {
  test("a replicated table wins over --cluster; both lists are logged", async () => {
    const dataDir = await dataDirOfThree("five", "node");
    const { logger, lines } = capturingLogger();
    const node = await RaftNode.open(options(dataDir, 5), { logger });
    try {
      assert.equal(node.status().snapshotIndex, 1);
      assert.deepEqual(
        node.status().members.map((m) => [m.id, m.peerUrl, m.clientUrl]),
        [1, 2, 3].map((id) => [
          id,
          peerUrl(21000 + id),
          id === 1 ? "http://127.0.0.1:0" : peerUrl(21100 + id),
        ]),
      );
      const warning = lines.find((l) => /differs from the replicated member table/.test(String(l.msg)));
      assert.ok(warning, JSON.stringify(lines));
      assert.equal((warning.cluster as string[]).length, 5);
      assert.deepEqual(
        warning.replicated,
        [1, 2, 3].map((id) => `${id}=${peerUrl(21000 + id)}`),
      );
    } finally {
      await node.close();
    }
  });

  test("a pre-membership snapshot restores; the table then comes from --cluster", async () => {
    const dataDir = await dataDirOfThree("old", "old");
    const node = await RaftNode.open(options(dataDir, 3), { logger: pino({ level: "silent" }) });
    try {
      assert.equal(node.status().snapshotIndex, 1);
      assert.deepEqual(
        node.status().members.map((m) => [m.id, m.peerUrl]),
        [1, 2, 3].map((id) => [id, peerUrl(20000 + 10 * (id - 1))]),
      );
    } finally {
      await node.close();
    }
  });
});
