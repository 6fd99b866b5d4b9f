// GET /v1/cluster and `raftstack status` on a follower: the leader's real match indexes while it lives
// (asked over the peer connection); with the leader paused or killed, the follower's local view: null progress
// with a reason, never 0. `status` given one endpoint shows every member, a stopped one with the leader's
// match, and exits 4 while a member is down or no leader is known. Ports 26500-26549 belong to this file (Cluster(3, 26500): peers 26510/26520/
// 26530, clients one more). An election timeout of 1-2 s (--election-ticks 100) keeps the follower naming
// a paused leader long enough to see it not answer.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { Cluster, sleep, track } from "./harness.js";

const BIN = resolve("bin/raftstack.js");
const CLI_TIMEOUT_MS = 10_000;
const WAIT_MS = 10_000;

interface Member {
  readonly id: number;
  readonly match: number | null;
  readonly state: string | null;
  readonly progress?: string;
  readonly lastIndex?: number;
  readonly applied?: number;
}

interface View {
  readonly id: number;
  readonly role: string;
  readonly leader: number;
  readonly lastIndex: number;
  readonly commit: number;
  readonly viewFrom: number;
  readonly viewReason?: string;
  readonly members: readonly Member[];
}

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

const matches = (v: View) => Object.fromEntries(v.members.map((m) => [m.id, m.match]));

/** A local view of a node that does not lead: every other member's progress null with a reason. */
function assertLocalView(v: View, self: number, reason: RegExp): void {
  assert.equal(v.members.length, 3);
  for (const m of v.members) {
    assert.equal(m.match, null, `member ${m.id}: match ${m.match} where it is unknown`);
    assert.equal(m.state, null);
    assert.equal(m.progress, "known only on the leader");
  }
  assert.equal(v.id, self);
  assert.equal(v.viewFrom, self);
  assert.match(v.viewReason ?? "", reason);
  const own = v.members.find((m) => m.id === self);
  assert.equal(own?.lastIndex, v.lastIndex);
  assert.equal(typeof own?.applied, "number");
}

