// SIGSTOP/SIGCONT a follower and then the leader: the cluster keeps answering; the paused leader steps down.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Cluster, sleep, track } from "./harness.js";

describe("e2e: paused nodes", { timeout: 60_000 }, () => {
  const c = track(new Cluster(3, 25000));
  before(() => c.startAll());
  after(() => c.destroy());

  test("paused follower, then paused leader", async () => {
    const leader = await c.waitLeader();
    assert.equal((await c.retry(c.ids(), "POST", "/sCreate", "p")).body, "1");
    const follower = c.ids().find((i) => i !== leader) ?? 1;
    const third = c.ids().find((i) => i !== leader && i !== follower) ?? 1;

    // A paused follower does not slow the majority down.
    c.signal(follower, "SIGSTOP");
    let size = 0;
    for (let k = 0; k < 20; k++) {
      const node = k % 2 === 0 ? leader : third;
      const a = await c.http(node, "POST", "/sPush", `1,f${k}`, {}, 2000);
      assert.equal(a.status, 200, a.body);
      assert.equal(a.body, String(++size));
    }
    c.signal(follower, "SIGCONT");
    await c.waitApplied(follower, (await c.status(leader)).commit);
    assert.equal((await c.http(follower, "POST", "/sSize", "1")).body, String(size));

    // A paused leader is replaced; when it resumes it learns the new term and follows.
    c.signal(leader, "SIGSTOP");
    const pausedAt = Date.now();
    const others = c.ids().filter((i) => i !== leader);
    const a = await c.retry(others, "POST", "/sPush", "1,after-pause");
    assert.equal(a.body, String(++size));
    process.stderr.write(`pause e2e: write succeeded ${Date.now() - pausedAt} ms after pausing the leader\n`);
    const next = await c.waitLeader(others);
    assert.notEqual(next, leader);
    await sleep(300);
    c.signal(leader, "SIGCONT");
    const newLeader = await c.waitLeader(c.ids());
    assert.equal(newLeader, next, "the resumed old leader did not take over again");
    const st = await c.status(leader);
    assert.equal(st.role, "follower");
    // It serves again: a write through it (proxied) and linearizable reads that see every write.
    assert.equal((await c.retry([leader], "POST", "/sPush", "1,via-old")).body, String(++size));
    for (const i of c.ids()) {
      assert.equal((await c.http(i, "POST", "/sSize", "1")).body, String(size));
      assert.equal((await c.http(i, "POST", "/sTop", "1")).body, "via-old");
    }
  });
});
