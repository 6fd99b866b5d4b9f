// The seed README's curl commands against a real 5-node cluster, through a leader crash and restart.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Cluster, curl, sleep, track } from "./harness.js";

describe("e2e: seed README on 5 nodes", { timeout: 90_000 }, () => {
  const c = track(new Cluster(5, 21000));
  before(() => c.startAll());
  after(() => c.destroy());

  test("README commands, leader SIGKILL, restart and catch-up", async () => {
    await c.waitLeader();
    const port = c.port(1);
    const run = (path: string, data: string, p = port) =>
      curl(["-sS", "-L", `http://127.0.0.1:${p}/${path}`, "-XPOST", "-d", data]);
    // Verbatim from the README (with this test's port).
    assert.equal(await run("sCreate", "1"), "1");
    assert.equal(await run("sId", "1"), "1");
    assert.equal(await run("sPush", "1,10"), "1");
    assert.equal(await run("sTop", "1"), "10");
    assert.equal(await run("sSize", "1"), "1");
    // Same commands on every node, including followers (proxied) and with ?redirect=1 (307 for curl -L).
    for (const i of c.ids()) assert.equal(await run("sSize", "1", c.port(i)), "1");
    assert.equal(await curl(["-sS", "-L", `${c.url(2)}/sPush?redirect=1`, "-XPOST", "-d", "1,11"]), "2");
    assert.equal(await run("sPop", "1", c.port(3)), "11");

    const leader = await c.waitLeader();
    await c.kill(leader);
    const others = c.ids().filter((i) => i !== leader);
    const killedAt = Date.now();
    const first = await c.retry(others, "POST", "/sPush", "1,20");
    const failoverMs = Date.now() - killedAt;
    assert.equal(first.status, 200);
    assert.equal(first.body, "2");
    process.stderr.write(`seed e2e: first write after leader SIGKILL succeeded in ${failoverMs} ms\n`);
    for (let k = 0; k < 20; k++) {
      const node = others[k % others.length] ?? 1;
      assert.equal(await run("sPush", `1,v${k}`, c.port(node)), String(3 + k));
    }
    assert.equal(await run("sSize", "1", c.port(others[0] ?? 1)), "22");

    c.start(leader);
    const target = (await c.status(others[0] ?? 1)).commit;
    await c.waitApplied(leader, target);
    // Stale reads on the restarted node equal linearizable reads elsewhere.
    const stale = (path: string, data: string) =>
      curl(["-sS", "-L", `${c.url(leader)}/${path}?stale=1`, "-XPOST", "-d", data]);
    assert.equal(await stale("sSize", "1"), await run("sSize", "1", c.port(others[1] ?? 1)));
    assert.equal(await stale("sTop", "1"), await run("sTop", "1", c.port(others[2] ?? 1)));
    assert.equal(await stale("sId", "1"), "1");
    // And it serves linearizable reads and writes again.
    assert.equal(await run("sTop", "1", c.port(leader)), "v19");
    assert.equal(await run("sPush", "1,last", c.port(leader)), "23");
    await sleep(0);
  });
});
