// Issue 11's layout: ports of the user's choosing, no "client = peer + 1". Writes and reads through
// every node (followers forward writes to the leader over the peer connection), redirects, RESP.
// Ports 29200-29299 (this file's range): peers 29201, 29203, 29205; clients 29211-29213; the walkthrough's
// cluster peers 29251, 29253, 29255, clients 29261-29263.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Cluster, curl, sleep, track } from "./harness.js";

/** Peer i on 29200 + 2i - 1 (29201, 29203, 29205), clients on 29210 + i: peer + 1 is nobody's port. */
export class LayoutCluster extends Cluster {
  override peerUrl(i: number): string {
    return `http://127.0.0.1:${this.basePort + 2 * i - 1}`;
  }

  override port(i: number): number {
    return this.basePort + 10 + i;
  }
}

describe("e2e: any port layout", { timeout: 90_000 }, () => {
  const c = track(new LayoutCluster(3, 29200)) as LayoutCluster;
  before(() => c.startAll());
  after(() => c.destroy());

  test("seed commands and JSON writes through every node, followers included", async () => {
    const leader = await c.waitLeader();
    const run = (i: number, path: string, data: string) =>
      curl(["-sS", "-L", `${c.url(i)}/${path}`, "-XPOST", "-d", data]);
    assert.equal(await run(1, "sCreate", "s"), "1");
    let size = 0;
    for (let round = 0; round < 3; round++) {
      for (const i of c.ids()) {
        assert.equal(await run(i, "sPush", `1,n${i}r${round}`), String(++size), `push through node ${i}`);
        const json = await c.http(i, "POST", "/v1/stacks/1/push", JSON.stringify({ items: ["j"] }), {
          "content-type": "application/json",
        });
        assert.equal(json.status, 200, json.body);
        assert.deepEqual(JSON.parse(json.body), { size: ++size });
      }
    }
    for (const i of c.ids()) {
      assert.equal(await run(i, "sSize", "1"), String(size), `linearizable read on node ${i}`);
      assert.equal(await run(i, "sTop", "1"), "j");
    }
    const follower = c.ids().find((i) => i !== leader) as number;
    assert.equal(await run(follower, "sPop", "1"), "j");
    // A keyed write retried on a follower is applied once.
    const key = { "idempotency-key": "addressing-k1" };
    const first = await c.http(follower, "POST", "/sPush", "1,once", key);
    const again = await c.http(follower, "POST", "/sPush", "1,once", key);
    assert.deepEqual([first.status, first.body], [200, String(size)]);
    assert.deepEqual([again.status, again.body], [200, String(size)]);
    assert.equal(await run(leader, "sSize", "1"), String(size));
  });

  test("?redirect=1 on a follower answers 307 to the leader's advertised client URL", async () => {
    const leader = await c.waitLeader();
    const follower = c.ids().find((i) => i !== leader) as number;
    const a = await c.http(follower, "POST", "/sSize?redirect=1", "1");
    assert.equal(a.status, 200, "reads are served where they arrive");
    const w = await c.http(follower, "POST", "/sPush?redirect=1", "1,r");
    assert.equal(w.status, 307, w.body);
    assert.equal(w.headers.get("location"), `${c.url(leader)}/sPush?redirect=1`);
    assert.equal(
      await curl(["-sS", "-L", `${c.url(follower)}/sPop?redirect=1`, "-XPOST", "-d", "1"]),
      "once",
    );
  });

  test("every node lists every member's advertised client URL (published through the log)", async () => {
    const expected = c.ids().map((i) => [i, c.peerUrl(i), c.url(i)]);
    const views = async () =>
      Promise.all(
        c.ids().map(async (n) => {
          const view = JSON.parse((await c.http(n, "GET", "/v1/cluster?local=1")).body) as {
            members: { id: number; peerUrl: string; clientUrl: string }[];
          };
          return view.members.map((m) => [m.id, m.peerUrl, m.clientUrl]);
        }),
      );
    // Each node publishes its URL once it knows a leader: a few election timeouts at most.
    const deadline = Date.now() + 10_000;
    let seen = await views();
    while (Date.now() < deadline && !seen.every((v) => JSON.stringify(v) === JSON.stringify(expected))) {
      await sleep(100);
      seen = await views();
    }
    for (const v of seen) assert.deepEqual(v, expected);
    const listed = JSON.parse((await c.http(2, "GET", "/v1/members")).body) as { members: unknown[] };
    assert.deepEqual(
      listed.members,
      expected.map(([id, peerUrl, clientUrl]) => ({ id, peerUrl, clientUrl, role: "voter" })),
    );
  });
});

// The README's walkthrough with the same layout on other free ports (29251-29255 peers, 29261-29263
// clients), in a cluster of its own so its first stack gets id 1 as the README says.
describe("e2e: the README walkthrough on ports of the user's choosing", { timeout: 90_000 }, () => {
  const c = track(new LayoutCluster(3, 29250)) as LayoutCluster;
  after(() => c.destroy());

  test("the README walkthrough verbatim on these ports: create, id, push, top, size, pop, kill, start", async () => {
    c.startAll();
    await c.waitLeader();
    const run = (i: number, path: string, data: string) =>
      curl(["-sS", "-L", `${c.url(i)}/${path}`, "-XPOST", "-d", data]);
    assert.equal(await run(1, "sCreate", "1"), "1");
    assert.equal(await run(1, "sId", "1"), "1");
    assert.equal(await run(1, "sPush", "1,10"), "1");
    assert.equal(await run(1, "sTop", "1"), "10");
    assert.equal(await run(1, "sSize", "1"), "1");
    assert.equal(await run(1, "sPop", "1"), "10");
    // "kill 2", push and read through the others, "start 2": node 2 answers the new top too.
    await c.kill(2);
    await c.waitLeader([1, 3]);
    assert.equal(await run(3, "sPush", "1,20"), "1");
    assert.equal(await run(1, "sTop", "1"), "20");
    c.start(2);
    await c.waitApplied(2, (await c.status(3)).commit);
    assert.equal(await run(2, "sTop", "1"), "20");
    assert.equal(await run(2, "sPop", "1"), "20", "a write through the restarted node");
  });
});
