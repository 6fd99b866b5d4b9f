// A follower cut off by a real partition campaigns on every election timeout; on the heal its peers must
// not receive (and refuse, and log) every pre-vote request it made meanwhile, and it must not have logged
// every round. Ports 29140-29179 belong to this file. Skipped (one line) without root/iptables/cgroup v2.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cutOffAFollower, partitionedCluster } from "./partitioned.js";

const BASE_PORT = 29140;
const ids = [1, 2, 3];
/**
 * ~40 pre-vote rounds at one per 150-300 ms election timeout (5.5 s gave 20-25: round 20, the precondition
 * below, was missed in 2 of 3 runs).
 */
const cutMs = 9000;
/**
 * Before link liveness the cut connections never closed and TCP retransmitted their backlog up to ~6 s
 * after the heal; now they are reset during the cut and redialled (test/nemesis/silent-links.test.ts).
 */
const afterHealMs = 7000;

test("a follower cut off 9 s: on the heal its peers refuse a handful of pre-votes, not every round's", {
  timeout: 90_000,
}, async (t) => {
  const setup = await partitionedCluster(t, { ids, basePort: BASE_PORT, nodeArgs: [] });
  if (setup === undefined) return;
  const { nf, cluster, dir } = setup;
  try {
    const { cut } = await cutOffAFollower(setup, ids);
    await sleep(cutMs);
    await nf.heal();
    await sleep(afterHealMs);
    assert.ok((await cluster.waitLeader(10_000)) !== undefined, "one leader after the heal");
    await cluster.stopAll();

    const lines = (i: number) => readFileSync(join(dir, "logs", `node-${i}.log`), "utf8").split("\n");
    const preVoteLines = lines(cut).filter((l) => l.includes('"msg":"pre-vote for term'));
    assert.ok(
      preVoteLines.some((l) => l.includes("(round 20)")),
      "the cut node campaigned at least 20 rounds (each one a request its peers could refuse)",
    );
    assert.ok(preVoteLines.length <= 5, `the cut node logged ${preVoteLines.length} pre-vote rounds`);
    for (const i of ids.filter((n) => n !== cut)) {
      const refused = lines(i).filter((l) => l.includes(`refused pre-vote to node ${cut} `)).length;
      assert.ok(refused <= 4, `node ${i} refused ${refused} pre-votes from node ${cut} after the heal`);
    }
  } finally {
    await setup.close();
  }
  assert.deepEqual(cluster.crashes, [], "no node exited by itself");
});
