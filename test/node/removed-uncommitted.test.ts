// A node is "removed" (writes and reads refused, no leader named, links dropped: node.ts) only once its
// removal is committed and applied, never while the entry merely sits in its log: three real drivers,
// the removal appended everywhere but uncommitted, then committed by the next leader.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { leaderOf, threeNodes } from "./three-drivers.js";

describe("a removal entry in the log, not committed", () => {
  test("the node it removes is not removed until the entry is committed and applied", async () => {
    const { clock, drivers, net } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const target = [1, 2, 3].find((id) => id !== leader.id) as number;
    const removed = drivers.get(target);
    assert.ok(removed !== undefined);
    const index = leader.raft.log.lastIndex() + 1;
    // The entry reaches both followers, but no answer reaches the leader: it cannot commit it.
    net.deaf = leader.id;
    leader.proposeConfChange({ op: "remove", id: target, context: new Uint8Array(0) }).catch(() => {});
    const appended = () => [...drivers.values()].every((d) => d.raft.log.lastIndex() >= index);
    for (let ms = 0; ms < 20 && !appended(); ms++) await clock.advance(1);
    assert.ok(appended(), "the removal is in every log");
    // Every millisecond from here: removed only with the entry committed and applied on that node.
    const check = () => {
      for (const d of drivers.values()) {
        if (d.removed) assert.ok(d.machine.appliedIndex >= index, `node ${d.id} removed before applying it`);
      }
    };
    for (let ms = 0; ms < 200; ms++) {
      await clock.advance(1);
      check();
    }
    assert.equal(removed.removed, false, "an uncommitted removal made the node removed");
    assert.ok(removed.membership.voters.includes(target));
    // The old leader cut off, the others elect; the next leader commits the entry and then it counts.
    net.isolated = leader.id;
    for (let ms = 0; ms < 3000 && !removed.removed; ms++) {
      await clock.advance(1);
      check();
    }
    assert.equal(removed.removed, true, "the committed removal was applied by the node it removes");
  });
});
