// Three nodes in one process through startNode(): the programmatic API, flag parsing and graceful handover.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  type NodeOptions,
  parseNodeArgs,
  type RunningNode,
  startNode,
  UsageError,
} from "../../src/node/index.js";

const base = 24000;
const ids = [1, 2, 3];
const peerUrls = ids.map((i) => `http://127.0.0.1:${base + 10 * i}`);
const clientUrls = ids.map((i) => `http://127.0.0.1:${base + 10 * i + 1}`);

describe("startNode in one process", { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-inproc-"));
  const nodes = new Map<number, RunningNode>();
  after(async () => {
    await Promise.all([...nodes.values()].map((n) => n.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (id: number): NodeOptions => ({
    ...parseNodeArgs(["--id", String(id), "--cluster", peerUrls.join(","), "--log-level", "silent"]),
    dataDir: join(dir, `n${id}`),
  });

  async function leaderOf(among: readonly RunningNode[]): Promise<RunningNode> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const leader = among.find((n) => n.status().role === "leader");
      if (leader && among.every((n) => n.status().leader === leader.id)) return leader;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("no leader");
  }

  test("parseNodeArgs: seed flags, defaults and errors", () => {
    const o = parseNodeArgs(["--id", "2", "--cluster", peerUrls.join(","), "--port", "9999"]);
    assert.equal(o.id, 2);
    assert.deepEqual(
      o.members.map((m) => m.peerUrl),
      peerUrls,
    );
    assert.equal(o.advertiseClientUrl, "http://127.0.0.1:9999");
    assert.equal(o.listenClient.port, 9999);
    assert.equal(o.dataDir, "./raftstack-2");
    assert.equal(o.tickMs, 10);
    assert.equal(o.electionTicks, 15);
    const own = parseNodeArgs(["--id", "1", "--cluster", peerUrls.join(",")]);
    assert.equal(own.advertiseClientUrl, clientUrls[0], "by default this node's client port = peer port + 1");
    assert.throws(() => parseNodeArgs(["--id", "4", "--cluster", peerUrls.join(",")]), UsageError);
    assert.throws(() => parseNodeArgs(["--id", "1"]), UsageError);
    assert.throws(() => parseNodeArgs(["--cluster", "nonsense"]), UsageError);
    assert.throws(
      () => parseNodeArgs(["--id", "1", "--cluster", peerUrls.join(","), "--tick-ms", "x"]),
      /--tick-ms/,
    );
    assert.throws(() => parseNodeArgs(["--cluster", peerUrls.join(","), "--bogus"]), UsageError);
  });

  test("writes, linearizable reads and a graceful leader handover", async () => {
    for (const id of ids) nodes.set(id, await startNode(options(id)));
    const all = [...nodes.values()];
    const leader = await leaderOf(all);
    assert.equal(leader.clientUrl, clientUrls[leader.id - 1]);
    const follower = all.find((n) => n !== leader) as RunningNode;
    const post = async (n: RunningNode, path: string, body: string) => {
      const res = await fetch(`${n.clientUrl}${path}`, { method: "POST", body });
      return { status: res.status, body: await res.text() };
    };
    assert.equal((await post(follower, "/sCreate", "s")).body, "1");
    for (let k = 1; k <= 50; k++)
      assert.equal((await post(all[k % 3] as RunningNode, "/sPush", `1,${k}`)).body, String(k));
    const top = await follower.node.read((m) => m.top(1));
    assert.deepEqual(top, { ok: true, kind: "top", item: "50" });

    // close() on the leader hands leadership over before stopping: the others have a leader at once.
    const t0 = Date.now();
    const shutdown = await leader.close();
    nodes.delete(leader.id);
    const rest = all.filter((n) => n !== leader);
    const next = await leaderOf(rest);
    assert.notEqual(next.id, leader.id);
    assert.deepEqual(shutdown, { wasLeader: true, handedOverTo: next.id });
    assert.ok(Date.now() - t0 < 2000);
    assert.equal((await post(rest[0] as RunningNode, "/sPop", "1")).body, "50");
    assert.equal((await post(rest[1] as RunningNode, "/sSize", "1")).body, "49");

    // A follower has nothing to hand over (it used to report handedOver: true); the last node left
    // alone steps down with nobody to take over.
    const follower2 = rest.find((n) => n !== next) as RunningNode;
    assert.deepEqual(await follower2.close(), { wasLeader: false });
    nodes.delete(follower2.id);
    assert.deepEqual(await next.close(), { wasLeader: true });
    nodes.delete(next.id);
  });
});
