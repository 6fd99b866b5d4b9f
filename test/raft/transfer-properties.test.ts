import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertLogMatching, assertStateMachineSafety, Cluster, rng } from "./harness.js";

// Harness timing: heartbeatTicks 1, electionTicks 10.
const electionTicks = 10;

describe("leadership transfer under random transfers, cuts and unreachable reports (§3.10)", () => {
  // Checked once against the old rule (the transfer's clock not restarted by TimeoutNow): seed 4 took
  // a write 3 ticks after TimeoutNow.
  test("a leader takes no write within an election timeout of its TimeoutNow, and no transfer stays stuck", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed);
      const size = random.int(2) === 0 ? 3 : 5;
      const c = new Cluster(size, { seed });
      c.elect(1);
      c.stabilize();
      // Per node: its tick count, and the tick (and term) at which it last sent TimeoutNow.
      const ticks = new Map<number, number>();
      const lastTimeoutNow = new Map<number, { tick: number; term: number }>();
      let seen = 0;
      const scan = () => {
        for (; seen < c.sent.length; seen++) {
          const m = c.sent[seen];
          if (m?.type === "timeoutNow")
            lastTimeoutNow.set(m.from, { tick: ticks.get(m.from) ?? 0, term: c.raft(m.from).term });
        }
      };
      for (let step = 0; step < 400; step++) {
        const op = random.int(20);
        const id = 1 + random.int(size);
        const other = 1 + random.int(size);
        if (op < 8) {
          c.tick(id);
          ticks.set(id, (ticks.get(id) ?? 0) + 1);
        } else if (op < 10) {
          c.raft(id).transferLeadership(other);
        } else if (op < 11) {
          c.cut(id, other);
        } else if (op < 12) {
          c.heal();
        } else if (op < 14) {
          c.raft(id).reportUnreachable(other);
        } else if (op < 16) {
          const r = c.raft(id);
          const res = r.propose([new TextEncoder().encode(`p${step}`)]);
          scan();
          const last = lastTimeoutNow.get(id);
          if (res.ok && !res.forwarded && last !== undefined && last.term === r.term) {
            const since = (ticks.get(id) ?? 0) - last.tick;
            assert.ok(
              since >= electionTicks,
              `seed ${seed} step ${step}: node ${id} took a write ${since} ticks after TimeoutNow`,
            );
          }
        } else {
          c.processAll();
          c.deliverSome(random);
        }
        c.processAll();
        scan();
        assert.ok(
          new Set(c.leaders().map((l) => c.raft(l).term)).size === c.leaders().length,
          `seed ${seed}: two leaders in a term`,
        );
      }
      c.heal();
      c.stabilize();
      // Healed, the cluster elects a leader that takes writes again: no transfer or refusal stays behind.
      let leader: number | undefined;
      for (let i = 0; i < 6 * electionTicks && leader === undefined; i++) {
        c.tickAll();
        leader = c.leaders().find((l) => c.raft(l).propose([new Uint8Array(1)]).ok);
      }
      assert.ok(leader !== undefined, `seed ${seed}: no leader taking writes after healing`);
      c.stabilize();
      assertLogMatching(c);
      assertStateMachineSafety(c);
    }
  });
});
