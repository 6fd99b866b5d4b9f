// `raftstack status` against real node processes, one follower cut off from the other two by a real
// partition (iptables DROP by the nodes' cgroups, test/nemesis/netfilter.ts) of the peer ports only: the
// follower still answers on its client port, to the CLI and to the other nodes, so its row says `cut off`
// and status exits 4, and the leader's dashboard (when Chromium is there) marks the answering member
// `cut off`; after the heal status exits 0. Ports 28200-28299 belong to this file. Skipped (one line)
// without root/iptables/cgroup v2.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { openBrowser, SKIP_WITHOUT_CHROMIUM, screenshot } from "../browser/browser.js";
import { cutOffAFollower, type Partitioned, partitionedCluster } from "./partitioned.js";

const CLI = resolve("bin/raftstack.js");
const BASE_PORT = 28200;
const ids = [1, 2, 3];
/** One `raftstack status` run: its probes time out in 500 ms, a second round asks the members it missed. */
const statusRunMsMax = 10_000;
/** Default timing (10 ms ticks, 15-tick election timeout): cut off after 300 ms; room for a loaded machine. */
const cutOffShownWithinMs = 10_000;
/** The leader redials the follower after the heal and hears it again within a few heartbeats. */
const healedWithinMs = 15_000;
const EXIT_DEGRADED = 4;

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** The real `raftstack` command as an operator runs it, from outside every node's cgroup. */
function raftstack(args: readonly string[]): Promise<Run> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { timeout: statusRunMsMax }, (err, out, errText) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      res({ code, out, err: errText });
    });
  });
}

/** Runs status until `done` says so or `withinMs` passes; the last run either way. */
async function statusUntil(endpoints: string, done: (r: Run) => boolean, withinMs: number): Promise<Run> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const r = await raftstack(["status", "--endpoints", endpoints]);
    if (done(r) || performance.now() > deadline) return r;
    await sleep(200);
  }
}

describe("status with a follower cut off by a real partition", { timeout: 90_000 }, () => {
  let setup: Partitioned | undefined;
  after(async () => {
    await setup?.close();
  });

  test("shows the follower `cut off` and exits 4 while it answers; exits 0 after the heal", async (t) => {
    setup = await partitionedCluster(t, {
      ids,
      basePort: BASE_PORT,
      nodeArgs: ["--log-level", "warn"],
      peerOnly: true,
    });
    if (setup === undefined) return;
    const { nf, cluster } = setup;
    const endpoints = ids.map((i) => cluster.url(i)).join(",");
    const { leader, cut } = await cutOffAFollower(setup, ids);
    const row = new RegExp(`^${cluster.url(cut)}\\s+${cut}\\s+cut off\\s`, "m");

    const during = await statusUntil(
      endpoints,
      (r) => r.code === EXIT_DEGRADED && row.test(r.out),
      cutOffShownWithinMs,
    );
    assert.equal(during.code, EXIT_DEGRADED, `status exits 4 while cut off:\n${during.out}${during.err}`);
    assert.match(during.out, row, "the follower's row says cut off");
    assert.match(during.out, new RegExp(`^${cluster.url(leader)}\\s+${leader}\\s+leader\\s`, "m"));
    assert.match(
      during.out,
      new RegExp(
        `^node ${cut} cut off: the leader \\(node ${leader}\\) last heard from it \\d+ ms ago \\(\\S+ here\\)$`,
        "m",
      ),
    );
    assert.match(during.err, new RegExp(`degraded: node ${cut} cut off \\(${cluster.url(cut)}\\)`));
    for (const other of ids.filter((i) => i !== cut)) {
      assert.doesNotMatch(during.out, new RegExp(`^node ${other} cut off`, "m"), `node ${other} is heard`);
    }
    // Cut off, not down: its client port answers (directly, and it did for status above).
    const health = await fetch(`${cluster.url(cut)}/health`, { signal: AbortSignal.timeout(2000) });
    assert.equal(
      ((await health.json()) as { role?: unknown }).role !== undefined,
      true,
      "its /health answers",
    );
    const view = await cluster.view(leader);
    const seen = view?.members.find((m) => m.id === cut);
    assert.equal(seen?.cutOff, true, "the leader's GET /v1/cluster says cutOff");
    assert.ok((seen?.lastHeardMs ?? 0) > 300, `lastHeardMs ${seen?.lastHeardMs} is past 2 election timeouts`);
    assert.ok((await nf.droppedPackets()) > 0, "the rules dropped the peers' packets");
    if (SKIP_WITHOUT_CHROMIUM === false) await leaderPageShowsCutOff(cluster.url(leader), cut);
    else t.diagnostic(`dashboard check skipped: ${SKIP_WITHOUT_CHROMIUM}`);

    await nf.heal();
    const healed = await statusUntil(endpoints, (r) => r.code === 0, healedWithinMs);
    assert.equal(healed.code, 0, `status exits 0 after the heal:\n${healed.out}${healed.err}`);
    assert.doesNotMatch(healed.out, /cut off/);
    assert.deepEqual(cluster.crashes, [], "no node exited by itself");
  });
});

/**
 * The leader's dashboard marks the cut-off member. Whether the page's own fetch of that member's summary
 * answered in time is not asserted: on a loaded machine it times out now and then (seen 1 run in 6 under
 * CI's load), and the member answering is shown by /health above.
 */
async function leaderPageShowsCutOff(leaderUrl: string, cut: number): Promise<void> {
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    await page.goto(`${leaderUrl}/dashboard`);
    const row = page.locator(`#members tr.cut-off[data-node="${cut}"]`);
    await row.locator(".badge.cut-off", { hasText: "cut off" }).waitFor({ timeout: cutOffShownWithinMs });
    assert.match((await row.locator(".heard").textContent()) ?? "", /^last heard \d+ ms ago$/);
    assert.equal(await page.locator("#members tr.cut-off").count(), 1, "only that member is cut off");
    await screenshot(
      page,
      "dashboard-partition.png",
      `node ${cut} cut off by iptables, on the leader's page`,
    );
    assert.deepEqual(errors, [], "no errors in the browser console");
  } finally {
    await browser.close();
  }
}
