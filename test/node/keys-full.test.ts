// A keyless write sent to a follower is forwarded under a key the follower makes up, so it can be sent
// again to the next leader and still apply once. Those keys fill the exactly-once table (1,000,000 kept
// 10 minutes): found by running redis-benchmark through a follower, which failed with
// IDEMPOTENCY_KEYS_FULL after exactly 1,000,000 LPUSH, and kept failing until keys aged out. Such a
// write is now sent again without a key, as the client sent it; a client's own key still gets the error.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Driver, NodeError } from "../../src/node/index.js";
import { REQUEST_RUN } from "../../src/node/leader-requests.js";
import { type Command, decodeBatch, decodeCommand, isBatch, type Outcome } from "../../src/stack/index.js";
import { asciiRun, pushAThenB } from "./runs.js";
import { followerKeyTaken, leaderOf, runAnswerLost, threeNodes } from "./three-drivers.js";

/** The keys of the commands in `driver`'s log, in order ("-" for none). */
function loggedKeys(driver: Driver): string[] {
  const log = driver.raft.log;
  const entries = log.slice(log.firstIndex(), log.lastIndex() + 1, 1e9) ?? [];
  const commands: (Command | undefined)[] = entries
    .filter((e) => e.kind === "normal" && e.data.length > 0)
    .flatMap((e) => (isBatch(e.data) ? (decodeBatch(e.data) ?? []) : [e.data]))
    .map((data) => decodeCommand(data));
  return commands.map((c) => c?.key ?? "-");
}

describe("a full exactly-once table and the keys a follower makes", () => {
  test("keyless writes through a follower still apply, each once; a client's keyed write is refused", async () => {
    const { clock, drivers, requests, net } = await threeNodes({ limits: { sessionsMax: 2 } });
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const from = [1, 2, 3].find((id) => id !== leader.id) as number;
    const follower = requests.get(from);
    assert.ok(follower !== undefined);
    const outcomes: (Outcome | string)[] = [];
    const settle = (p: Promise<Outcome>) =>
      p.then(
        (o) => outcomes.push(o),
        (e: NodeError) => outcomes.push(e.code),
      );
    // Two keyless writes fill the table with the follower's keys; the next ones find it full.
    for (const item of ["a", "b", "c", "d"]) {
      const done = settle(follower.propose({ type: "lpush", label: "s", items: [item], atMs: 0 }));
      await clock.advance(50);
      await done;
    }
    assert.deepEqual(
      outcomes.map((o) =>
        typeof o === "string" ? o : o.ok ? `size ${(o as { size: number }).size}` : o.code,
      ),
      ["size 1", "size 2", "size 3", "size 4"],
    );
    // A run of the RESP fast lane: forwarded whole, without keys.
    net.forwards.length = 0;
    const answers = new Map<number, string>();
    follower.submitRun(
      asciiRun([
        ["s", "e"],
        ["s", "f"],
        ["s", "g"],
      ]),
      {
        resolveAt: (i, o) =>
          answers.set(i, o.ok && o.kind === "pushed" ? `size ${o.size}` : JSON.stringify(o)),
        rejectAt: (i, err) => answers.set(i, (err as NodeError).code),
      },
    );
    await clock.advance(100);
    assert.deepEqual(
      [0, 1, 2].map((i) => answers.get(i)),
      ["size 5", "size 6", "size 7"],
    );
    assert.deepEqual(
      net.forwards.filter((f) => f.from === from).map((f) => f.kind),
      [REQUEST_RUN],
      "one request for the run",
    );
    for (const d of drivers.values()) {
      assert.deepEqual(d.machine.range("s", 0, -1), ["g", "f", "e", "d", "c", "b", "a"], `node ${d.id}`);
      assert.equal(d.machine.sessionCount, 2, "the table stayed full");
    }
    // Once the follower's replica held two keys, c, d and the run's e, f, g went without one: no refusal.
    assert.deepEqual(
      loggedKeys(leader).map((k) => (k.startsWith(`~${from}.`) ? "node" : k)),
      ["node", "node", "-", "-", "-", "-", "-"],
    );
    // The client asked for exactly-once: its write is refused, nothing applied.
    const keyed = settle(
      follower.propose({ type: "lpush", label: "s", items: ["k"], key: "client-1", atMs: 0 }),
    );
    await clock.advance(50);
    await keyed;
    assert.deepEqual(outcomes.slice(-1), [{ ok: false, code: "idempotency_keys_full" }]);
  });

  test("a run sent without keys whose answer is lost in a leader change is not sent again: applied once, outcome unknown", async () => {
    const nodes = await followerKeyTaken({ sessionsMax: 1 });
    const { clock, drivers, net, leader, from, other: next } = nodes;
    const answers = await runAnswerLost(nodes, from, pushAThenB());
    assert.deepEqual(leader.machine.range("s", 0, -1), ["b", "a", "x"], "applied by the leader");
    assert.ok(leader.transferLeadership(next));
    net.dropResultsFrom = 0;
    await clock.advance(3000);
    assert.deepEqual(answers.sizes(2), ["timeout", "timeout"], "outcome unknown, not sent again");
    for (const d of drivers.values())
      assert.deepEqual(d.machine.range("s", 0, -1), ["b", "a", "x"], `node ${d.id}`);
  });
});