describe("e2e: the cluster view on a follower", { timeout: 90_000 }, () => {
  const c = track(new Cluster(3, 26500, ["--election-ticks", "100"]));
  before(() => c.startAll());
  after(() => c.destroy());

  const view = async (i: number, query = ""): Promise<View> => {
    const a = await c.http(i, "GET", `/v1/cluster${query}`, undefined, {}, 5000);
    assert.equal(a.status, 200, a.body);
    return JSON.parse(a.body) as View;
  };

  let leader = 0;
  let follower = 0;
  let third = 0;

  test("a follower answers the leader's match indexes; ?local=1 its own view; status shows them", async () => {
    leader = await c.waitLeader();
    [follower = 0, third = 0] = c.ids().filter((i) => i !== leader);
    assert.equal((await c.retry(c.ids(), "POST", "/sCreate", "v")).body, "1");
    for (let k = 0; k < 10; k++) await c.retry([follower], "POST", "/sPush", `1,i${k}`);
    // Settled: every member acknowledged the leader's whole log (the address updates included).
    const deadline = Date.now() + WAIT_MS;
    let settled = await view(leader);
    while (!settled.members.every((m) => m.match === settled.lastIndex) && Date.now() < deadline) {
      await sleep(100);
      settled = await view(leader);
    }
    assert.equal(settled.viewFrom, leader);
    assert.ok(settled.lastIndex >= 11, `leader's last index ${settled.lastIndex}`);
    for (const m of settled.members) assert.equal(m.match, settled.lastIndex, `member ${m.id}`);

    const seen = await view(follower);
    assert.equal(seen.id, follower);
    assert.equal(seen.role, "follower");
    assert.deepEqual(matches(seen), matches(settled));
    assert.equal(seen.viewFrom, leader);
    assert.equal(seen.viewReason, undefined);
    assert.equal(seen.members.find((m) => m.id === leader)?.lastIndex, settled.lastIndex);

    assertLocalView(await view(follower, "?local=1"), follower, /^local view asked for \(\?local=1\)/);

    const status = await cli(["status", "--endpoints", c.url(follower)]);
    assert.equal(status.code, 0, status.stderr);
    process.stderr.write(`status on follower ${follower}:\n${status.stdout}`);
    // One endpoint given: the other members are found through its view and asked too.
    for (const i of c.ids()) {
      const role = i === leader ? "leader" : "follower";
      const row = new RegExp(
        `^${c.url(i)}\\s+${i}\\s+${role}\\s+\\d+\\s+${leader}\\s+\\d+\\s+\\d+\\s+${settled.lastIndex}$`,
        "m",
      );
      assert.match(status.stdout, row);
    }
    assert.equal(status.stdout.trim().split("\n").length, 4, "a header and three rows");
  });

  test("a member stopped: status through the leader lists it down with the leader's match; exit 4", async () => {
    assert.notEqual(leader, 0, "the first test found the leader");
    await c.kill(third);
    const match = (await view(leader)).members.find((m) => m.id === third)?.match;
    assert.equal(typeof match, "number");
    const status = await cli(["status", "--endpoints", c.url(leader)]);
    process.stderr.write(`status with node ${third} stopped:\n${status.stdout}${status.stderr}`);
    assert.equal(status.code, 4, status.stderr);
    for (const i of [leader, follower])
      assert.match(status.stdout, new RegExp(`^${c.url(i)}\\s+${i}\\s+`, "m"));
    assert.match(
      status.stdout,
      new RegExp(`^${c.url(third)}\\s+${third}\\s+down(\\s+-){4}\\s+${match}$`, "m"),
    );
    assert.match(
      status.stdout,
      new RegExp(
        `^node ${third} down: the leader \\(node ${leader}\\) has it at match ${match} \\(\\w+\\)`,
        "m",
      ),
    );
    assert.equal(status.stderr, `raftstack: degraded: node ${third} down (${c.url(third)})\n`);
    const json = await cli(["status", "--json", "--endpoints", c.url(leader)]);
    assert.equal(json.code, 4, json.stderr);
    const rows = JSON.parse(json.stdout) as { id: number; up: boolean; match: number | null }[];
    assert.deepEqual(
      rows.map((r) => [r.id, r.up]).sort(),
      c.ids().map((i) => [i, i !== third]),
    );
    assert.equal(rows.find((r) => r.id === third)?.match, match);
  });

  test("leader paused, then killed: the local view, null progress and a reason, never 0; status says ?", async () => {
    assert.notEqual(leader, 0, "the first test found the leader");
    await c.kill(third);
    // A paused leader keeps its connections open: within its election timeout (1-2 s) the follower still
    // names it, asks it, and gets no answer.
    c.signal(leader, "SIGSTOP");
    const started = Date.now();
    const paused = await view(follower);
    process.stderr.write(`follower answered in ${Date.now() - started} ms: ${paused.viewReason}\n`);
    assert.equal(paused.leader, leader);
    assertLocalView(
      paused,
      follower,
      new RegExp(`^the leader \\(node ${leader}\\) did not answer within 300 ms:`),
    );

    // Killed: the follower sees the connection break and drops it (fast failover); alone, it finds no leader.
    await c.kill(leader);
    // Alone, it soon knows no leader at all.
    const deadline = Date.now() + WAIT_MS;
    while ((await view(follower, "?local=1")).leader !== 0 && Date.now() < deadline) await sleep(100);
    assertLocalView(await view(follower), follower, /^no leader known: replication progress is known only/);

    const status = await cli(["status", "--endpoints", c.url(follower)]);
    process.stderr.write(`status on the lone follower:\n${status.stdout}${status.stderr}`);
    // No leader: not whole, whatever answered; the two dead members are found through its own view.
    assert.equal(status.code, 4, status.stderr);
    assert.match(status.stderr, /^raftstack: degraded: no leader known; node \d down .*; node \d down /);
    for (const i of [leader, third])
      assert.match(status.stdout, new RegExp(`^${c.url(i)}\\s+${i}\\s+down\\s`, "m"));
    assert.match(
      status.stdout,
      new RegExp(`${c.url(follower)}\\s+${follower}\\s+\\S+\\s+\\d+\\s+-\\s+\\d+\\s+\\d+\\s+\\?\\n`),
    );
    assert.match(
      status.stdout,
      /\nmatch \?: no leader known: replication progress is known only on the leader\n$/,
    );
  });
});
