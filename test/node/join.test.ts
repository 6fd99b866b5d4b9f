// Joining and leaving with real nodes in one process (issue 11): a member added through a follower
// starts with --join, learns the log and the member table from the leader, is promoted, publishes its
// client URL and serves writes; removing the leader hands leadership over and the removed node refuses
// writes. Peer ports 29480-29489 (clients on port 0).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseNodeArgs, type RunningNode, startNode } from "../../src/node/index.js";
import {
  TEST_HOOKS_CONSENT,
  TEST_HOOKS_CONSENT_ENV,
  TEST_HOOKS_ENV,
  TestHooks,
} from "../../src/node/test-hooks.js";

const peerUrl = (id: number) => `http://127.0.0.1:${29480 + id}`;

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("joining and leaving in one process", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-join-"));
  const nodes = new Map<number, RunningNode>();
  after(async () => {
    await Promise.all([...nodes.values()].map((n) => n.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  // Every fsync of node `id` waits `ms` from now (test hooks, the file polled every 50 ms).
  const diskDelay = (id: number, ms: number) =>
    writeFileSync(join(dir, `hooks-${id}.json`), JSON.stringify({ diskDelayMs: ms }));
  const start = async (id: number, cluster: readonly number[], extra: string[] = []) => {
    const list = cluster.map((k) => `${k}=${peerUrl(k)}`).join(",");
    const args = ["--id", String(id), "--cluster", list, "--port", "0", "--log-level", "silent", ...extra];
    diskDelay(id, 0);
    const env = {
      [TEST_HOOKS_ENV]: join(dir, `hooks-${id}.json`),
      [TEST_HOOKS_CONSENT_ENV]: TEST_HOOKS_CONSENT,
    };
    const testHooks = TestHooks.fromEnv(env) as TestHooks;
    nodes.set(id, await startNode({ ...parseNodeArgs(args), dataDir: join(dir, `n${id}`) }, { testHooks }));
  };
  const node = (id: number) => nodes.get(id) as RunningNode;
  const post = async (id: number, path: string, body: string) => {
    const res = await fetch(`${node(id).clientUrl}${path}`, { method: "POST", body });
    return { status: res.status, body: await res.text() };
  };

  test("add through a follower, join, promote, publish, serve; remove the leader", async () => {
    for (const id of [1, 2, 3]) await start(id, [1, 2, 3]);
    await until("a leader", () => [1, 2, 3].some((id) => node(id).status().role === "leader"));
    const leader = [1, 2, 3].find((id) => node(id).status().role === "leader") as number;
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    assert.equal((await post(follower, "/sCreate", "s")).body, "1");
    for (let k = 1; k <= 20; k++) assert.equal((await post(follower, "/sPush", `1,${k}`)).body, String(k));

    const added = await node(follower).node.addMember({ peerUrl: peerUrl(4) });
    assert.deepEqual(added, { id: 4, peerUrl: peerUrl(4), clientUrl: "", role: "learner" });
    await start(4, [1, 2, 3, 4], ["--join"]);
    await until("node 4 promoted and published on every node", () =>
      [1, 2, 3, 4].every((id) =>
        node(id)
          .node.members()
          .members.some((m) => m.id === 4 && m.role === "voter" && m.clientUrl === node(4).clientUrl),
      ),
    );
    assert.equal((await post(4, "/sPush", "1,via4")).body, "21", "the joined node forwards writes");
    assert.equal((await post(4, "/sTop", "1")).body, "via4");

    // Remove the leader through another member: it hands over and stops serving as a member.
    const other = [1, 2, 3, 4].find((id) => id !== leader) as number;
    await node(other).node.removeMember(leader);
    const rest = [1, 2, 3, 4].filter((id) => id !== leader);
    await until("a new leader among the rest", () =>
      rest.some(
        (id) => node(id).status().role === "leader" && rest.every((k) => node(k).status().leader === id),
      ),
    );
    await until("every remaining member applied the removal", () =>
      rest.every(
        (id) =>
          JSON.stringify(
            node(id)
              .node.members()
              .members.map((m) => m.id),
          ) === JSON.stringify(rest),
      ),
    );
    assert.equal((await post(other, "/sPush", "1,after")).body, "22");
    const refused = await post(leader, "/sPush", "1,x");
    assert.equal(refused.status, 503);
    assert.match(refused.body, /removed from the cluster/);
  });

  // Found in a newcomer's trial (`raftstack member remove` of a follower): the members closed their link
  // to the removed node as they applied the removal, before the leader's last heartbeat to it (which
  // carries the commit index) went out, so it never applied its removal and pre-voted for good.
  test("a removed follower learns its removal from the leader's last heartbeat; removed nodes stop dialling", async () => {
    const rest = [...nodes.keys()].filter((id) =>
      node(id)
        .node.members()
        .members.some((m) => m.id === id),
    );
    const leader = rest.find((id) => node(id).status().role === "leader") as number;
    const removed = rest.find((id) => id !== leader) as number;
    // The goodbye carries only what the removed node acknowledged (raft/membership.ts, tellRemoved): the
    // other followers are slowed so its acknowledgement is the one that commits its removal. Otherwise
    // it lost the race about 1 run in 8 and never learned (removal-races.test.ts, the todo test).
    const others = rest.filter((id) => id !== leader && id !== removed);
    for (const id of others) diskDelay(id, 200);
    await new Promise((r) => setTimeout(r, 200));
    await node(leader).node.removeMember(removed);
    for (const id of others) diskDelay(id, 0);
    await until("the removed node applied its own removal", () =>
      node(removed)
        .node.members()
        .members.every((m) => m.id !== removed),
    );
    const refused = await post(removed, "/sPush", "1,x");
    assert.equal(refused.status, 503);
    assert.match(refused.body, /removed from the cluster/);
    assert.notEqual(node(removed).status().role, "preCandidate");
    // It says so to probes and to reads (at once, not at the request timeout).
    const probe = async (path: string) => (await fetch(`${node(removed).clientUrl}${path}`)).status;
    assert.deepEqual([await probe("/readyz"), await probe("/health")], [503, 503]);
    const read = await post(removed, "/sSize", "1");
    assert.equal(read.status, 503);
    assert.match(read.body, /removed from the cluster/);

    // Both removed nodes (this follower, and the leader of the test above) leave once the hand-off is
    // over: their redials were refused by every member, each refusal a warning, several a second.
    const members = rest.filter((id) => id !== removed);
    const refusals = async () => {
      let sum = 0;
      for (const id of members) {
        const text = await (await fetch(`${node(id).clientUrl}/metrics`)).text();
        sum += Number(/raftstack_transport_errors_total\{kind="handshake_refused"\} (\d+)/.exec(text)?.[1]);
      }
      return sum;
    };
    const quiet = async (what: string) => {
      const deadline = Date.now() + 10_000;
      for (let before = await refusals(); ; ) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = await refusals();
        if (now === before) return;
        assert.ok(Date.now() < deadline, `the members still refuse ${what} (${now} refusals)`);
        before = now;
      }
    };
    await quiet("the removed nodes");
    // Restarted on its data dir (its removal in its log), the follower does not dial the members again.
    await node(removed).close();
    await start(removed, [1, 2, 3]);
    await new Promise((r) => setTimeout(r, 500));
    const before = await refusals();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await refusals(), before, "the restarted removed node dials the members");
  });
});
