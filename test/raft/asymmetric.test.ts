import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NodeId } from "../../src/raft/index.js";
import { Cluster } from "./harness.js";

/** Ticks every node until some node leads; returns the ticks it took (or `ticksMax` + 1). */
function ticksToLeader(c: Cluster, ticksMax: number): number {
  for (let ticks = 1; ticks <= ticksMax; ticks++) {
    c.tickAll();
    if (c.leaders().length > 0) return ticks;
  }
  return ticksMax + 1;
}

/** Cuts every link except those with an endpoint in `hubs` and those listed in `keep`. */
function onlyLinks(c: Cluster, hubs: readonly NodeId[], keep: readonly [NodeId, NodeId][] = []): void {
  for (const a of c.ids) {
    for (const b of c.ids) {
      if (a >= b || hubs.includes(a) || hubs.includes(b)) continue;
      if (keep.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) continue;
      c.cut(a, b);
    }
  }
}

describe("elections over asymmetric links (issue 9 item 2)", () => {
  test("a star (every link cut except those to node 1), started cold, elects node 1 within 200 ticks for 20 seeds", () => {
    const slow: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster(5, { seed, electionTicks: 10 });
      onlyLinks(c, [1]);
      const ticks = ticksToLeader(c, 200);
      if (ticks > 200) slow.push(`seed ${seed}: no leader in 200 ticks`);
      else assert.deepEqual(c.leaders(), [1], `seed ${seed}`);
    }
    assert.deepEqual(slow, []);
  });

  test("a bridge (groups {1,2} and {4,5} joined only through node 3) elects a leader within 200 ticks and keeps it", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster(5, { seed, electionTicks: 10 });
      onlyLinks(
        c,
        [3],
        [
          [1, 2],
          [4, 5],
        ],
      );
      assert.ok(ticksToLeader(c, 200) <= 200, `seed ${seed}: no leader in 200 ticks`);
      const [leader] = c.leaders();
      const term = c.raft(leader as NodeId).term;
      c.propose(leader as NodeId, "over the bridge");
      c.tickAll(100);
      assert.deepEqual(c.leaders(), [leader], `seed ${seed}: the leader changed`);
      assert.equal(c.raft(leader as NodeId).term, term, `seed ${seed}: the term moved`);
      const last = c.raft(leader as NodeId).log.lastIndex();
      assert.equal(c.raft(leader as NodeId).log.committed, last, `seed ${seed}: the write did not commit`);
    }
  });

  test("a one-way link (node 2 cannot hear node 1): a cold cluster elects a leader and it stays, with no term inflation", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster(3, { seed, electionTicks: 10 });
      c.cutOneWay(1, 2);
      assert.ok(ticksToLeader(c, 200) <= 200, `seed ${seed}: no leader in 200 ticks`);
      c.tickAll(20);
      const [leader] = c.leaders();
      const term = c.raft(leader as NodeId).term;
      c.tickAll(200);
      assert.deepEqual(c.leaders(), [leader], `seed ${seed}: the leader changed`);
      assert.ok(
        c.ids.every((id) => c.raft(id).term === term),
        `seed ${seed}: terms ${c.ids.map((id) => c.raft(id).term)} moved past ${term}`,
      );
    }
  });

  test("reportUnreachable on a follower that still hears its leader (a flapping connection) does not let a pre-candidate depose a healthy leader", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const c = new Cluster(3, { seed, electionTicks: 15, heartbeatTicks: 3 }); // the node's defaults
      const term = c.elect(1);
      c.stabilize();
      c.cutOneWay(1, 3); // node 3 stops hearing the leader and will campaign
      for (let i = 0; i < 100; i++) {
        c.raft(2).reportUnreachable(1); // node 2's link to the leader drops and reconnects, every tick
        c.tickAll();
      }
      assert.deepEqual(c.leaders(), [1], `seed ${seed}: the healthy leader was deposed`);
      assert.equal(c.raft(1).term, term, `seed ${seed}`);
    }
  });

  test("§9.6 fast failover still holds for 5 nodes: with the leader unreachable a new one is elected within 10 ticks", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster(5, { seed, electionTicks: 10 });
      c.elect(1);
      c.stabilize();
      c.crash(1);
      for (const id of [2, 3, 4, 5]) c.raft(id).reportUnreachable(1);
      let ticks = 0;
      while (c.leaders().length === 0) {
        for (const id of [2, 3, 4, 5]) c.tick(id);
        c.stabilize();
        ticks++;
        assert.ok(ticks <= 10, `seed ${seed}: no leader after ${ticks} ticks`);
      }
    }
  });
});
