// The nemesis' partitions cut real messages between real node processes, in the direction they say, and
// leave nothing behind. Ports 29100-29139 belong to this file. Skipped (one line) without root/iptables/cgroup v2.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { NodeView } from "./cluster.js";
import { partitionedCluster } from "./partitioned.js";
import { isolate, oneWay } from "./topology.js";

const BASE_PORT = 29100;
const ids = [1, 2, 3];

describe("nemesis: partitions of real processes", { timeout: 90_000 }, () => {
  test("one-way and symmetric cuts stop exactly the messages they name", async (t) => {
    const setup = await partitionedCluster(t, {
      ids,
      basePort: BASE_PORT,
      nodeArgs: ["--log-level", "warn"],
    });
    if (setup === undefined) return;
    const { nf, cluster } = setup;
    const view = async (i: number): Promise<NodeView> => {
      const v = await cluster.view(i);
      assert.ok(v !== undefined, `node ${i} answers /v1/cluster`);
      return v;
    };
    const push = async (node: number, item: string) => {
      const res = await fetch(`${cluster.url(node)}/v1/stacks/1/push`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ item }),
        signal: AbortSignal.timeout(4000),
      });
      return res.status;
    };
    const caughtUp = async (i: number, leader: number) => {
      const deadline = performance.now() + 10_000;
      while ((await view(i)).lastIndex < (await view(leader)).lastIndex) {
        assert.ok(performance.now() < deadline, `node ${i} catches up after the heal`);
        await sleep(50);
      }
    };
    try {
      for (const i of ids) cluster.start(i);
      const leader = await cluster.waitLeader(20_000);
      assert.ok(leader !== undefined, "a leader is elected");
      const [f, g] = ids.filter((i) => i !== leader) as [number, number];
      const created = await fetch(`${cluster.url(leader)}/v1/stacks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ label: "p" }),
      });
      assert.equal(created.status, 200);
      await caughtUp(f, leader);

      // leader -x-> f: f hears nothing, so its log stops while the leader's grows.
      await nf.apply(oneWay([leader], [f]));
      const fBefore = (await view(f)).lastIndex;
      for (let k = 0; k < 5; k++) assert.equal(await push(leader, `a${k}`), 200);
      await sleep(500);
      assert.equal((await view(f)).lastIndex, fBefore, "the cut follower received no entries");
      assert.ok((await view(leader)).lastIndex >= fBefore + 5);
      assert.ok((await nf.droppedPackets()) > 0, "the rule dropped packets");
      await nf.heal();
      await caughtUp(f, leader);

      // f -x-> leader: f still receives and appends entries, but its acknowledgements never arrive.
      await nf.apply(oneWay([f], [leader]));
      const matchBefore = (await view(leader)).members.find((m) => m.id === f)?.match ?? -1;
      const fStart = (await view(f)).lastIndex;
      for (let k = 0; k < 5; k++) assert.equal(await push(leader, `b${k}`), 200);
      await sleep(500);
      assert.ok((await view(f)).lastIndex >= fStart + 5, "the follower still hears the leader");
      assert.equal(
        (await view(leader)).members.find((m) => m.id === f)?.match,
        matchBefore,
        "the leader heard no acknowledgement from the follower",
      );
      await nf.heal();
      await caughtUp(f, leader);

      // The leader isolated both ways: the other two elect one of themselves; the old leader steps down
      // and cannot even proxy a write to the new one.
      await nf.apply(isolate(ids, leader));
      const deadline = performance.now() + 10_000;
      let next = 0;
      while (performance.now() < deadline) {
        const [vf, vg] = [await view(f), await view(g)];
        if (vf.leader !== 0 && vf.leader !== leader && vf.leader === vg.leader) {
          next = vf.leader;
          break;
        }
        await sleep(50);
      }
      assert.ok(next === f || next === g, "the majority side elected a new leader");
      await sleep(1000);
      assert.notEqual((await view(leader)).role, "leader", "the isolated leader stepped down (check-quorum)");
      assert.equal(await push(leader, "through-old-leader"), 503);
      assert.equal(await push(next, "through-new-leader"), 200);
      await nf.heal();
      assert.ok((await cluster.waitLeader(10_000)) !== undefined, "one leader again after the heal");
    } finally {
      await setup.close();
    }
    assert.ok(
      !execFileSync("iptables", ["-w", "-S"], { encoding: "utf8" }).includes(nf.chain),
      "chain removed",
    );
    assert.ok(!existsSync(join(nf.root, nf.group)), "cgroups removed");
    assert.deepEqual(cluster.crashes, [], "no node exited by itself");
  });
});
